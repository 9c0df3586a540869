/**
 * Credit-based flow control of streams (docs/PROTOCOL.md section 14): the
 * reader of a direction grants its writer a window of elements and renews
 * it as it consumes them; the writer takes one unit of credit before it even
 * pulls the next element from its source. Neither side ever holds more than
 * a window of elements, whatever the other does.
 * @module
 */

import { MAX_CREDIT } from '../protocol/wire.js'
import { DEFAULT_STREAM_WINDOW } from './defaults.js'

/** Checks a `streamWindow` option: one CREDIT must be able to grant the whole window. */
export function checkStreamWindow(window: number, where: string): number {
  if (!Number.isInteger(window) || window < 1 || window > MAX_CREDIT) {
    throw new RangeError(
      `${where} streamWindow is ${window}: it must be an integer from 1 to ${MAX_CREDIT} (the largest CREDIT a reader can grant)`,
    )
  }
  return window
}

/**
 * The writer's side: credit the reader has granted. `take()` waits while
 * there is none, so a producer that asks before each element is paused by
 * a reader that stops reading.
 */
export class CreditGate {
  private available = 0
  private closed = false
  private waiter: (() => void) | undefined

  /** Credit not yet used. */
  get credit(): number {
    return this.available
  }

  /** The reader allowed `n` more elements. */
  grant(n: number): void {
    this.available += n
    this.wake()
  }

  /** The stream is over: a pending and every later `take()` resolve false. */
  close(): void {
    this.closed = true
    this.wake()
  }

  /**
   * Takes one unit now if there is one (and the gate is open): the common
   * case of a writer within its window, without a promise per element.
   */
  tryTake(): boolean {
    if (this.available === 0 || this.closed) return false
    this.available--
    return true
  }

  /** Resolves true once one element may be written (the unit is used up), false once closed. */
  async take(): Promise<boolean> {
    while (this.available === 0 && !this.closed) {
      await new Promise<void>((resolve) => {
        this.waiter = resolve
      })
    }
    if (this.closed) return false
    this.available--
    return true
  }

  private wake(): void {
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.()
  }
}

/**
 * The reader's side: the window it grants. Invariant: credit outstanding +
 * elements received and not yet consumed + consumed and not yet re-granted
 * equals the window, so a writer that keeps to its credit can never make the
 * reader buffer more than a window.
 */
export class CreditWindow {
  private outstanding: number
  private consumedSinceGrant = 0
  private readonly renewAt: number

  constructor(readonly window = DEFAULT_STREAM_WINDOW) {
    checkStreamWindow(window, "a stream reader's")
    this.outstanding = window
    // Renewing at half the window keeps the writer busy while the grant travels, with one CREDIT per half window.
    this.renewAt = Math.max(1, Math.floor(window / 2))
  }

  /** An element arrived; false when the writer had no credit for it (a protocol violation). */
  received(): boolean {
    if (this.outstanding === 0) return false
    this.outstanding--
    return true
  }

  /** The reader consumed one element: the grant to send now, or 0 for none yet. */
  consumed(): number {
    this.consumedSinceGrant++
    if (this.consumedSinceGrant < this.renewAt) return 0
    const grant = this.consumedSinceGrant
    this.consumedSinceGrant = 0
    this.outstanding += grant
    return grant
  }
}
