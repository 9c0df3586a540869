/**
 * The shapes of what benchmark processes print and what bench/run.ts
 * gathers for docs/BENCHMARKS.md.
 * @module
 */
import type { Summary } from './summary.js'

/** CPU time per call, microseconds, charged to each side. */
export interface CpuPerCall {
  readonly client_us: number
  readonly server_us: number
}

/** Calls per second with `inFlight` calls kept going by one client process. */
export interface Throughput extends CpuPerCall {
  readonly inFlight: number
  readonly calls_per_s: number
}

/** Round trips of one body size, one call at a time. */
export interface SizeResult extends Summary {
  readonly bytes: number
  /** Body bytes moved per second, each way. */
  readonly mb_per_s: number
}

/** What one client process of `bench/rpc-peer.ts client` prints. */
export interface ClientResult {
  readonly latency: Summary & CpuPerCall
  readonly throughput: readonly Throughput[]
  readonly sizes: readonly SizeResult[]
}

/** One contender on one placement. */
export interface ContenderRun extends ClientResult {
  readonly contender: string
  readonly label: string
  readonly cpus: string
  /** Rounds this contender ran; each figure is the median over them (absent from runs made before rounds). */
  readonly rounds?: number
  /** Calls per second of CLIENT_PROCESSES processes at once, summed. */
  readonly multi_calls_per_s: number
}

/** One placement of the ping-pong benchmark. */
export interface PingPongRow {
  readonly impl: string
  readonly cpus: string
  readonly rounds: number
  readonly seconds: number
  readonly median_us: number
  readonly p99_us: number
  /** Runs this row is the median of (absent from runs made before runs were repeated). */
  readonly runs?: number
}

/** Server RSS over a long run and with idle sessions (mqrpc only). */
export interface RssResult {
  readonly calls: number
  /** [calls so far, server RSS in bytes] */
  readonly samples: readonly (readonly [number, number])[]
  readonly idleSessions: number
  readonly rssBeforeIdle: number
  readonly rssWithIdle: number
  readonly rssAfterIdleHeartbeats: number
}

/** The urgent-lane figures of one server setting on one placement. */
export interface UrgentRow {
  readonly cpus: string
  readonly setting: string
  readonly idle: { urgent: Summary; bulk: Summary }
  readonly loaded: { urgent: Summary; bulk: Summary }
  /**
   * The flood's own burn calls while the probe measured: median over the
   * load processes of each one's median (and p99), `n` their calls timed.
   * Absent from runs made before the load processes timed their calls.
   */
  readonly flood?: Summary
  readonly burnPerSecond: number
  readonly burnMs: number
}

/** One server stream, one element size, one placement: the median of several runs (bench/streams.ts). */
export interface StreamRow {
  readonly contender: string
  readonly label: string
  readonly cpus: string
  /** About how many bytes one element takes as msgpack. */
  readonly bytes: number
  /** Elements per run (each run is one stream). */
  readonly elements: number
  /** Elements per second of each run, in the order they ran. */
  readonly runs: readonly number[]
  /** The median of `runs`. */
  readonly elements_per_s: number
  /** CPU time per element, microseconds, each side (medians over the runs). */
  readonly client_us: number
  readonly server_us: number
}

/** The socket baseline's row for the same placement and element size as `like`. */
export function socketStreamRow(rows: readonly StreamRow[], like: StreamRow): StreamRow | undefined {
  return rows.find((r) => r.contender === 'socket' && r.cpus === like.cpus && r.bytes === like.bytes)
}

/** Instructions per echo call on one contender's busy server, counted by callgrind (bench/instructions.ts). */
export interface InstructionsRow {
  readonly contender: string
  readonly label: string
  /** Calls counted (after the warm-up). */
  readonly calls: number
  readonly server_instructions: number
}

/** Instructions per 64-byte element of a server stream on one contender's server, counted by callgrind (bench/instructions.ts). */
export interface StreamInstructionsRow {
  readonly contender: string
  readonly label: string
  /** Elements counted: one stream, after two untimed ones. */
  readonly elements: number
  readonly server_instructions: number
}

/** Everything one `npm run bench` gathered. */
export interface BenchReport {
  pingpong?: readonly PingPongRow[]
  rpc?: readonly ContenderRun[]
  skipped?: readonly string[]
  rss?: RssResult
  urgent?: readonly UrgentRow[]
  streams?: readonly StreamRow[]
  instructions?: readonly InstructionsRow[]
  streamInstructions?: readonly StreamInstructionsRow[]
  /** Free-form sections other benchmarks add (title, markdown). */
  extra?: { title: string; markdown: string }[]
}
