/**
 * RPC round trips, side by side in one run, each side its own process
 * (bench/rpc-peer.ts), for every contender of bench/contenders.ts:
 *
 * - a ~64-byte echo: median and p99 of one call at a time, calls/s with 32
 *   and 64 in flight, and with CLIENT_PROCESSES client processes at once;
 *   CPU time per call on each side (process.cpuUsage in each process);
 * - bodies of 4 KiB, 64 KiB and 1 MiB, one call at a time;
 * - mqrpc's server RSS over many calls and with idle sessions (rpc-soak.ts);
 * - the urgent lane under a CPU-bound flood (rpc-urgent.ts).
 *
 * Every configuration runs unpinned and, when `taskset` exists, with all of
 * its processes pinned to CPU 0 (docs/BENCHMARKS.md, "Method": pinned,
 * software cost shows; across CPUs each round trip also pays a wake-up of
 * the other CPU). The contenders take turns, in rounds (three in a full
 * run), and each figure is the median over the rounds: on a shared machine
 * one round of one contender can land on a burst of other load, and a
 * ratio of single rounds moved more between runs than a change of the code
 * did.
 * `--quick` runs every part briefly, once, unpinned only.
 *
 *   node --import tsx bench/rpc.ts [--quick] [--contenders mqrpc,socket] [--no-urgent] [--no-rss]
 * @module
 */
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { availableContenders, type Contender } from './contenders.js'
import type { BenchReport, ClientResult, ContenderRun, Throughput } from './results.js'
import { type Placement, placements, Run } from './rpc-run.js'
import { rssRun } from './rpc-soak.js'
import { urgentRuns } from './rpc-urgent.js'
import { fmt, medianOfRounds, printTable, takeTurns } from './summary.js'

/** Client processes of the "several clients at once" figure. */
export const CLIENT_PROCESSES = 4
const SIZES = [4096, 65536, 1024 * 1024]

interface Settings {
  /** Rounds of every contender in turn; each figure is the median over them. */
  readonly rounds: number
  readonly calls: number
  /**
   * Warm-up calls one at a time before those timed, or as many as fit in
   * `warmupMaxSeconds`: the JIT goes on compiling a contender's hot path
   * for some 20,000 small calls, and a window inside that measures the
   * compiler (bench/analysis.md, the twelfth session).
   */
  readonly warmup: number
  readonly warmupMaxSeconds: number
  readonly seconds: number
  readonly warmupSeconds: number
  readonly inFlight: readonly number[]
  readonly sizeCalls: Readonly<Record<number, number>>
  readonly soakCalls: number
  readonly idleSessions: number
}

const FULL: Settings = {
  rounds: 3,
  calls: 5000,
  warmup: 30_000,
  warmupMaxSeconds: 3,
  seconds: 2,
  warmupSeconds: 0.5,
  inFlight: [32, 64],
  sizeCalls: { 4096: 2000, 65536: 400, [1024 * 1024]: 30 },
  soakCalls: 1_000_000,
  idleSessions: 100,
}

const QUICK: Settings = {
  rounds: 1,
  calls: 300,
  warmup: 100,
  warmupMaxSeconds: 0.2,
  seconds: 0.4,
  warmupSeconds: 0.1,
  inFlight: [32, 64],
  sizeCalls: { 4096: 30, 65536: 10, [1024 * 1024]: 2 },
  soakCalls: 5000,
  idleSessions: 10,
}

async function contenderRun(c: Contender, placement: Placement, settings: Settings): Promise<ContenderRun> {
  const [cpus, wrapper] = placement
  const run = new Run(c)
  try {
    const server = run.spawn('server', { contender: c.id, address: run.address }, wrapper)
    await server.waitFor('ready')
    const target = { contender: c.id, address: run.address }
    const client = run.spawn(
      'client',
      {
        ...target,
        calls: settings.calls,
        warmup: settings.warmup,
        warmupMaxSeconds: settings.warmupMaxSeconds,
        seconds: settings.seconds,
        warmupSeconds: settings.warmupSeconds,
        inFlight: settings.inFlight,
        sizes: SIZES.map((bytes) => ({ bytes, calls: settings.sizeCalls[bytes] ?? 10 })),
      },
      wrapper,
    )
    const result = await client.result<ClientResult>()
    const swarm = Array.from({ length: CLIENT_PROCESSES }, () =>
      run.spawn('swarm', { ...target, inFlight: 32, warmupSeconds: settings.warmupSeconds, seconds: settings.seconds }, wrapper),
    )
    await Promise.all(swarm.map((p) => p.waitFor('ready')))
    for (const p of swarm) p.tell('go')
    const each = await Promise.all(swarm.map((p) => p.result<Throughput>()))
    const multi = each.reduce((sum, t) => sum + t.calls_per_s, 0)
    console.log(`    ${CLIENT_PROCESSES} client processes: ${fmt(multi, 0)} calls/s`)
    return { contender: c.id, label: c.label, cpus, ...result, multi_calls_per_s: multi }
  } finally {
    await run.close()
  }
}

function printRuns(runs: readonly ContenderRun[], settings: Settings): void {
  const [a, b] = settings.inFlight
  const rows: string[][] = []
  for (const r of runs) {
    const t = (n: number | undefined) => r.throughput.find((x) => x.inFlight === n)
    rows.push([
      r.label,
      r.cpus,
      fmt(r.latency.median_us),
      fmt(r.latency.p99_us),
      fmt(t(a)?.calls_per_s, 0),
      fmt(t(b)?.calls_per_s, 0),
      fmt(r.multi_calls_per_s, 0),
      `${fmt(r.latency.client_us)} / ${fmt(r.latency.server_us)}`,
      `${fmt(t(a)?.client_us)} / ${fmt(t(a)?.server_us)}`,
    ])
  }
  printTable(
    [
      'implementation',
      'CPUs',
      'median us',
      'p99 us',
      `calls/s ${a} in flight`,
      `calls/s ${b} in flight`,
      `calls/s ${CLIENT_PROCESSES} clients`,
      'CPU us/call 1 at a time (client / server)',
      `CPU us/call ${a} in flight`,
    ],
    rows,
    2,
  )
  console.log('')
  const sizeRows: string[][] = []
  for (const r of runs) {
    for (const s of r.sizes) sizeRows.push([r.label, r.cpus, String(s.bytes), fmt(s.median_us), fmt(s.p99_us), fmt(s.mb_per_s)])
  }
  printTable(['implementation', 'CPUs', 'body bytes', 'median us', 'p99 us', 'MB/s each way'], sizeRows, 2)
}

/** Runs the RPC benchmarks, prints their tables, and returns their figures for docs/BENCHMARKS.md. */
export default async function rpc(argv: readonly string[] = []): Promise<Partial<BenchReport>> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      contenders: { type: 'string' },
      'no-urgent': { type: 'boolean', default: false },
      'no-rss': { type: 'boolean', default: false },
    },
    allowPositionals: false,
  })
  const settings = values.quick ? QUICK : FULL
  Run.cleanUpOnSignals()
  const where = placements(values.quick)
  const { ready, skipped } = await availableContenders()
  for (const note of skipped) console.log(note)
  const wanted = values.contenders?.split(',')
  const contenders = wanted === undefined ? ready : ready.filter((c) => wanted.includes(c.id))
  console.log(
    `rpc echo: ~64-byte request, ${settings.calls} calls one at a time after ${settings.warmup} warm-up (at most ${settings.warmupMaxSeconds} s), then ` +
      `${settings.inFlight.join(' and ')} in flight for ${settings.seconds} s each, then ${CLIENT_PROCESSES} client ` +
      `processes at once; bodies of ${SIZES.join(', ')} bytes one at a time; server and clients are separate processes; ` +
      `${settings.rounds} round(s) of every contender in turn, each figure the median over them`,
  )
  const runs: ContenderRun[] = []
  let step = 0
  const steps = where.length * contenders.length * settings.rounds
  for (const placement of where) {
    const rounds = await takeTurns(contenders, settings.rounds, (c, round) => {
      step++
      console.log(`  [${step}/${steps}] ${c.label}, ${placement[0]}, round ${round + 1}`)
      return contenderRun(c, placement, settings)
    })
    for (const mine of rounds) runs.push({ ...medianOfRounds(mine), rounds: mine.length })
  }
  console.log('')
  printRuns(runs, settings)

  const report: Partial<BenchReport> = { rpc: runs, skipped }
  if (!values['no-rss'] && contenders.some((c) => c.id === 'mqrpc')) {
    console.log(
      `\nserver RSS: mqrpc over ${settings.soakCalls} calls (64 in flight), then with ${settings.idleSessions} idle sessions`,
    )
    try {
      report.rss = await rssRun(settings.soakCalls, settings.idleSessions, values.quick ? 0.5 : 3)
    } catch (error) {
      // One part failing must not lose the others' figures: report it and go on.
      console.log(`server RSS not measured: ${(error as Error).message.split('\n')[0]}`)
      process.exitCode = 1
    }
  }
  if (!values['no-urgent'] && contenders.some((c) => c.id === 'mqrpc')) {
    report.urgent = await urgentRuns(where, values.quick)
  }
  return report
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  rpc(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
