/**
 * Shared settings of the property-based (fast-check) tests: one fixed seed
 * (overridable with MQRPC_FUZZ_SEED to explore, or to replay the seed a
 * failure printed), per-property run counts scaled by MQRPC_FUZZ_SCALE, and
 * a tally of the cases run, printed once per file for docs/SECURITY.md.
 * @module
 */
import fc from 'fast-check'
import { afterAll } from 'vitest'

/** The seed every property of a run uses; fast-check prints it (and the shrunk path) with any counterexample. */
export const FUZZ_SEED = Number(process.env.MQRPC_FUZZ_SEED ?? 0x6d717270)

/** Multiplies every numRuns: `MQRPC_FUZZ_SCALE=10` for a longer local hunt, 0.1 for a quick look. */
const SCALE = Number(process.env.MQRPC_FUZZ_SCALE ?? 1)

const tally = new Map<string, number>()

/** fast-check parameters for a property of `runs` cases (scaled), counted under `label`. */
export function fuzzParams<T>(label: string, runs: number): fc.Parameters<T> {
  const numRuns = Math.max(1, Math.round(runs * SCALE))
  tally.set(label, (tally.get(label) ?? 0) + numRuns)
  return { numRuns, seed: FUZZ_SEED, endOnFailure: false, verbose: 1 }
}

/** Runs `property` with {@link fuzzParams}; a failure reports the seed, the path and the counterexample. */
export function fuzz<T>(label: string, runs: number, property: fc.IProperty<T>): void {
  fc.assert(property, fuzzParams<T>(label, runs))
}

/** Prints the cases run by this file's properties after they ran (one JSON line, for the figures). */
export function reportFuzzCases(file: string): void {
  afterAll(() => {
    const cases = [...tally.values()].reduce((a, b) => a + b, 0)
    console.log(JSON.stringify({ fuzz: file, seed: FUZZ_SEED, cases, byProperty: Object.fromEntries(tally) }))
  })
}
