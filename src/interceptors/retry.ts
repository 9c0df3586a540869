/**
 * `retryInterceptor`: sends a client call again when it failed UNAVAILABLE,
 * only for methods the schema marks `idempotent: true`, with backoff, and
 * never past the call's deadline.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Code } from '../protocol/code.js'
import { RpcError } from '../protocol/rpc-error.js'
import type { Interceptor } from '../rpc/interceptor.js'

/** Exponential backoff between attempts. */
export type BackoffOptions = Readonly<{
  /** Pause before the second attempt. Defaults to 50 ms. */
  initialMs?: number
  /** Longest pause. Defaults to 1000 ms. */
  maxMs?: number
  /** Growth of the pause per attempt. Defaults to 2. */
  multiplier?: number
  /** Pause a random time between half and all of it, so that clients do not retry in step. Defaults to true. */
  jitter?: boolean
}>

/** Options of {@link retryInterceptor}. */
export type RetryOptions = Readonly<{
  /** Attempts in all, the first included. Defaults to 3. */
  maxAttempts?: number
  /** The pause after failed attempt `n` (1-based), as options or as a function. Defaults to `{}`. */
  backoff?: BackoffOptions | ((attempt: number) => number)
}>

function pauseOf(backoff: RetryOptions['backoff']): (attempt: number) => number {
  if (typeof backoff === 'function') return backoff
  const { initialMs = 50, maxMs = 1000, multiplier = 2, jitter = true } = backoff ?? {}
  return (attempt) => {
    const full = Math.min(maxMs, initialMs * multiplier ** (attempt - 1))
    return jitter ? full / 2 + (Math.random() * full) / 2 : full
  }
}

/**
 * Retries idempotent unary calls that failed UNAVAILABLE (the server went
 * away or is shutting down), up to `maxAttempts`, pausing between attempts.
 * It gives up with the last error when the next pause would end past the
 * call's deadline, and with CANCELLED when the call's signal aborts. Other
 * codes, other methods and server-side calls pass through untouched.
 */
export function retryInterceptor(options: RetryOptions = {}): Interceptor {
  const maxAttempts = options.maxAttempts ?? 3
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new TypeError('retryInterceptor: maxAttempts must be a whole number >= 1')
  const pause = pauseOf(options.backoff)
  return (next) => async (call) => {
    if (call.side !== 'client' || !call.idempotent || call.kind !== 'unary') return next(call)
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(call)
      } catch (error) {
        if (!(error instanceof RpcError) || error.code !== Code.UNAVAILABLE || attempt >= maxAttempts) throw error
        const ms = Math.max(0, pause(attempt))
        if (call.deadline !== undefined && Date.now() + ms >= call.deadline) throw error
        try {
          await sleep(ms, undefined, call.signal === undefined ? {} : { signal: call.signal })
        } catch {
          throw new RpcError(Code.CANCELLED, `call to '${call.method}' was cancelled by its signal between retries`, undefined, {
            cause: error,
          })
        }
      }
    }
  }
}
