/**
 * Server streams (issue 11, "Streams"): elements per second of an mqrpc
 * server stream (`count`, default options: every element validated on both
 * sides, the default window), consumed with `for await`, against a stream
 * of the same elements hand-rolled over a Unix domain socket
 * (length-prefixed @msgpack/msgpack frames written with back-pressure,
 * decoded one by one). Elements of about 64 bytes and 4 KiB.
 *
 * Each side is its own process (bench/streams-peer.ts, bundled). Each client
 * sizes its runs from its warm-up (about `seconds` each); the runs of the
 * two contenders alternate, so a burst of other load on the machine hits
 * both, and each figure is the median of its runs. Unpinned, and pinned to
 * CPU 0 when `taskset` exists (not with `--quick`).
 *
 *   node --import tsx bench/streams.ts [--quick] [--runs N] [--seconds S] [--no-cork] [--reply-shape SLOTSxSIZE ...]
 *
 * `--no-cork` makes the socket server write each frame in its own syscall
 * (a control: the baseline otherwise corks a tick's frames, as bench/msgpack-socket.ts does).
 * `--reply-shape 4x8192` adds a row: an mqrpc client whose reply queue has
 * 4 slots of 8192 bytes (`replyMaxMessages`, `replyMessageSize`), to weigh
 * a queue's shape against its RLIMIT_MSGQUEUE cost; it may be repeated, as
 * budget allows (these clients stream from the first row's server).
 * Registered in bench/run.ts as `streams`.
 * @module
 */
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { contender } from './contenders.js'
import type { Proc } from './proc.js'
import { type BenchReport, type StreamRow, socketStreamRow } from './results.js'
import { placements, Run } from './rpc-run.js'
import type { ClientRuns, StreamRun } from './streams-peer.js'
import { fmt, median, printTable, takeTurns } from './summary.js'

/** Element sizes, bytes as msgpack (about). */
const SIZES = [64, 4096]

interface Settings {
  readonly runs: number
  readonly seconds: number
  readonly warmup: number
  readonly minElements: number
  readonly maxElements: number
}

const FULL: Settings = { runs: 5, seconds: 0.6, warmup: 4000, minElements: 2000, maxElements: 2_000_000 }
const QUICK: Settings = { runs: 3, seconds: 0.2, warmup: 1000, minElements: 500, maxElements: 500_000 }

interface Variant {
  readonly id: string
  readonly contender: 'mqrpc' | 'socket'
  readonly label: string
  readonly replyMaxMessages?: number
  readonly replyMessageSize?: number
  /** Streams from the first row's server instead of one of its own (a server's two queues cost 166 KB of the budget). */
  readonly sharesServer?: boolean
}

/**
 * The rows: the mqrpc stream as a client opens it by default (reply queue
 * messages of 1 KiB, so a 4 KiB element takes five messages and the ten
 * slots hold two elements), the same with `replyMessageSize: 8192` (what a
 * client expecting large replies sets), and the socket baseline.
 */
const VARIANTS: readonly Variant[] = [
  { id: 'mqrpc', contender: 'mqrpc', label: 'mqrpc server stream' },
  { id: 'mqrpc-8k', contender: 'mqrpc', label: 'mqrpc server stream, replyMessageSize 8192', replyMessageSize: 8192 },
  { id: 'socket', contender: 'socket', label: 'msgpack over Unix socket (baseline)' },
]

/** A `--reply-shape` row: `4x8192` is a reply queue of 4 slots of 8192 bytes. */
function shapeVariant(shape: string): Variant {
  const match = /^(\d+)x(\d+)$/.exec(shape)
  if (match === null) throw new Error(`--reply-shape ${shape}: expected SLOTSxSIZE, e.g. 4x8192`)
  const [replyMaxMessages, replyMessageSize] = [Number(match[1]), Number(match[2])]
  return {
    id: `mqrpc-${shape}`,
    contender: 'mqrpc',
    label: `mqrpc server stream, reply queue ${replyMaxMessages} x ${replyMessageSize}`,
    replyMaxMessages,
    replyMessageSize,
    sharesServer: true,
  }
}

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')

/** Every variant on one placement: servers, clients, then the runs, alternating. */
async function placementRows(
  variants: readonly Variant[],
  cpus: string,
  wrapper: readonly string[],
  settings: Settings,
  cork: boolean,
): Promise<StreamRow[]> {
  const runs: Run[] = []
  for (const variant of variants) runs.push(variant.sharesServer ? (runs[0] as Run) : new Run(contender(variant.contender)))
  try {
    const servers = variants.flatMap((variant, i) => {
      if (variant.sharesServer) return []
      const run = runs[i] as Run
      const role = variant.contender === 'mqrpc' ? 'mq-server' : 'socket-server'
      return [run.spawn(role, { address: run.address, cork }, wrapper, 'streams-peer')]
    })
    await Promise.all(servers.map((s) => s.waitFor('ready')))
    const steps = SIZES.flatMap((bytes) => Array.from({ length: settings.runs }, () => bytes))
    const clients: Proc[] = []
    // One warm-up at a time: each sizes its runs from its own rate.
    for (const [i, variant] of variants.entries()) {
      const run = runs[i] as Run
      const { contender, replyMaxMessages, replyMessageSize } = variant
      const config = { contender, replyMaxMessages, replyMessageSize, address: run.address, sizes: SIZES, steps, ...settings }
      const client = run.spawn('client', config, wrapper, 'streams-peer')
      await client.waitFor('ready', 120_000)
      clients.push(client)
    }
    await takeTurns(clients, steps.length, (client, k) => {
      client.tell('go')
      return client.waitFor(`done ${k}`, 120_000)
    })
    const results = await Promise.all(clients.map((c) => c.result<ClientRuns>()))
    return variants.flatMap((variant, i) =>
      SIZES.map((bytes) => {
        const mine = (results[i] as ClientRuns).runs.filter((r) => r.bytes === bytes)
        const of = (pick: (r: StreamRun) => number) => median(mine.map(pick))
        return {
          contender: variant.id,
          label: variant.label,
          cpus,
          bytes,
          elements: mine[0]?.elements ?? 0,
          runs: mine.map((r) => r.elements_per_s),
          elements_per_s: of((r) => r.elements_per_s),
          client_us: of((r) => r.client_us),
          server_us: of((r) => r.server_us),
        }
      }),
    )
  } finally {
    await Promise.all([...new Set(runs)].map((run) => run.close()))
  }
}

/** Runs the stream benchmark, prints its table, and returns its rows for docs/BENCHMARKS.md. */
export default async function streams(argv: readonly string[] = []): Promise<Partial<BenchReport>> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      seconds: { type: 'string' },
      'no-cork': { type: 'boolean', default: false },
      'reply-shape': { type: 'string', multiple: true, default: [] },
    },
    allowPositionals: false,
  })
  const base = values.quick ? QUICK : FULL
  const settings: Settings = {
    ...base,
    runs: values.runs === undefined ? base.runs : Number(values.runs),
    seconds: values.seconds === undefined ? base.seconds : Number(values.seconds),
  }
  const variants = [...VARIANTS, ...values['reply-shape'].map(shapeVariant)]
  Run.cleanUpOnSignals()
  console.log(`load average ${load()}`)
  console.log(
    `server streams: elements of ~${SIZES.join(' and ~')} bytes, ${settings.runs} runs of ~${settings.seconds} s per size ` +
      'and implementation, alternating; server and client are separate processes',
  )
  const rows: StreamRow[] = []
  for (const [cpus, wrapper] of placements(values.quick)) {
    console.log(`  ${cpus}`)
    rows.push(...(await placementRows(variants, cpus, wrapper, settings, !values['no-cork'])))
  }
  console.log('')
  printTable(
    [
      'implementation',
      'CPUs',
      'element bytes',
      'elements/run',
      'elements/s (median)',
      'runs min-max',
      'CPU us/element (client / server)',
      'vs socket',
    ],
    rows.map((r) => [
      r.label,
      r.cpus,
      String(r.bytes),
      String(r.elements),
      fmt(r.elements_per_s, 0),
      `${fmt(Math.min(...r.runs), 0)}-${fmt(Math.max(...r.runs), 0)}`,
      `${fmt(r.client_us, 2)} / ${fmt(r.server_us, 2)}`,
      `${fmt(r.elements_per_s / (socketStreamRow(rows, r)?.elements_per_s ?? Number.NaN), 2)}x`,
    ]),
    2,
  )
  console.log(`load average ${load()}`)
  return { streams: rows }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  streams(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
