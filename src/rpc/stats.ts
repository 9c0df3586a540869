/**
 * Live figures of a server, for introspection (`mqrpc stats`): calls served
 * and failed per method, calls in flight, and latency percentiles over a
 * window of recent calls.
 * @module
 */

const WINDOW = 1024

class MethodStats {
  served = 0
  failed = 0
  private readonly latencies = new Float64Array(WINDOW)
  private count = 0

  /** Time spent in the handler over all calls, for discovery's processing_time. */
  totalMs = 0

  record(ok: boolean, ms: number): void {
    if (ok) this.served++
    else this.failed++
    this.totalMs += ms
    this.latencies[this.count % WINDOW] = ms
    this.count++
  }

  percentiles(): { p50: number; p90: number; p99: number } | undefined {
    const n = Math.min(this.count, WINDOW)
    if (n === 0) return undefined
    const sorted = Array.from(this.latencies.subarray(0, n)).sort((a, b) => a - b)
    const at = (q: number) => Math.round((sorted[Math.min(n - 1, Math.floor(q * n))] ?? 0) * 1000) / 1000
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99) }
  }
}

/** A snapshot of one method's figures. */
export interface MethodFigures {
  readonly served: number
  readonly failed: number
  /** Latency in ms over the last calls, when there were any. */
  readonly latencyMs?: { p50: number; p90: number; p99: number }
}

export class ServerStats {
  private readonly methods = new Map<string, MethodStats>()
  /** Frames dropped: malformed, forged (wrong token), or over a limit. */
  readonly dropped = { malformed: 0, unknownSession: 0, overLimit: 0 }

  record(method: string, ok: boolean, ms: number): void {
    let stats = this.methods.get(method)
    if (stats === undefined) {
      stats = new MethodStats()
      this.methods.set(method, stats)
    }
    stats.record(ok, ms)
  }

  /** Calls, failures and total handler time per method, as transports that advertise services report them. */
  totals(): Record<string, { requests: number; errors: number; processingTimeMs: number }> {
    const result: Record<string, { requests: number; errors: number; processingTimeMs: number }> = {}
    for (const [name, stats] of this.methods) {
      result[name] = { requests: stats.served + stats.failed, errors: stats.failed, processingTimeMs: stats.totalMs }
    }
    return result
  }

  snapshot(): Record<string, MethodFigures> {
    const result: Record<string, MethodFigures> = {}
    for (const [name, stats] of [...this.methods].sort(([a], [b]) => a.localeCompare(b))) {
      const latencyMs = stats.percentiles()
      result[name] =
        latencyMs === undefined
          ? { served: stats.served, failed: stats.failed }
          : { served: stats.served, failed: stats.failed, latencyMs }
    }
    return result
  }
}
