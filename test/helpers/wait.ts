/**
 * Waiting in tests, defined once for every harness: a pause, a busy wait,
 * polling until a condition holds, and the error a promise rejected with.
 * Timeouts here are upper bounds for a loaded machine; a passing test never
 * waits them out.
 * Plain Node, no vitest: fixtures running in child processes use it too.
 * @module
 */
import type { RpcError } from '../../src/index.js'

/** How long {@link until} polls before giving up, unless told. */
export const UNTIL_TIMEOUT_MS = 20_000

/** How often {@link until} looks. */
const POLL_MS = 20

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Keeps the CPU busy for `ms` milliseconds, holding the event loop as a CPU-bound handler does. */
export function busy(ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) {
    // CPU-bound on purpose.
  }
}

/** Polls `condition` until it holds; rejects naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = UNTIL_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`)
    await sleep(POLL_MS)
  }
}

/** Reads `read()` until `ok` holds for what it returns, and returns that; rejects after `timeoutMs` with the last value. */
export async function settle<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  timeoutMs = UNTIL_TIMEOUT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (ok(value)) return value
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}; last: ${JSON.stringify(value)}`)
    await sleep(POLL_MS)
  }
}

/**
 * What a promise rejected with, typed as the RpcError the tests expect
 * (check `instanceof` where it matters); throws when it resolved instead.
 */
export async function rejection(promise: Promise<unknown>): Promise<RpcError> {
  const outcome = await promise.then(
    (value) => ({ resolved: true as const, value }),
    (error: unknown) => ({ resolved: false as const, error }),
  )
  if (outcome.resolved) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`)
  return outcome.error as RpcError
}
