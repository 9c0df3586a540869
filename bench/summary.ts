/**
 * Small helpers shared by the benchmark processes: percentiles, timing,
 * and the CPU and RSS figures each side reports.
 * @module
 */

/** Percentiles of a set of round trips, in microseconds. */
export interface Summary {
  readonly n: number
  readonly median_us: number
  readonly p99_us: number
  readonly mean_us: number
}

/** Median, p99 and mean of `samples` (microseconds). */
export function summarize(samples: readonly number[]): Summary {
  const sorted = Float64Array.from(samples).sort()
  let total = 0
  for (const sample of sorted) total += sample
  return {
    n: sorted.length,
    median_us: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    p99_us: sorted[Math.floor((sorted.length - 1) * 0.99)] ?? Number.NaN,
    mean_us: sorted.length === 0 ? Number.NaN : total / sorted.length,
  }
}

/** The median of `values` (the mean of the middle two when their number is even). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/**
 * Several rounds of one measurement folded into one: every number is the
 * median of that number over the rounds; strings and other values are the
 * first round's. The rounds must have the same shape (arrays the same length).
 */
export function medianOfRounds<T>(rounds: readonly T[]): T {
  const first = rounds[0] as T
  if (typeof first === 'number') return median(rounds as readonly number[]) as T
  if (Array.isArray(first)) return first.map((_, i) => medianOfRounds(rounds.map((r) => (r as unknown[])[i]))) as T
  if (typeof first === 'object' && first !== null) {
    const keys = Object.keys(first)
    return Object.fromEntries(keys.map((k) => [k, medianOfRounds(rounds.map((r) => (r as Record<string, unknown>)[k]))])) as T
  }
  return first
}

/**
 * Measures every item `rounds` times, the items taking turns, in reverse
 * order every other round so that none always follows the same other.
 * Returns each item's results, in the items' order.
 */
export async function takeTurns<I, R>(
  items: readonly I[],
  rounds: number,
  measure: (item: I, round: number) => Promise<R>,
): Promise<R[][]> {
  const results = items.map((): R[] => [])
  for (let round = 0; round < rounds; round++) {
    const order = [...items.keys()]
    if (round % 2 === 1) order.reverse()
    for (const i of order) results[i]?.push(await measure(items[i] as I, round))
  }
  return results
}

export const now = (): number => performance.now()
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** This process's CPU time so far, user + system, in microseconds. */
export function cpuUs(): number {
  const { user, system } = process.cpuUsage()
  return user + system
}

/** Formats a number for a table ('-' when it is not one). */
export const fmt = (n: number | undefined, digits = 1): string =>
  n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : '-'

/** Prints a table with the first `leftColumns` columns left-aligned, the others right-aligned. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[], leftColumns: number): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of rows) console.log(line(row))
}
