/**
 * Everything a server can be told; every default comes from `defaults.ts`.
 * @module
 */
import type { Transport } from '../transport/transport.js'
import type { Peer } from './context.js'
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_HANDSHAKES,
  DEFAULT_MAX_HANDSHAKES_PER_PRINCIPAL,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_PARTIALS,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_SESSIONS_PER_PRINCIPAL,
  DEFAULT_PARTIAL_TIMEOUT_MS,
  DEFAULT_PROBE_TIMEOUT_MS,
  DEFAULT_SERVER_MAX_BODY_BYTES,
  DEFAULT_SHUTDOWN_GRACE_MS,
  DEFAULT_SLOW_READER_MS,
  DEFAULT_STREAM_WINDOW,
  DEFAULT_STREAM_WINDOW_BYTES,
  DEFAULT_URGENT_RESERVE,
} from './defaults.js'
import type { Interceptor } from './interceptor.js'
import { checkStreamWindow, checkStreamWindowBytes } from './stream-credit.js'

/** Who may connect: any listed principal, uid or gid matches. */
export type AllowList = Readonly<{
  /** Principals as the transport vouches for them: 'unix:1000:1000', 'nats:alice'. */
  principals?: readonly string[]
  /** Uids, where the transport knows them (POSIX queues). */
  uids?: readonly number[]
  /** Gids, where the transport knows them (POSIX queues). */
  gids?: readonly number[]
}>

/** Options of {@link createServer}. */
export type ServerOptions = Readonly<{
  /** The service's address: on POSIX queues the request queue, e.g. '/calc' (the urgent lane is '/calc.urgent'). */
  queue: string
  /** What carries the frames. Defaults to POSIX message queues (`mqTransport()`). */
  transport?: Transport
  /** POSIX queues: mode of the request queues, who may call. Defaults to 0o622 (everyone may write, only the owner reads). */
  mode?: number
  /** POSIX queues: slots of each request queue (the kernel's maxmsg). Defaults to 10, the usual msg_max. */
  maxMessages?: number
  /** POSIX queues: message size of each request queue. Defaults to 8192, the usual msgsize_max. */
  messageSize?: number
  /** Who may connect; absent means everyone. Defaults to everyone. */
  allow?: AllowList
  /** Per-call check after the handshake; return false to answer PERMISSION_DENIED. Defaults to allowing all. */
  authorize?: (peer: Peer, method: string) => boolean
  /** Sessions at once. Defaults to 128 (DEFAULT_MAX_SESSIONS). */
  maxSessions?: number
  /** Sessions at once per principal (counted once the handshake is done). Defaults to 64. */
  maxSessionsPerPrincipal?: number
  /** @deprecated the old name of `maxSessionsPerPrincipal`, still honoured. */
  maxSessionsPerUid?: number
  /** Handshakes in progress at once (HELLO answered, PROOF not yet come). Defaults to 32. */
  maxHandshakes?: number
  /** Handshakes in progress at once per principal, so one user cannot use up every other's. Defaults to 24. */
  maxHandshakesPerPrincipal?: number
  /** Calls in flight per session; more are answered RESOURCE_EXHAUSTED. Defaults to 128. */
  maxInFlight?: number
  /** Calls started per second per session (token bucket); more are RESOURCE_EXHAUSTED. Defaults to no limit. */
  maxCallsPerSecond?: number
  /** Calls started per second per principal, over all its sessions. Defaults to no limit. */
  maxCallsPerSecondPerPrincipal?: number
  /** @deprecated the old name of `maxCallsPerSecondPerPrincipal`, still honoured. */
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
  /** How long a reply may wait for room in a client's full reply path before the session is ended. Defaults to 10000 ms. */
  slowReaderMs?: number
  /** Handlers running at once. Defaults to 64. */
  concurrency?: number
  /** Of `concurrency`, slots kept for urgent calls. Defaults to 8. */
  urgentReserve?: number
  /**
   * Input elements of a client or bidi stream that a client may send ahead
   * of what the handler has consumed (the credit window), at most. Defaults
   * to 256.
   */
  streamWindow?: number
  /**
   * About how many bytes of input elements a client may send ahead: the
   * window is sized to this many elements of the average size received,
   * from 4 to `streamWindow`; it starts at 16, so memory per stream stays
   * near the larger of this and 16 elements of maxBodyBytes. Defaults to
   * 256 KiB.
   */
  streamWindowBytes?: number
  /** How long close() waits for calls in flight before cancelling them. Defaults to 5000 ms. */
  shutdownGraceMs?: number
  /** How long a server already on `queue` has to answer a probe before its queue is taken over. Defaults to 1000 ms. */
  probeTimeoutMs?: number
  /**
   * Wrap every call of the service's methods, the first outermost, after
   * validation and before the handler (src/rpc/interceptor.ts). Defaults to none.
   */
  interceptors?: readonly Interceptor[]
}>

type Optional =
  | 'interceptors'
  | 'allow'
  | 'authorize'
  | 'maxCallsPerSecond'
  | 'maxCallsPerSecondPerPrincipal'
  | 'mode'
  | 'maxMessages'
  | 'messageSize'
type Renamed = 'maxSessionsPerUid' | 'maxCallsPerSecondPerUid'

/** Server options with every default filled in. */
export type ResolvedServerOptions = Required<Omit<ServerOptions, Optional | Renamed>> & Pick<ServerOptions, Optional>

/** Fills in the defaults; `transport` is given by the caller (the server picks the default one). */
export function resolveServerOptions(options: ServerOptions, transport: Transport): ResolvedServerOptions {
  const { maxSessionsPerUid, maxCallsPerSecondPerUid, ...rest } = options
  const perPrincipalRate = options.maxCallsPerSecondPerPrincipal ?? maxCallsPerSecondPerUid
  const resolved: ResolvedServerOptions = {
    maxSessions: DEFAULT_MAX_SESSIONS,
    maxSessionsPerPrincipal: maxSessionsPerUid ?? DEFAULT_MAX_SESSIONS_PER_PRINCIPAL,
    maxHandshakes: DEFAULT_MAX_HANDSHAKES,
    maxHandshakesPerPrincipal: DEFAULT_MAX_HANDSHAKES_PER_PRINCIPAL,
    maxInFlight: DEFAULT_MAX_IN_FLIGHT,
    maxBodyBytes: DEFAULT_SERVER_MAX_BODY_BYTES,
    maxPartials: DEFAULT_MAX_PARTIALS,
    partialTimeoutMs: DEFAULT_PARTIAL_TIMEOUT_MS,
    handshakeTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS,
    heartbeatMs: DEFAULT_HEARTBEAT_MS,
    slowReaderMs: DEFAULT_SLOW_READER_MS,
    concurrency: DEFAULT_CONCURRENCY,
    urgentReserve: DEFAULT_URGENT_RESERVE,
    shutdownGraceMs: DEFAULT_SHUTDOWN_GRACE_MS,
    probeTimeoutMs: DEFAULT_PROBE_TIMEOUT_MS,
    streamWindow: DEFAULT_STREAM_WINDOW,
    streamWindowBytes: DEFAULT_STREAM_WINDOW_BYTES,
    ...rest,
    ...(perPrincipalRate === undefined ? {} : { maxCallsPerSecondPerPrincipal: perPrincipalRate }),
    transport,
  }
  checkStreamWindow(resolved.streamWindow, "the server's")
  checkStreamWindowBytes(resolved.streamWindowBytes, "the server's")
  return resolved
}
