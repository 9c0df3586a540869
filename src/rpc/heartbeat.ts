/**
 * Heartbeats, as both sides count them: a peer silent for this many
 * intervals is gone. The server tells the interval in WELCOME; the client
 * pings at it, and each side ends the session after the same silence.
 * @module
 */

/** Intervals without a word from the peer before the session is given up. */
export const MISSED_HEARTBEATS = 3

/** How long a peer may stay silent before its session ends. */
export function silenceLimitMs(heartbeatMs: number): number {
  return MISSED_HEARTBEATS * heartbeatMs
}

/** Whether a peer last heard at `lastHeard` counts as gone at `now`. */
export function silentTooLong(lastHeard: number, heartbeatMs: number, now = Date.now()): boolean {
  return now - lastHeard > silenceLimitMs(heartbeatMs)
}
