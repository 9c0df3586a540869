/**
 * RPC round trips, side by side in one run, each side its own process
 * (bench/rpc-peer.ts):
 *
 * - mqrpc typed calls of a ~64-byte echo, against the same echo hand-rolled
 *   as msgpack frames over a Unix domain socket (bench/msgpack-socket.ts):
 *   median and p99 of one call at a time, then calls/s with many in flight;
 * - the urgent lane: echo latency through the urgent lane and the bulk lane,
 *   idle and while 3 client processes keep the server busy with CPU-bound
 *   calls.
 *
 * Every configuration runs unpinned and, when `taskset` exists, with all of
 * its processes pinned to CPU 0 (docs/BENCHMARKS.md, "Method": pinned, software cost
 * shows; across CPUs each round trip also pays a wake-up of the other CPU).
 *
 *   node --import tsx bench/rpc.ts [--calls N] [--warmup N] [--seconds S]
 *     [--in-flight N] [--no-urgent]
 * @module
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { MessageQueue } from 'mqrpc'
import { Proc } from './proc.js'
import type { Summary } from './rpc-peer.js'

interface EchoResult extends Summary {
  readonly calls_per_s: number
}

interface ProbeResult {
  readonly urgent: Summary
  readonly bulk: Summary
}

interface LoadResult {
  readonly calls: number
  readonly seconds: number
}

type Placement = readonly [label: string, wrapper: readonly string[]]

const LOAD_CLIENTS = 3
const LOAD_IN_FLIGHT = 16
const BURN_MS = 1

function placements(): Placement[] {
  const list: Placement[] = [['any', []]]
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' })
    list.push(['pinned to CPU 0', ['taskset', '-c', '0']])
  } catch {
    console.log('(taskset not found: pinned runs skipped)')
  }
  return list
}

let serial = 0

/** The processes and names of the runs in progress, for clean-up on Ctrl-C. */
const active = new Set<{ readonly procs: Proc[]; readonly queue: string; readonly socket: string }>()

/** On SIGINT or SIGTERM, stop the runs in progress and remove what they made before exiting. */
function cleanUpOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.log(`\n${signal}: stopping the benchmark processes and removing their queues`)
      void Promise.all([...active].map((run) => cleanUp(run.procs, run.queue, run.socket))).finally(() => process.exit(130))
    })
  }
}

/** Fresh names for one configuration's queue and socket file. */
function addresses(): { queue: string; socket: string } {
  serial += 1
  const base = `mqrpc-bench-${process.pid}-${serial}`
  return { queue: `/${base}`, socket: join(tmpdir(), `${base}.sock`) }
}

/**
 * Stops every process (SIGTERM, then SIGKILL), then removes what a killed
 * one may have left: the server's queues, the socket file, and reply queues
 * named for our children's pids (visible where /dev/mqueue is mounted).
 */
async function cleanUp(procs: readonly Proc[], queue: string, socket: string): Promise<void> {
  await Promise.all(procs.map((proc) => proc.stop()))
  for (const name of [queue, `${queue}.urgent`]) {
    try {
      MessageQueue.unlink(name)
    } catch {
      // Removed by the server's close(), as it should be.
    }
  }
  rmSync(socket, { force: true })
  if (!existsSync('/dev/mqueue')) return
  const pids = new Set(procs.map((proc) => proc.child.pid))
  for (const file of readdirSync('/dev/mqueue')) {
    const pid = /^mqrpc\.(?:reply|probe)\.(\d+)\./.exec(file)?.[1]
    if (pid !== undefined && pids.has(Number(pid))) rmSync(join('/dev/mqueue', file), { force: true })
  }
}

type EchoOptions = Readonly<{ calls: number; warmup: number; seconds: number; inFlight: number }>

async function echoRun(impl: 'mqrpc' | 'socket', wrapper: readonly string[], options: EchoOptions): Promise<EchoResult> {
  const { queue, socket } = addresses()
  const procs: Proc[] = []
  const run = { procs, queue, socket }
  active.add(run)
  try {
    const server = new Proc('server', impl === 'mqrpc' ? { impl, queue } : { impl, path: socket }, wrapper)
    procs.push(server)
    await server.waitFor('ready')
    const config = { impl, address: impl === 'mqrpc' ? queue : socket, warmupSeconds: 0.5, ...options }
    const client = new Proc('client', config, wrapper)
    procs.push(client)
    return await client.result<EchoResult>()
  } finally {
    await cleanUp(procs, queue, socket)
    active.delete(run)
  }
}

/** Server settings the urgent lane is measured under. */
const URGENT_SERVERS: readonly (readonly [label: string, concurrency: number | undefined])[] = [
  ['defaults (concurrency 64)', undefined],
  ['concurrency 9 (1 bulk)', 9],
]

async function urgentRun(
  wrapper: readonly string[],
  concurrency: number | undefined,
): Promise<{ idle: ProbeResult; loaded: ProbeResult; burnPerSecond: number }> {
  const { queue, socket } = addresses()
  const procs: Proc[] = []
  const run = { procs, queue, socket }
  active.add(run)
  try {
    const server = new Proc('server', { impl: 'mqrpc', queue, ...(concurrency === undefined ? {} : { concurrency }) }, wrapper)
    procs.push(server)
    await server.waitFor('ready')
    const idleProbe = new Proc('probe', { queue, warmup: 200, seconds: 2, maxCalls: 2000 }, wrapper)
    procs.push(idleProbe)
    const idle = await idleProbe.result<ProbeResult>()

    const loads = Array.from(
      { length: LOAD_CLIENTS },
      () => new Proc('load', { queue, inFlight: LOAD_IN_FLIGHT, burnMs: BURN_MS }, wrapper),
    )
    procs.push(...loads)
    await Promise.all(loads.map((load) => load.waitFor('loading')))
    await new Promise((resolve) => setTimeout(resolve, 300)) // let the backlog build
    const loadedProbe = new Proc('probe', { queue, warmup: 2, seconds: 4, maxCalls: 2000 }, wrapper)
    procs.push(loadedProbe)
    const loaded = await loadedProbe.result<ProbeResult>()
    const done = await Promise.all(loads.map((load) => load.result<LoadResult>(30_000, true)))
    const burnPerSecond = done.reduce((sum, d) => sum + d.calls / d.seconds, 0)
    return { idle, loaded, burnPerSecond }
  } finally {
    await cleanUp(procs, queue, socket)
    active.delete(run)
  }
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-')

function printTable(header: readonly string[], rows: readonly (readonly string[])[], leftColumns: number): void {
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

/** Runs the RPC benchmarks and prints their tables. */
export default async function rpc(argv: readonly string[] = []): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      calls: { type: 'string', default: '5000' },
      warmup: { type: 'string', default: '1000' },
      seconds: { type: 'string', default: '3' },
      'in-flight': { type: 'string', default: '32' },
      'no-urgent': { type: 'boolean', default: false },
    },
    allowPositionals: false,
  })
  const options: EchoOptions = {
    calls: Number(values.calls),
    warmup: Number(values.warmup),
    seconds: Number(values.seconds),
    inFlight: Number(values['in-flight']),
  }
  cleanUpOnSignals()
  const where = placements()
  const loadAverage = loadavg().map((n) => n.toFixed(2))
  console.log(
    `machine: ${availableParallelism()} CPUs, load average ${loadAverage.join(' ')} (other work on the machine shows in these figures)`,
  )

  console.log(
    `rpc echo: ~64-byte request, ${options.calls} calls one at a time after ${options.warmup} warm-up, ` +
      `then ${options.inFlight} in flight for ${options.seconds} s; server and client are separate processes`,
  )
  const rows: string[][] = []
  const ratios: string[] = []
  for (const [cpus, wrapper] of where) {
    const mq = await echoRun('mqrpc', wrapper, options)
    const base = await echoRun('socket', wrapper, options)
    rows.push(['mqrpc typed call', cpus, fmt(mq.median_us), fmt(mq.p99_us), fmt(mq.calls_per_s, 0)])
    rows.push(['msgpack over Unix socket (baseline)', cpus, fmt(base.median_us), fmt(base.p99_us), fmt(base.calls_per_s, 0)])
    rows.push([
      'mqrpc / baseline',
      cpus,
      `${fmt(mq.median_us / base.median_us, 2)}x`,
      `${fmt(mq.p99_us / base.p99_us, 2)}x`,
      `${fmt(mq.calls_per_s / base.calls_per_s, 2)}x`,
    ])
    ratios.push(
      `${cpus}: mqrpc round trip ${fmt(mq.median_us / base.median_us, 2)}x the baseline's; ` +
        `mqrpc throughput ${fmt((100 * mq.calls_per_s) / base.calls_per_s, 0)}% of the baseline's`,
    )
  }
  printTable(['implementation', 'CPUs', 'median us', 'p99 us', `calls/s (${options.inFlight} in flight)`], rows, 2)
  for (const ratio of ratios) console.log(ratio)

  if (values['no-urgent']) return
  console.log(
    `\nurgent lane: the same echo through the urgent and the bulk lane, alternating, idle and while ` +
      `${LOAD_CLIENTS} client processes keep ${LOAD_IN_FLIGHT} burn(${BURN_MS} ms) calls each in flight`,
  )
  const urgentRows: string[][] = []
  const notes: string[] = []
  for (const [cpus, wrapper] of where) {
    for (const [setting, concurrency] of URGENT_SERVERS) {
      const { idle, loaded, burnPerSecond } = await urgentRun(wrapper, concurrency)
      for (const [load, result] of [
        ['idle', idle],
        ['loaded', loaded],
      ] as const) {
        for (const lane of ['urgent', 'bulk'] as const) {
          const s = result[lane]
          urgentRows.push([cpus, setting, load, lane, fmt(s.median_us), fmt(s.p99_us), String(s.n)])
        }
      }
      notes.push(
        `${cpus}, ${setting}: loaded urgent median ${fmt(loaded.urgent.median_us / idle.urgent.median_us, 1)}x idle urgent; ` +
          `loaded bulk median ${fmt(loaded.bulk.median_us / loaded.urgent.median_us, 1)}x loaded urgent; ` +
          `server ran ${fmt(burnPerSecond, 0)} burn calls/s`,
      )
    }
  }
  printTable(['CPUs', 'server', 'load', 'lane', 'median us', 'p99 us', 'calls'], urgentRows, 4)
  for (const note of notes) console.log(note)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  rpc(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
