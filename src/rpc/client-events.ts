/**
 * What a client tells its user: where it stands, and the events it emits
 * (the service's own, typed from its schemas, and its lifecycle).
 * @module
 */
import type { RpcError } from '../protocol/rpc-error.js'
import type { AnyService, EventName, EventPayload } from './service.js'

/** Where a client stands. */
export type ClientState = 'connecting' | 'open' | 'draining' | 'disconnected' | 'closed'

/** Events a client emits: the service's own, typed from its schemas, and lifecycle events. */
export type ClientEvents<S extends AnyService> = {
  [K in EventName<S>]: [payload: EventPayload<S, K>]
} & {
  /** The first handshake finished. */
  connect: []
  /** The session was lost (server gone, restarted or shut down); calls in flight failed with UNAVAILABLE. */
  disconnect: [reason: RpcError]
  /** A new session was made after a disconnect. */
  reconnect: []
  /**
   * The server's schema differs from the client's in ways that break some of
   * its methods (named in the error's message and `details.methods`); calls
   * to those fail with FAILED_PRECONDITION, the others work. Also emitted as
   * a process warning.
   */
  incompatible: [error: RpcError]
  /** Something went wrong that no call will report (a forged or malformed frame, a bad event). */
  error: [error: Error]
}
