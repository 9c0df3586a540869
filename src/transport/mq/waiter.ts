/**
 * One pending wait on a queue (a receive or a send), with its timeout and
 * abort wiring. Settling removes the timer and the abort listener, so a
 * waiter settles exactly once whichever comes first.
 * @module
 */

import { SettleOnce } from '../../util/settle-once.js'
import { MqError, QUEUE_ABORTED, QUEUE_TIMEOUT } from './mq-error.js'

/** Options shared by every wait. */
export interface WaitOptions {
  /** Give up after this many milliseconds with an `ETIMEDOUT` MqError. Defaults to waiting forever. */
  readonly timeoutMs?: number | undefined
  /** Give up when this signal aborts, with an `ABORT_ERR` MqError. Defaults to none. */
  readonly signal?: AbortSignal | undefined
}

export class Waiter<T> extends SettleOnce<T> {
  constructor(
    resolve: (value: T) => void,
    reject: (error: unknown) => void,
    options: WaitOptions,
    what: string,
    queue: string,
    /** Called when the waiter gives up, so its owner can forget it. */
    onGiveUp: (waiter: Waiter<T>) => void,
  ) {
    super(resolve, reject)
    const { timeoutMs, signal } = options
    this.arm(timeoutMs, signal, (reason) => {
      if (this.settled) return
      onGiveUp(this)
      this.reject(
        reason === 'timeout'
          ? new MqError(`${what} on queue ${queue} timed out after ${timeoutMs} ms`, { code: QUEUE_TIMEOUT, queue })
          : abortError(what, queue, signal?.reason),
      )
    })
  }
}

function abortError(what: string, queue: string, reason: unknown): MqError {
  return new MqError(`${what} on queue ${queue} was aborted`, { code: QUEUE_ABORTED, queue, cause: reason })
}

/** Rejects at once when the signal has already aborted. */
export function abortedError(options: WaitOptions, what: string, queue: string): MqError | undefined {
  if (options.signal?.aborted !== true) return undefined
  return abortError(what, queue, options.signal.reason)
}
