/**
 * Credit-based flow control of streams (docs/PROTOCOL.md section 14): the
 * reader of a direction grants its writer a window of elements and renews
 * it as it consumes them; the writer takes one unit of credit before it even
 * pulls the next element from its source. Neither side ever holds more than
 * a window of elements, whatever the other does.
 * @module
 */

import { MAX_CREDIT } from '../protocol/wire.js'
import { DEFAULT_STREAM_WINDOW, MAX_DEFAULT_STREAM_WINDOW } from './defaults.js'

/** What a reader lets its writer send ahead: at most `elements`, and about `bytes` of them. */
export type WindowLimits = Readonly<{ elements: number; bytes: number }>

/**
 * The window a reader grants first, before it has seen an element's size:
 * small, so that a stream of large elements cannot put much more than the
 * byte budget in flight before the first renewal sizes the window.
 */
export const FIRST_WINDOW = 16
/**
 * The smallest window the byte budget sizes (unless the element limit is
 * smaller): elements larger than a quarter of the budget still have a few
 * in flight while a grant travels back.
 */
export const SMALLEST_WINDOW = 4

/** The limits a server's or client's resolved options set. */
export function windowLimits(options: Readonly<{ streamWindow: number; streamWindowBytes: number }>): WindowLimits {
  return { elements: options.streamWindow, bytes: options.streamWindowBytes }
}

/**
 * The element limit of a client's output window when it sets none:
 * {@link DEFAULT_STREAM_WINDOW} per KiB of the messages its reply path
 * carries, up to {@link MAX_DEFAULT_STREAM_WINDOW}. Larger messages hold
 * more elements each, so more must be in flight to keep the path busy; a
 * path that does not know its message size gets the plain default.
 */
export function replyStreamWindow(replyMessageSize: number | undefined): number {
  if (replyMessageSize === undefined) return DEFAULT_STREAM_WINDOW
  const scaled = Math.floor((DEFAULT_STREAM_WINDOW * replyMessageSize) / 1024)
  return Math.min(MAX_DEFAULT_STREAM_WINDOW, Math.max(DEFAULT_STREAM_WINDOW, scaled))
}

/** Checks a `streamWindow` option: one CREDIT must be able to grant the whole window. */
export function checkStreamWindow(window: number, where: string): number {
  if (!Number.isInteger(window) || window < 1 || window > MAX_CREDIT) {
    throw new RangeError(
      `${where} streamWindow is ${window}: it must be an integer from 1 to ${MAX_CREDIT} (the largest CREDIT a reader can grant)`,
    )
  }
  return window
}

/** Checks a `streamWindowBytes` option. */
export function checkStreamWindowBytes(bytes: number, where: string): number {
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new RangeError(`${where} streamWindowBytes is ${bytes}: it must be a positive integer (bytes)`)
  }
  return bytes
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
 *
 * The window is sized in bytes as well as elements. It starts at
 * {@link FIRST_WINDOW} and, at each renewal, moves to as many elements of
 * the average size received since the last renewal as fit `limits.bytes`,
 * from {@link SMALLEST_WINDOW} to `limits.elements`: small elements get a
 * window wide enough to keep both sides busy (each renewal is a round trip
 * and a wake-up on both sides), large ones cannot make either side hold
 * much more than the byte budget. Credit once granted cannot be taken
 * back, so a window shrinks by withholding renewals.
 */
export class CreditWindow {
  private size: number
  private outstanding: number
  private consumedSinceGrant = 0
  private bytesSinceGrant = 0
  private receivedSinceGrant = 0

  constructor(private readonly limits: WindowLimits) {
    checkStreamWindow(limits.elements, "a stream reader's")
    checkStreamWindowBytes(limits.bytes, "a stream reader's")
    this.size = Math.min(limits.elements, FIRST_WINDOW)
    this.outstanding = this.size
  }

  /** The window now: the first grant, before any element. */
  get window(): number {
    return this.size
  }

  /** An element of `bytes` arrived; false when the writer had no credit for it (a protocol violation). */
  received(bytes: number): boolean {
    if (this.outstanding === 0) return false
    this.outstanding--
    this.bytesSinceGrant += bytes
    this.receivedSinceGrant++
    return true
  }

  /** The reader consumed one element: the grant to send now, or 0 for none yet. */
  consumed(): number {
    this.consumedSinceGrant++
    // Renewing at half the window keeps the writer busy while the grant travels, with one CREDIT per half window.
    if (this.consumedSinceGrant < Math.max(1, Math.floor(this.size / 2))) return 0
    const target = this.sized()
    const grant = Math.max(0, this.consumedSinceGrant + target - this.size)
    this.size += grant - this.consumedSinceGrant
    this.outstanding += grant
    this.consumedSinceGrant = 0
    return grant
  }

  /** The window the elements received since the last renewal call for. */
  private sized(): number {
    if (this.receivedSinceGrant === 0) return this.size
    const average = Math.max(1, this.bytesSinceGrant / this.receivedSinceGrant)
    this.bytesSinceGrant = 0
    this.receivedSinceGrant = 0
    const fits = Math.floor(this.limits.bytes / average)
    return Math.min(this.limits.elements, Math.max(SMALLEST_WINDOW, fits))
  }
}
