/**
 * What a handler knows about its call.
 * @module
 */

/** The caller, as its transport vouches for it. */
export interface Peer {
  /**
   * Who the caller is, vouched for by the transport and never claimed by the
   * caller: `unix:<uid>:<gid>` on POSIX queues (the reply queue's owner, by
   * fstat), `nats:<user>` on a broker. `allow` and the per-principal limits use it.
   */
  readonly principal: string
  /** The caller's uid, where the transport knows it (POSIX queues: the reply queue's owner). */
  readonly uid?: number
  /** The caller's gid, where the transport knows it. */
  readonly gid?: number
  /**
   * The pid the client reported in its handshake: a claim, never verified,
   * used for nothing that decides access (only to notice a dead client sooner).
   */
  readonly pid?: number
}

/** The second argument of every handler. */
export interface CallContext {
  readonly peer: Peer
  /** Aborted when the caller cancels, the deadline passes, or the session ends. */
  readonly signal: AbortSignal
  /** Absolute deadline in epoch milliseconds, or undefined when the caller set none. */
  readonly deadline: number | undefined
  /** String pairs the caller sent with the call (`CallOptions.metadata`); empty when none. Frozen. */
  readonly metadata: Readonly<Record<string, string>>
  /** The method being called. */
  readonly method: string
  /** Whether the call came through the urgent lane. */
  readonly urgent: boolean
  /** The session's id, stable for the life of one client connection. */
  readonly sessionId: string
}
