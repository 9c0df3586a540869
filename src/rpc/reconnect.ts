/**
 * Reconnecting after a lost session: attempts with a pause that doubles
 * between them, up to a ceiling, until one succeeds or the caller stops.
 * @module
 */
import { DEFAULT_RECONNECT_MAX_DELAY_MS, DEFAULT_RECONNECT_MIN_DELAY_MS } from './defaults.js'

/** Options of {@link retryWithBackoff}. */
export type BackoffOptions = Readonly<{
  /** First pause. Defaults to 50 ms. */
  minDelayMs?: number
  /** Longest pause. Defaults to 1000 ms. */
  maxDelayMs?: number
}>

/**
 * Calls `attempt` until it resolves, pausing between failures; stops
 * (resolving false) as soon as `keepTrying()` says no.
 */
export async function retryWithBackoff(
  attempt: () => Promise<void>,
  keepTrying: () => boolean,
  options: BackoffOptions = {},
): Promise<boolean> {
  let delay = options.minDelayMs ?? DEFAULT_RECONNECT_MIN_DELAY_MS
  const ceiling = options.maxDelayMs ?? DEFAULT_RECONNECT_MAX_DELAY_MS
  while (keepTrying()) {
    try {
      await attempt()
      return true
    } catch {
      if (!keepTrying()) return false
      await new Promise((resolve) => setTimeout(resolve, delay))
      delay = Math.min(ceiling, delay * 2)
    }
  }
  return false
}
