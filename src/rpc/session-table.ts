/**
 * The server's sessions and what it counts of them: open sessions and
 * handshakes in progress, in total and per principal, and each principal's
 * call-rate bucket.
 * @module
 */
import { RateLimiter } from './rate-limiter.js'
import type { Session } from './session.js'

function bump(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by
  if (next > 0) counts.set(key, next)
  else counts.delete(key)
}

export class SessionTable {
  private readonly byToken = new Map<bigint, Session>()
  private readonly openPerPrincipal = new Map<string, number>()
  private readonly handshakesPerPrincipal = new Map<string, number>()
  private readonly limiters = new Map<string, RateLimiter>()
  private openCount = 0

  constructor(private readonly callsPerSecondPerPrincipal: number | undefined) {}

  /** Sessions past the handshake. */
  get open(): number {
    return this.openCount
  }

  /** Sessions still in their handshake. */
  get handshakes(): number {
    return this.byToken.size - this.openCount
  }

  sessionsOf(principal: string): number {
    return this.openPerPrincipal.get(principal) ?? 0
  }

  handshakesOf(principal: string): number {
    return this.handshakesPerPrincipal.get(principal) ?? 0
  }

  /** The session still in its handshake that names `replyAddress`, if any. */
  handshakeNaming(replyAddress: string): Session | undefined {
    for (const session of this.byToken.values()) {
      if (session.state === 'handshake' && session.replyAddress === replyAddress) return session
    }
    return undefined
  }

  /**
   * The oldest half-open handshake of the principal holding the most of
   * them, when that principal holds more than `principal` does.
   */
  evictionCandidate(principal: string): Session | undefined {
    let heaviest: string | undefined
    let most = this.handshakesOf(principal)
    for (const [who, count] of this.handshakesPerPrincipal) {
      if (count > most) {
        most = count
        heaviest = who
      }
    }
    if (heaviest === undefined) return undefined
    for (const session of this.byToken.values()) {
      if (session.state === 'handshake' && session.peer.principal === heaviest) return session
    }
    return undefined
  }

  get(token: bigint): Session | undefined {
    return this.byToken.get(token)
  }

  values(): IterableIterator<Session> {
    return this.byToken.values()
  }

  /** A session whose HELLO was answered. */
  addHandshake(session: Session): void {
    this.byToken.set(session.token, session)
    bump(this.handshakesPerPrincipal, session.peer.principal, 1)
  }

  /** The session's PROOF came: it counts against its principal's sessions from now on. */
  markOpen(session: Session): void {
    bump(this.handshakesPerPrincipal, session.peer.principal, -1)
    bump(this.openPerPrincipal, session.peer.principal, 1)
    this.openCount++
    session.state = 'open'
  }

  /** Forgets the session; returns whether it was there. */
  remove(session: Session): boolean {
    if (this.byToken.get(session.token) !== session) return false
    this.byToken.delete(session.token)
    if (session.state === 'open') {
      bump(this.openPerPrincipal, session.peer.principal, -1)
      this.openCount--
    } else {
      bump(this.handshakesPerPrincipal, session.peer.principal, -1)
    }
    return true
  }

  /** The call-rate bucket shared by every session of `principal`, when that limit is set. */
  limiterOf(principal: string): RateLimiter | undefined {
    const rate = this.callsPerSecondPerPrincipal
    if (rate === undefined) return undefined
    let limiter = this.limiters.get(principal)
    if (limiter === undefined) {
      limiter = new RateLimiter(rate)
      this.limiters.set(principal, limiter)
    }
    return limiter
  }
}
