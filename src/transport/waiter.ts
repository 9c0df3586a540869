/**
 * One pending wait on a queue (a receive or a send), with its timeout and
 * abort wiring. Settling removes the timer and the abort listener, so a
 * waiter settles exactly once whichever comes first.
 * @module
 */
import { MqError, QUEUE_ABORTED, QUEUE_TIMEOUT } from './mq-error.js'

/** Options shared by every wait. */
export interface WaitOptions {
  /** Give up after this many milliseconds with an `ETIMEDOUT` MqError. Defaults to waiting forever. */
  readonly timeoutMs?: number | undefined
  /** Give up when this signal aborts, with an `ABORT_ERR` MqError. Defaults to none. */
  readonly signal?: AbortSignal | undefined
}

// setTimeout fires at once for delays past 2^31-1 ms; clamp instead.
const MAX_TIMER_MS = 0x7fffffff

export class Waiter<T> {
  settled = false
  private timer: NodeJS.Timeout | undefined
  private readonly onAbort: (() => void) | undefined

  constructor(
    private readonly resolveFn: (value: T) => void,
    private readonly rejectFn: (error: unknown) => void,
    options: WaitOptions,
    what: string,
    queue: string,
    /** Called when the waiter gives up, so its owner can forget it. */
    private readonly onGiveUp: (waiter: Waiter<T>) => void,
  ) {
    const { timeoutMs, signal } = options
    if (timeoutMs !== undefined) {
      this.timer = setTimeout(
        () =>
          this.giveUp(
            new MqError(`${what} on queue ${queue} timed out after ${timeoutMs} ms`, {
              code: QUEUE_TIMEOUT,
              queue,
            }),
          ),
        Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS),
      )
    }
    if (signal !== undefined) {
      this.onAbort = () =>
        this.giveUp(new MqError(`${what} on queue ${queue} was aborted`, { code: QUEUE_ABORTED, queue, cause: signal.reason }))
      signal.addEventListener('abort', this.onAbort, { once: true })
      this.signal = signal
    }
  }

  private signal: AbortSignal | undefined

  resolve(value: T): void {
    if (this.settle()) this.resolveFn(value)
  }

  reject(error: unknown): void {
    if (this.settle()) this.rejectFn(error)
  }

  private giveUp(error: MqError): void {
    if (this.settled) return
    this.onGiveUp(this)
    this.reject(error)
  }

  private settle(): boolean {
    if (this.settled) return false
    this.settled = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.onAbort !== undefined) this.signal?.removeEventListener('abort', this.onAbort)
    return true
  }
}

/** Rejects at once when the signal has already aborted. */
export function abortedError(options: WaitOptions, what: string, queue: string): MqError | undefined {
  if (options.signal?.aborted !== true) return undefined
  return new MqError(`${what} on queue ${queue} was aborted`, {
    code: QUEUE_ABORTED,
    queue,
    cause: options.signal.reason,
  })
}
