/**
 * What a client and each of its calls can be told; every default comes from
 * `defaults.ts` (or, for the reply queue's sizes, from the transport).
 * @module
 */
import type { Transport } from '../transport/transport.js'
import {
  DEFAULT_CLIENT_MAX_BODY_BYTES,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_RECONNECT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_STREAM_WINDOW_BYTES,
} from './defaults.js'
import type { Interceptor } from './interceptor.js'
import type { Priority } from './service.js'
import { checkStreamWindow, checkStreamWindowBytes } from './stream-credit.js'

/** Options of {@link createClient}. */
export type ClientOptions = Readonly<{
  /** The service's address: on POSIX queues its request queue, e.g. '/calc'. */
  queue: string
  /** What carries the frames. Defaults to POSIX message queues (`mqTransport()`). */
  transport?: Transport
  /** POSIX queues: slots of this client's reply queue. Defaults to 10. */
  replyMaxMessages?: number
  /**
   * POSIX queues: message size of this client's reply queue. Small, so that
   * dozens of clients fit in one user's RLIMIT_MSGQUEUE budget; larger
   * replies are split over several messages. A client that receives large
   * replies or stream elements (kilobytes each), or long streams of small
   * ones, should set 8192: several times faster for large ones and about
   * 1.4 times for small ones (whose default window widens with it, see
   * `streamWindow`), at eight times the queue memory. Defaults to 1024.
   */
  replyMessageSize?: number
  /** How long the first connection may take before createClient rejects with UNAVAILABLE. Defaults to 5000 ms. */
  connectTimeoutMs?: number
  /** How long each reconnect attempt may take. Defaults to 2000 ms. */
  reconnectTimeoutMs?: number
  /** Deadline of every call that sets none. Defaults to none. */
  timeoutMs?: number
  /** Reconnect on its own when the server goes away. Defaults to true. */
  reconnect?: boolean
  /** The schema fingerprint sent in the handshake, or false to send none (dynamic clients). Defaults to the service's. */
  fingerprint?: string | false
  /** Largest reply body accepted. Defaults to 64 MiB. */
  maxBodyBytes?: number
  /** Wrap every call, the first outermost (src/rpc/interceptor.ts). Defaults to none. */
  interceptors?: readonly Interceptor[]
  /**
   * Output elements of a server or bidi stream that the server may send
   * ahead of what the caller has consumed (the credit window), at most; a
   * call's own `streamWindow` overrides it. Defaults to 256 per KiB of the
   * reply queue's message size, from 256 up to 2048 (256 with the default
   * 1 KiB messages, 2048 with `replyMessageSize: 8192`).
   */
  streamWindow?: number
  /**
   * About how many bytes of output elements the server may send ahead: the
   * window is sized to this many elements of the average size received,
   * from 4 to `streamWindow` (it starts at 16). A call's own
   * `streamWindowBytes` overrides it. Defaults to 256 KiB.
   */
  streamWindowBytes?: number
}>

type Optional = 'timeoutMs' | 'fingerprint' | 'replyMaxMessages' | 'replyMessageSize' | 'interceptors' | 'streamWindow'

/** Client options with every default filled in. */
export type ResolvedClientOptions = Required<Omit<ClientOptions, Optional>> & Pick<ClientOptions, Optional>

/** Fills in the defaults; `transport` is given by the caller (the client picks the default one). */
export function resolveClientOptions(options: ClientOptions, transport: Transport): ResolvedClientOptions {
  const resolved: ResolvedClientOptions = {
    connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
    reconnectTimeoutMs: DEFAULT_RECONNECT_HANDSHAKE_TIMEOUT_MS,
    reconnect: true,
    maxBodyBytes: DEFAULT_CLIENT_MAX_BODY_BYTES,
    streamWindowBytes: DEFAULT_STREAM_WINDOW_BYTES,
    ...options,
    transport,
  }
  // Unset, it is sized to the reply path once that is open (replyStreamWindow).
  if (resolved.streamWindow !== undefined) checkStreamWindow(resolved.streamWindow, "the client's")
  checkStreamWindowBytes(resolved.streamWindowBytes, "the client's")
  return resolved
}

/** Options of one call. */
export type CallOptions = Readonly<{
  /** Give up after this many ms with DEADLINE_EXCEEDED; the server is told, and stops. Defaults to the client's timeoutMs. */
  timeoutMs?: number
  /** Cancel the call; the server's ctx.signal aborts. Defaults to none. */
  signal?: AbortSignal
  /** Send through the urgent lane. Defaults to the method's priority. */
  priority?: Priority
  /**
   * String pairs sent with the call, readable as `ctx.metadata` by the
   * handler: at most 32 entries and 4096 bytes (INVALID_ARGUMENT beyond).
   * Defaults to none.
   */
  metadata?: Readonly<Record<string, string>>
  /** Streams: the output window of this call (see ClientOptions.streamWindow). Defaults to the client's. */
  streamWindow?: number
  /** Streams: the output window's byte budget of this call (see ClientOptions.streamWindowBytes). Defaults to the client's. */
  streamWindowBytes?: number
}>
