/**
 * Which sessions are over without anyone saying so: handshakes that did not
 * finish in time, clients that went silent past the heartbeat window or
 * whose process is gone, and bodies whose fragments stopped coming.
 * @module
 */
import type { ReassemblyError } from '../protocol/reassembly.js'
import { silentTooLong } from './heartbeat.js'
import type { Session } from './session.js'

/** What the server does about what a sweep finds. */
export interface LivenessActions {
  /** The handshake did not finish within handshakeTimeoutMs. */
  handshakeExpired(session: Session): void
  /** The client is gone: `processGone` when its claimed process no longer exists, else silent too long. */
  gone(session: Session, processGone: boolean): void
  /** A partly received body waited too long for its next fragment. */
  bodyDropped(session: Session, dropped: ReassemblyError): void
}

/** Looks at every session once. */
export function sweepSessions(
  sessions: Iterable<Session>,
  limits: Readonly<{ handshakeTimeoutMs: number; heartbeatMs: number }>,
  actions: LivenessActions,
  now = Date.now(),
): void {
  for (const session of [...sessions]) {
    if (session.state === 'handshake') {
      if (now - session.openedAt > limits.handshakeTimeoutMs) actions.handshakeExpired(session)
      continue
    }
    if (session.state !== 'open') continue
    // The pid is the client's claim: it can only make its own session end sooner.
    const processGone = session.link.alive?.(session.peer.pid) === false
    if (processGone || silentTooLong(session.lastSeen, limits.heartbeatMs, now)) {
      actions.gone(session, processGone)
      continue
    }
    for (const dropped of session.reassembler.sweep(now)) actions.bodyDropped(session, dropped)
  }
}
