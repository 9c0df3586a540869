/**
 * What a handler knows about its call.
 * @module
 */

/** The caller, as the kernel vouches for it. */
export interface Peer {
  /** Owner uid of the caller's reply queue (fstat): set by the kernel, not claimed. */
  readonly uid: number
  /** Owner gid of the caller's reply queue (fstat). */
  readonly gid: number
  /** The pid the client reported in its handshake; advisory, not verified by the kernel. */
  readonly pid?: number
}

/** The second argument of every handler. */
export interface CallContext {
  readonly peer: Peer
  /** Aborted when the caller cancels, the deadline passes, or the session ends. */
  readonly signal: AbortSignal
  /** Absolute deadline in epoch milliseconds, or undefined when the caller set none. */
  readonly deadline: number | undefined
  /** The method being called. */
  readonly method: string
  /** Whether the call came through the urgent lane. */
  readonly urgent: boolean
  /** The session's id, stable for the life of one client connection. */
  readonly sessionId: string
}
