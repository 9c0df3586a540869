/**
 * The monotonic clock of the hot paths (call timings, the scheduler's
 * budgets). Imported from perf_hooks rather than read from the global: in
 * Node 20 `globalThis.performance` is a lazy accessor whose getter runs on
 * every read, which a callgrind profile showed on every call.
 * @module
 */
export { performance } from 'node:perf_hooks'
