/**
 * Something pending that ends exactly once: with a value, with an error, or
 * by giving up when its time runs out or its signal aborts. Ending removes
 * the timer and the abort listener, whichever way it ends. A queue wait
 * (waiter.ts) and an RPC call (rpc/pending-call.ts) are both this.
 * @module
 */

// setTimeout fires at once for delays past 2^31-1 ms; clamp where timers are set.
const MAX_TIMER_MS = 0x7fffffff

/** setTimeout with the delay clamped to what timers can hold (0 to 2^31-1 ms). */
export function setClampedTimeout(callback: () => void, delayMs: number): NodeJS.Timeout {
  return setTimeout(callback, Math.min(MAX_TIMER_MS, Math.max(0, delayMs)))
}

/** Why something pending gave up. */
export type GiveUpReason = 'timeout' | 'abort'

export class SettleOnce<T, E = unknown> {
  private done = false
  private timer: NodeJS.Timeout | undefined
  private signal: AbortSignal | undefined
  private onAbort: (() => void) | undefined

  constructor(
    private readonly resolveFn: (value: T) => void,
    private readonly rejectFn: (error: E) => void,
  ) {}

  /** Whether it has ended. */
  get settled(): boolean {
    return this.done
  }

  resolve(value: T): void {
    if (this.finish()) this.resolveFn(value)
  }

  reject(error: E): void {
    if (this.finish()) this.rejectFn(error)
  }

  /** Calls `giveUp` once after `timeoutMs`, or when `signal` aborts, unless it has ended first. */
  protected arm(timeoutMs: number | undefined, signal: AbortSignal | undefined, giveUp: (reason: GiveUpReason) => void): void {
    if (timeoutMs !== undefined) {
      this.timer = setClampedTimeout(() => giveUp('timeout'), timeoutMs)
    }
    if (signal !== undefined) {
      this.signal = signal
      this.onAbort = () => giveUp('abort')
      signal.addEventListener('abort', this.onAbort, { once: true })
    }
  }

  /** Called once, as it ends, before the value or error is passed on. */
  protected ended(): void {}

  private finish(): boolean {
    if (this.done) return false
    this.done = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.onAbort !== undefined) this.signal?.removeEventListener('abort', this.onAbort)
    this.ended()
    return true
  }
}
