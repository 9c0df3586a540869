/**
 * Writes docs/BENCHMARKS.md and docs/benchmarks.svg from one run: the
 * machine and versions, each goal of issue 11 met or not with its ratio,
 * the chart, every table, and the analysis of where the time goes
 * (bench/analysis.md, written from the profiles, included as it is).
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_STREAM_WINDOW, DEFAULT_STREAM_WINDOW_BYTES } from '../src/rpc/defaults.js'
import { replyStreamWindow } from '../src/rpc/stream-credit.js'
import { judge } from './goals.js'
import type { BenchReport, ContenderRun } from './results.js'
import { fmt } from './summary.js'
import { chartSvg } from './svg-chart.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(join(root, 'package.json'))

function versionOf(name: string): string {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version
  } catch {
    return 'not installed'
  }
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

/** Instruction counts per contender, with each one's ratio to the last row (the socket baseline). */
function countTable(rows: readonly { label: string; server_instructions: number }[], what: string): string {
  const baseline = rows.at(-1)?.server_instructions ?? Number.NaN
  return table(
    ['implementation', what, 'ratio'],
    rows.map((r) => [r.label, fmt(r.server_instructions, 0), `${fmt(r.server_instructions / baseline, 2)}x`]),
  )
}

function rpcTables(runs: readonly ContenderRun[]): string {
  const t = (r: ContenderRun, n: number) => r.throughput.find((x) => x.inFlight === n)
  const main = table(
    [
      'implementation',
      'CPUs',
      'p50 us',
      'p99 us',
      'calls/s 32 in flight',
      'calls/s 64 in flight',
      'calls/s 4 clients',
      'CPU us/call 1 at a time (client / server)',
      'CPU us/call 32 in flight (client / server)',
    ],
    runs.map((r) => [
      r.label,
      r.cpus,
      fmt(r.latency.median_us),
      fmt(r.latency.p99_us),
      fmt(t(r, 32)?.calls_per_s, 0),
      fmt(t(r, 64)?.calls_per_s, 0),
      fmt(r.multi_calls_per_s, 0),
      `${fmt(r.latency.client_us)} / ${fmt(r.latency.server_us)}`,
      `${fmt(t(r, 32)?.client_us)} / ${fmt(t(r, 32)?.server_us)}`,
    ]),
  )
  const sizes = table(
    ['implementation', 'CPUs', 'body', 'p50 us', 'p99 us', 'MB/s each way'],
    runs.flatMap((r) =>
      r.sizes.map((s) => [
        r.label,
        r.cpus,
        s.bytes >= 1 << 20 ? '1 MiB' : `${s.bytes / 1024} KiB`,
        fmt(s.median_us),
        fmt(s.p99_us),
        fmt(s.mb_per_s),
      ]),
    ),
  )
  return `### Echo, 64-byte body\n\n${main}\n\n### Body sizes, one call at a time\n\n${sizes}\n`
}

/** When the run ended and the load average then (defaults: now). */
export type RunInfo = Readonly<{ quick: boolean; at?: string; load?: readonly number[] }>

function machine(info: RunInfo): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  const at = (info.at ?? new Date().toISOString()).slice(0, 16).replace('T', ' ')
  const load = (info.load ?? loadavg()).map((n) => n.toFixed(2)).join(' ')
  const kind = info.quick
    ? '**Quick run** (`--quick`: short phases, unpinned only): figures are indicative only.'
    : 'Full run (`npm run bench`).'
  return [
    `- ${kind} Ended ${at} UTC`,
    `- ${cpus().length} CPUs (${cpu}), ${fmt(totalmem() / 2 ** 30)} GiB, Linux ${release()}; load average at the end ${load} (the machine was shared: other work shows in these figures)`,
    `- Node ${process.version}; mqrpc ${versionOf('mqrpc')}; @msgpack/msgpack ${versionOf('@msgpack/msgpack')}; zeromq ${versionOf('zeromq')}; @grpc/grpc-js ${versionOf('@grpc/grpc-js')}`,
  ].join('\n')
}

/** How many rounds the RPC and ping-pong figures are medians of (reports from before rounds have none). */
function roundsNote(report: BenchReport): string {
  const rpc = report.rpc?.[0]?.rounds
  const pingpong = report.pingpong?.[0]?.runs
  if (rpc === undefined && pingpong === undefined) return ''
  return (
    `Each RPC figure is the median over ${rpc ?? 1} round(s), each ping-pong figure over ${pingpong ?? 1} run(s), ` +
    'in which the contenders took turns: a burst of other load on a shared machine moves one round, not the median. '
  )
}

/** Writes the two files; returns their paths relative to the repository. */
export function writeReport(report: BenchReport, options: RunInfo): string[] {
  const goals = judge(report)
  const mark = (met: boolean | undefined) => (met === undefined ? 'not measured' : met ? '**met**' : '**not met**')
  const parts: string[] = [
    '# Benchmarks',
    '',
    '<!-- Written by `npm run bench` (bench/report.ts); edit bench/analysis.md or the generator, not this file. -->',
    '',
    machine(options),
    '',
    `Method: every side of every measurement is its own process, as in real use. "any" lets the kernel place them; "pinned to CPU 0" runs all of them on one CPU, where software cost shows (across CPUs every round trip also pays a wake-up of the other CPU). ${roundsNote(report)}Compare rows of one run, not runs of different days. CPU per call is \`process.cpuUsage()\` in each process over the phase, divided by its calls. See bench/README.md.`,
    '',
    '## Goals (issue 11)',
    '',
    table(
      ['goal', 'verdict', 'figures (ratios within this run)'],
      goals.map((g) => [g.goal, mark(g.met), g.figures]),
    ),
    '',
    '![Latency and throughput per contender](benchmarks.svg)',
    '',
  ]
  if ((report.skipped ?? []).length > 0) parts.push(...(report.skipped ?? []).map((s) => `- ${s}`), '')
  if (report.rpc !== undefined) parts.push('## RPC', '', rpcTables(report.rpc))
  if (report.pingpong !== undefined) {
    parts.push(
      '## The queue itself: ping-pong of a 64-byte message',
      '',
      table(
        ['implementation', 'CPUs', 'round trips/s', 'p50 us', 'p99 us'],
        report.pingpong.map((r) => [r.impl, r.cpus, fmt(r.rounds / r.seconds, 0), fmt(r.median_us, 2), fmt(r.p99_us, 2)]),
      ),
      '',
    )
  }
  if (report.instructions !== undefined && report.instructions.length > 0) {
    const [first] = report.instructions
    parts.push(
      '## Instructions per call (server, callgrind)',
      '',
      countTable(report.instructions, 'instructions per echo call'),
      '',
      `The server's user-space instructions per 64-byte echo call, ${first?.calls ?? 0} calls with 32 in flight after a warm-up, counted by \`valgrind --tool=callgrind\` (bench/instructions.ts); the ratio is to the last row, the socket baseline. Unlike times, these repeat within about 5% from run to run on a shared machine. System calls and the kernel's work are not counted.`,
      '',
    )
  }
  const streamCounts = report.streamInstructions
  if (streamCounts !== undefined && streamCounts.length > 0) {
    parts.push(
      '## Instructions per stream element (server, callgrind)',
      '',
      countTable(streamCounts, 'instructions per 64-byte element'),
      '',
      `The stream server's instructions per 64-byte element, every thread of the process, over one stream of ${streamCounts[0]?.elements ?? 0} elements: the third of its client, so that the JIT's re-optimizing after the warm-up (the first stream) is not counted. Counted as above; the ratio is to the last row, the socket stream.`,
      '',
    )
  }
  if (report.rss !== undefined) {
    const rss = report.rss
    parts.push(
      '## Server memory (mqrpc)',
      '',
      table(
        ['calls made', 'server RSS MiB'],
        rss.samples.map(([calls, bytes]) => [calls.toLocaleString('en'), fmt(bytes / 2 ** 20)]),
      ),
      '',
      `Then ${rss.idleSessions} idle sessions: ${fmt(rss.rssBeforeIdle / 2 ** 20)} MiB before, ${fmt(rss.rssWithIdle / 2 ** 20)} MiB with them open, ${fmt(rss.rssAfterIdleHeartbeats / 2 ** 20)} MiB after they exchanged heartbeats for a while.`,
      '',
    )
  }
  if (report.urgent !== undefined) {
    parts.push(
      '## Urgent lane under a CPU-bound flood',
      '',
      table(
        [
          'CPUs',
          'server',
          'idle urgent p50',
          'idle bulk p50',
          'loaded urgent p50',
          'loaded urgent p99',
          "flood's bulk p50",
          "flood's bulk p99",
          'polite bulk probe p50',
          'burn calls/s',
        ],
        report.urgent.map((r) => [
          r.cpus,
          r.setting,
          fmt(r.idle.urgent.median_us),
          fmt(r.idle.bulk.median_us),
          fmt(r.loaded.urgent.median_us),
          fmt(r.loaded.urgent.p99_us),
          fmt(r.flood?.median_us),
          fmt(r.flood?.p99_us),
          fmt(r.loaded.bulk.median_us),
          fmt(r.burnPerSecond, 0),
        ]),
      ),
      '',
      "One probe process alternates the same echo through the urgent and the bulk lane, one call at a time, idle and then while load processes keep the server saturated with CPU-bound `burn` calls. The goal's \"bulk call\" is one of the flood's: the flood's bulk p50 and p99 are the load processes' own calls while the probe measured (the median over the processes). The probe's bulk calls are shown too, but the server serves sessions fairly (a session with nothing waiting goes before those with a backlog), so the polite probe's bulk calls skip the flood's backlog and measure about what its urgent ones do; the ratio of the goal is against the flood's (bench/README.md, \"Urgent lane\").",
      '',
    )
  }
  if (report.streams !== undefined) {
    parts.push(
      '## Server streams',
      '',
      table(
        [
          'implementation',
          'CPUs',
          'element',
          'elements per run',
          'elements/s (median)',
          'runs min - max',
          'CPU us/element (client / server)',
        ],
        report.streams.map((r) => [
          r.label,
          r.cpus,
          r.bytes >= 1024 ? `${r.bytes / 1024} KiB` : `${r.bytes} B`,
          String(r.elements),
          fmt(r.elements_per_s, 0),
          `${fmt(Math.min(...r.runs), 0)} - ${fmt(Math.max(...r.runs), 0)}`,
          `${fmt(r.client_us, 2)} / ${fmt(r.server_us, 2)}`,
        ]),
      ),
      '',
      `Each figure is the median of ${report.streams[0]?.runs.length ?? 0} streams; the implementations' runs alternate. mqrpc: a \`stream: 'server'\` method with default options (every element validated on both sides, the default window: at most ${DEFAULT_STREAM_WINDOW} elements and about ${DEFAULT_STREAM_WINDOW_BYTES / 1024} KiB of them), read with \`for await\`; the client's reply queue has the default 1 KiB messages, so a 4 KiB element takes five messages, and its ten slots hold two elements. The \`replyMessageSize 8192\` rows are the same stream read by a client that opened its reply queue with 8 KiB messages, as one expecting large replies should (it costs eight times the queue memory, of the user's RLIMIT_MSGQUEUE); such a client's default window is at most ${replyStreamWindow(8192)} elements. Baseline: length-prefixed msgpack frames over a Unix socket, written with back-pressure, decoded one by one (bench/README.md, "streams").`,
      '',
    )
  }
  for (const extra of report.extra ?? []) parts.push(`## ${extra.title}`, '', extra.markdown, '')
  const analysis = join(root, 'bench/analysis.md')
  if (existsSync(analysis)) parts.push(readFileSync(analysis, 'utf8'))
  const unmet = goals.filter((g) => g.met === false)
  if (unmet.length > 0) {
    parts.push(
      '',
      `Goals not met in this run: ${unmet.map((g) => g.id).join(', ')}; the analysis above says why and what would close each.`,
      '',
    )
  }
  const svgFigures = options.quick ? 'quick run' : 'full run'
  writeFileSync(
    join(root, 'docs/BENCHMARKS.md'),
    `${parts
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd()}\n`,
  )
  writeFileSync(
    join(root, 'docs/benchmarks.svg'),
    chartSvg(
      report.rpc ?? [],
      `${svgFigures}, ${(options.at ?? new Date().toISOString()).slice(0, 10)}, ${cpus().length} CPUs, Node ${process.version}; every side its own process`,
    ),
  )
  return ['docs/BENCHMARKS.md', 'docs/benchmarks.svg']
}
