/**
 * The goals of issue 11, judged from one run's figures: each is met or not,
 * with the ratio that says by how much. Ratios compare rows of the same run.
 * @module
 */
import { C_ROW, NODE_CONSUME, NODE_PROMISE } from './pingpong.js'
import { type BenchReport, type ContenderRun, socketStreamRow } from './results.js'
import { fmt } from './summary.js'

/** One goal as judged: `met` is undefined when the run did not measure it. */
export interface Goal {
  readonly id: string
  readonly goal: string
  readonly met: boolean | undefined
  readonly figures: string
}

const PINNED = 'pinned to CPU 0'
const x = (n: number) => `${fmt(n, 2)}x`

function pair(runs: readonly ContenderRun[] | undefined, cpus: string) {
  const mq = runs?.find((r) => r.contender === 'mqrpc' && r.cpus === cpus)
  const base = runs?.find((r) => r.contender === 'socket' && r.cpus === cpus)
  return mq === undefined || base === undefined ? undefined : { mq, base }
}

function cpusOf(report: BenchReport): string[] {
  return [...new Set((report.rpc ?? []).map((r) => r.cpus))]
}

function all(checks: readonly (readonly [boolean, string])[]): Pick<Goal, 'met' | 'figures'> {
  if (checks.length === 0) return { met: undefined, figures: 'not measured in this run' }
  return { met: checks.every(([ok]) => ok), figures: checks.map(([, text]) => text).join('; ') }
}

/** Judges every goal of issue 11 against `report`. */
export function judge(report: BenchReport): Goal[] {
  const goals: Goal[] = []
  const placements = cpusOf(report)

  const latency = placements.flatMap((cpus) => {
    const p = pair(report.rpc, cpus)
    if (p === undefined) return []
    const ratio = p.mq.latency.median_us / p.base.latency.median_us
    return [[ratio <= 1, `${cpus}: ${x(ratio)} (${fmt(p.mq.latency.median_us)} vs ${fmt(p.base.latency.median_us)} us)`] as const]
  })
  goals.push({
    id: 'latency',
    goal: 'Typed call p50 round trip at or below the hand-rolled socket, pinned and unpinned',
    ...all(latency),
  })

  const c = report.pingpong?.find((r) => r.impl === C_ROW && r.cpus === PINNED)
  const mqPinned = report.rpc?.find((r) => r.contender === 'mqrpc' && r.cpus === PINNED)
  const floor =
    c === undefined || mqPinned === undefined
      ? []
      : [
          [
            mqPinned.latency.median_us / c.median_us <= 3,
            `${x(mqPinned.latency.median_us / c.median_us)} (${fmt(mqPinned.latency.median_us)} vs C ${fmt(c.median_us, 2)} us)`,
          ] as const,
        ]
  goals.push({ id: 'c-floor', goal: 'Typed call p50 within 3x of the C ping-pong pinned', ...all(floor) })

  const throughput = placements.flatMap((cpus) => {
    const p = pair(report.rpc, cpus)
    if (p === undefined) return []
    const rows = p.mq.throughput.map((t) => {
      const base = p.base.throughput.find((b) => b.inFlight === t.inFlight)
      const ratio = t.calls_per_s / (base?.calls_per_s ?? Number.NaN)
      return [ratio >= 1, `${cpus}, ${t.inFlight} in flight: ${x(ratio)}`] as const
    })
    const multi = p.mq.multi_calls_per_s / p.base.multi_calls_per_s
    return [...rows, [multi >= 1, `${cpus}, 4 client processes: ${x(multi)}`] as const]
  })
  goals.push({
    id: 'throughput',
    goal: 'Calls/s with 32 and 64 in flight at or above the socket, pinned and unpinned, and with 4 client processes',
    ...all(throughput),
  })

  const pingpong = (report.pingpong ?? []).filter((r) => r.cpus === PINNED && r.impl !== C_ROW)
  const pp =
    c === undefined
      ? []
      : pingpong.map((r) => {
          const ratio = r.median_us / c.median_us
          const which = r.impl === NODE_PROMISE ? 'receive()/send()' : r.impl === NODE_CONSUME ? 'consume()/trySend()' : r.impl
          return [ratio <= 2, `${which}: ${x(ratio)} (${fmt(r.median_us, 2)} vs ${fmt(c.median_us, 2)} us)`] as const
        })
  goals.push({ id: 'pingpong', goal: '`MessageQueue` ping-pong within 2x of C pinned (median)', ...all(pp) })

  const cpu = (report.rpc ?? []).filter((r) => r.contender === 'mqrpc')
  goals.push({
    id: 'cpu',
    goal: 'CPU time per call, client and server each, reported',
    met: cpu.length > 0 ? true : undefined,
    figures:
      cpu.map((r) => `${r.cpus}: ${fmt(r.latency.client_us)} / ${fmt(r.latency.server_us)} us one at a time`).join('; ') ||
      'not measured',
  })

  const big = placements.flatMap((cpus) => {
    const p = pair(report.rpc, cpus)
    const mq = p?.mq.sizes.find((s) => s.bytes === 1024 * 1024)
    const base = p?.base.sizes.find((s) => s.bytes === 1024 * 1024)
    if (mq === undefined || base === undefined) return []
    const ratio = mq.mb_per_s / base.mb_per_s
    return [[ratio >= 0.5, `${cpus}: ${x(ratio)} (${fmt(mq.mb_per_s)} vs ${fmt(base.mb_per_s)} MB/s)`] as const]
  })
  goals.push({ id: 'big-bodies', goal: '1 MiB bodies at least half the socket speed', ...all(big) })

  const rss = report.rss
  if (rss === undefined) {
    goals.push({
      id: 'rss',
      goal: 'Server RSS flat over 1,000,000 calls and with 100 idle sessions',
      met: undefined,
      figures: 'not measured',
    })
  } else {
    const first = rss.samples[0]?.[1] ?? Number.NaN
    const last = rss.samples.at(-1)?.[1] ?? Number.NaN
    const peak = Math.max(...rss.samples.map(([, b]) => b))
    const mib = (n: number) => `${fmt(n / 2 ** 20)} MiB`
    // Flat: after the first tenth of the calls (warm-up: code, heap growth),
    // the lowest sample of the second half (the floor the RSS falls back to
    // after collections, which a leak raises) is within 10% or 8 MiB of the
    // first half's. Peaks say when a sample met a collection, not a leak.
    const warm = rss.samples.filter(([calls]) => calls >= rss.calls / 10)
    const half = Math.ceil(warm.length / 2)
    const floorOf = (part: typeof warm) => Math.min(...part.map(([, b]) => b))
    const early = floorOf(warm.slice(0, half))
    const late = floorOf(warm.slice(half))
    const calls = late - early <= Math.max(0.1 * early, 8 * 2 ** 20)
    const idle = rss.rssAfterIdleHeartbeats - rss.rssWithIdle <= Math.max(0.1 * rss.rssWithIdle, 8 * 2 ** 20)
    const perSession = (rss.rssWithIdle - rss.rssBeforeIdle) / rss.idleSessions
    goals.push({
      id: 'rss',
      goal: `Server RSS flat over ${rss.calls.toLocaleString('en')} calls and with ${rss.idleSessions} idle sessions`,
      met: calls && idle,
      figures:
        `${mib(first)} after ${rss.samples[0]?.[0]} calls, ${mib(last)} after ${rss.samples.at(-1)?.[0]} (peak ${mib(peak)}); ` +
        `floor ${mib(early)} in the first half after warm-up, ${mib(late)} in the second; ` +
        `${rss.idleSessions} idle sessions add ${fmt(perSession / 1024)} KiB each, ${mib(rss.rssAfterIdleHeartbeats)} after their heartbeats vs ${mib(rss.rssWithIdle)}`,
    })
  }

  const urgent = (report.urgent ?? []).map((row) => {
    const loaded = row.loaded.urgent.median_us
    const budget = row.idle.urgent.median_us + row.burnMs * 1000
    // "A bulk call" is one of the flood's: the polite probe's bulk calls are
    // served fairly (its session has nothing waiting, so it goes before the
    // flood's backlog) and measure about what its urgent ones do. Runs made
    // before the flood timed its calls have only the probe's to compare with.
    const [bulk, against] =
      row.flood === undefined
        ? [row.loaded.bulk.median_us, "of the polite probe's loaded bulk (the flood's calls were not timed in this run)"]
        : [
            row.flood.median_us,
            `of the flood's bulk calls (p50 ${fmt(row.flood.median_us)} us; the polite bulk probe, served fairly, ${fmt(row.loaded.bulk.median_us)} us)`,
          ]
    const ok = loaded <= budget && loaded < bulk / 10
    return [
      ok,
      `${row.cpus}, ${row.setting}: loaded urgent ${fmt(loaded)} us vs idle + 1 handler ${fmt(budget)} us, ${fmt(loaded / bulk, 3)}x ${against}`,
    ] as const
  })
  goals.push({
    id: 'urgent',
    goal: "Urgent call p50 under a flood within its idle p50 plus one bulk handler, and under a tenth of a bulk call's (the flood's)",
    ...all(urgent),
  })
  const streams = (report.streams ?? []).flatMap((mq) => {
    if (mq.contender !== 'mqrpc') return []
    const base = socketStreamRow(report.streams ?? [], mq)
    if (base === undefined) return []
    const ratio = mq.elements_per_s / base.elements_per_s
    // Judged on the defaults; what a client's larger reply messages buy is shown beside.
    const larger = report.streams?.find((r) => r.contender === 'mqrpc-8k' && r.cpus === mq.cpus && r.bytes === mq.bytes)
    const withLarger = larger === undefined ? '' : `; replyMessageSize 8192: ${x(larger.elements_per_s / base.elements_per_s)}`
    return [
      [
        ratio >= 1,
        `${mq.cpus}, ${mq.bytes}-byte elements: ${x(ratio)} (${fmt(mq.elements_per_s, 0)} vs ${fmt(base.elements_per_s, 0)} elements/s${withLarger})`,
      ] as const,
    ]
  })
  goals.push({
    id: 'streams',
    goal: 'Server-stream elements/s at or above a socket stream of the same messages',
    ...all(streams),
  })
  return goals
}
