/**
 * The urgent lane: one probe process alternates the same echo through the
 * urgent and the bulk lane, idle and while LOAD_CLIENTS client processes
 * keep the server saturated with CPU-bound `burn` calls, for two server
 * settings (bench/README.md, "Urgent lane"). The load processes time their
 * own calls meanwhile: those are the bulk calls issue 11's goal compares the
 * urgent lane with, since the server serves the probe's session fairly and
 * its bulk calls no longer wait behind the flood.
 * @module
 */
import { contender } from './contenders.js'
import type { UrgentRow } from './results.js'
import type { Placement } from './rpc-run.js'
import { Run } from './rpc-run.js'
import { fmt, printTable, type Summary, sleep, summarize } from './summary.js'

const LOAD_CLIENTS = 3
const LOAD_IN_FLIGHT = 16
/** How long each burn call keeps the server's CPU busy. */
export const BURN_MS = 1

/** Server settings the urgent lane is measured under. */
const URGENT_SERVERS: readonly (readonly [label: string, concurrency: number | undefined])[] = [
  ['defaults (concurrency 64)', undefined],
  ['concurrency 9 (1 bulk)', 9],
]

type ProbeResult = { urgent: Summary; bulk: Summary }
type LoadResult = { calls: number; seconds: number; timed?: Summary }

const middle = (values: readonly number[]) => summarize(values).median_us

/** The flood's calls across the load processes: the median of each figure over them, `n` summed. */
function floodOf(loads: readonly LoadResult[]): Summary | undefined {
  const timed = loads.flatMap((l) => (l.timed === undefined || l.timed.n === 0 ? [] : [l.timed]))
  if (timed.length === 0) return undefined
  return {
    n: timed.reduce((sum, t) => sum + t.n, 0),
    median_us: middle(timed.map((t) => t.median_us)),
    p99_us: middle(timed.map((t) => t.p99_us)),
    mean_us: middle(timed.map((t) => t.mean_us)),
  }
}

async function urgentRun(wrapper: readonly string[], concurrency: number | undefined, quick: boolean) {
  const run = new Run(contender('mqrpc'))
  const queue = run.address
  try {
    const server = run.spawn(
      'server',
      { contender: 'mqrpc', address: queue, ...(concurrency === undefined ? {} : { concurrency }) },
      wrapper,
    )
    await server.waitFor('ready')
    const idleProbe = run.spawn('probe', { queue, warmup: quick ? 20 : 200, seconds: quick ? 0.3 : 2, maxCalls: 2000 }, wrapper)
    const idle = await idleProbe.result<ProbeResult>()
    const loads = Array.from({ length: LOAD_CLIENTS }, () =>
      run.spawn('load', { queue, inFlight: LOAD_IN_FLIGHT, burnMs: BURN_MS }, wrapper),
    )
    await Promise.all(loads.map((load) => load.waitFor('loading')))
    await sleep(300) // let the backlog build
    for (const l of loads) l.tell('measure')
    const loadedProbe = run.spawn('probe', { queue, warmup: 2, seconds: quick ? 0.5 : 4, maxCalls: 2000 }, wrapper)
    const loaded = await loadedProbe.result<ProbeResult>()
    const done = await Promise.all(loads.map((load) => load.result<LoadResult>(30_000, true)))
    const burnPerSecond = done.reduce((sum, d) => sum + d.calls / d.seconds, 0)
    return { idle, loaded, flood: floodOf(done), burnPerSecond }
  } finally {
    await run.close()
  }
}

/** Runs the urgent-lane measurements, prints their table, and returns the rows. */
export async function urgentRuns(where: readonly Placement[], quick: boolean): Promise<UrgentRow[]> {
  console.log(
    `\nurgent lane: the same echo through the urgent and the bulk lane, alternating, idle and while ` +
      `${LOAD_CLIENTS} client processes keep ${LOAD_IN_FLIGHT} burn(${BURN_MS} ms) calls each in flight`,
  )
  const settings = quick ? URGENT_SERVERS.slice(1) : URGENT_SERVERS
  const rows: UrgentRow[] = []
  for (const [cpus, wrapper] of where) {
    for (const [setting, concurrency] of settings) {
      console.log(`  ${setting}, ${cpus}`)
      const { idle, loaded, flood, burnPerSecond } = await urgentRun(wrapper, concurrency, quick)
      rows.push({ cpus, setting, idle, loaded, ...(flood === undefined ? {} : { flood }), burnPerSecond, burnMs: BURN_MS })
    }
  }
  const table: string[][] = []
  for (const row of rows) {
    for (const [load, result] of [
      ['idle', row.idle],
      ['loaded', row.loaded],
    ] as const) {
      for (const lane of ['urgent', 'bulk'] as const) {
        const s = result[lane]
        table.push([row.cpus, row.setting, load, 'probe', lane, fmt(s.median_us), fmt(s.p99_us), String(s.n)])
      }
    }
    const f = row.flood
    table.push([row.cpus, row.setting, 'loaded', 'flood', 'bulk', fmt(f?.median_us), fmt(f?.p99_us), String(f?.n ?? '-')])
  }
  printTable(['CPUs', 'server', 'load', 'client', 'lane', 'median us', 'p99 us', 'calls'], table, 5)
  console.log(
    `(probe: one call at a time, urgent and bulk alternating; flood: the ${LOAD_CLIENTS} load processes' own burn calls ` +
      `while the probe measured, median over the processes of each one's median and p99)`,
  )
  for (const row of rows) {
    const urgent = row.loaded.urgent.median_us
    const flood =
      row.flood === undefined
        ? "the flood's bulk calls were not timed"
        : `${fmt(urgent / row.flood.median_us, 3)}x of the flood's bulk calls (median ${fmt(row.flood.median_us, 0)} us)`
    console.log(
      `${row.cpus}, ${row.setting}: loaded urgent median ${fmt(urgent, 0)} us = ${fmt(urgent / row.idle.urgent.median_us, 1)}x idle urgent, ` +
        `${flood}; the polite bulk probe ${fmt(row.loaded.bulk.median_us, 0)} us = ` +
        `${fmt(row.loaded.bulk.median_us / urgent, 1)}x loaded urgent (served fairly); ` +
        `server ran ${fmt(row.burnPerSecond, 0)} burn calls/s`,
    )
  }
  return rows
}
