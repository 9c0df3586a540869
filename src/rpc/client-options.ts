/**
 * What a client and each of its calls can be told, with defaults.
 * @module
 */
import type { Priority } from './service.js'

/** Options of {@link createClient}. */
export type ClientOptions = Readonly<{
  /** The service's request queue, e.g. '/calc'. */
  queue: string
  /** Slots of this client's reply queue. Defaults to 10. */
  replyMaxMessages?: number
  /**
   * Message size of this client's reply queue. Small, so that dozens of
   * clients fit in one user's RLIMIT_MSGQUEUE budget; larger replies are
   * split over several messages. Defaults to 1024.
   */
  replyMessageSize?: number
  /** How long the first connection may take before createClient rejects with UNAVAILABLE. Defaults to 5000 ms. */
  connectTimeoutMs?: number
  /** Deadline of every call that sets none. Defaults to none. */
  timeoutMs?: number
  /** Reconnect on its own when the server goes away. Defaults to true. */
  reconnect?: boolean
  /** The schema fingerprint sent in the handshake, or false to send none (dynamic clients). Defaults to the service's. */
  fingerprint?: string | false
  /** Largest reply body accepted. Defaults to 64 MiB. */
  maxBodyBytes?: number
}>

/** Options of one call. */
export type CallOptions = Readonly<{
  /** Give up after this many ms with DEADLINE_EXCEEDED; the server is told, and stops. Defaults to the client's timeoutMs. */
  timeoutMs?: number
  /** Cancel the call; the server's ctx.signal aborts. Defaults to none. */
  signal?: AbortSignal
  /** Send through the urgent lane. Defaults to the method's priority. */
  priority?: Priority
}>
