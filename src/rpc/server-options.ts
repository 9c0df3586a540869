/**
 * Everything a server can be told, with its defaults in one place.
 * @module
 */
import type { Peer } from './context.js'

/** Options of {@link createServer}. */
export type ServerOptions = Readonly<{
  /** Name of the request queue, e.g. '/calc'; the urgent lane is '<queue>.urgent'. */
  queue: string
  /** Mode of the request queues: who may call. Defaults to 0o622 (everyone may write, only the owner reads). */
  mode?: number
  /** Slots of each request queue (`mq_maxmsg`). Defaults to 10, the usual msg_max. */
  maxMessages?: number
  /** Message size of each request queue. Defaults to 8192, the usual msgsize_max. */
  messageSize?: number
  /** Who may connect: listed uids and gids (either matches); absent means everyone. Defaults to everyone. */
  allow?: Readonly<{ uids?: readonly number[]; gids?: readonly number[] }>
  /** Per-call check after the handshake; return false to answer PERMISSION_DENIED. Defaults to allowing all. */
  authorize?: (peer: Peer, method: string) => boolean
  /** Sessions at once. Defaults to 128. */
  maxSessions?: number
  /** Sessions at once per uid (counted once the handshake is done). Defaults to 64. */
  maxSessionsPerUid?: number
  /** Handshakes in progress at once (HELLO answered, PROOF not yet come). Defaults to 32. */
  maxHandshakes?: number
  /** Calls in flight per session; more are answered RESOURCE_EXHAUSTED. Defaults to 128. */
  maxInFlight?: number
  /** Calls started per second per session (token bucket); more are RESOURCE_EXHAUSTED. Defaults to no limit. */
  maxCallsPerSecond?: number
  /** Calls started per second per uid, over all its sessions. Defaults to no limit. */
  maxCallsPerSecondPerUid?: number
  /** Largest request body in bytes. Defaults to 16 MiB. */
  maxBodyBytes?: number
  /** Partly received bodies held per session. Defaults to 16. */
  maxPartials?: number
  /** How long a partly received body may wait for its next chunk. Defaults to 10000 ms. */
  partialTimeoutMs?: number
  /** How long a client has to finish the handshake. Defaults to 5000 ms. */
  handshakeTimeoutMs?: number
  /** Heartbeat interval told to clients; a session silent for 3 intervals is ended. Defaults to 1000 ms. */
  heartbeatMs?: number
  /** How long a reply may wait for room in a client's full reply queue before the session is ended. Defaults to 10000 ms. */
  slowReaderMs?: number
  /** Handlers running at once. Defaults to 64. */
  concurrency?: number
  /** Of `concurrency`, slots kept for urgent calls. Defaults to 8. */
  urgentReserve?: number
  /** How long close() waits for calls in flight before cancelling them. Defaults to 5000 ms. */
  shutdownGraceMs?: number
  /** How long to wait for a server already on `queue` to answer a probe before taking the queue over. Defaults to 1000 ms. */
  probeTimeoutMs?: number
}>

export type ResolvedServerOptions = Required<
  Omit<ServerOptions, 'allow' | 'authorize' | 'maxCallsPerSecond' | 'maxCallsPerSecondPerUid'>
> &
  Pick<ServerOptions, 'allow' | 'authorize' | 'maxCallsPerSecond' | 'maxCallsPerSecondPerUid'>

export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  return {
    mode: 0o622,
    maxMessages: 10,
    messageSize: 8192,
    maxSessions: 128,
    maxSessionsPerUid: 64,
    maxHandshakes: 32,
    maxInFlight: 128,
    maxBodyBytes: 16 * 1024 * 1024,
    maxPartials: 16,
    partialTimeoutMs: 10_000,
    handshakeTimeoutMs: 5000,
    heartbeatMs: 1000,
    slowReaderMs: 10_000,
    concurrency: 64,
    urgentReserve: 8,
    shutdownGraceMs: 5000,
    probeTimeoutMs: 1000,
    ...options,
  }
}
