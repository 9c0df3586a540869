/**
 * Instructions per call on the server, counted by callgrind: a figure that
 * stays put on a shared, noisy machine where times do not, for comparing
 * two versions of the hot path (and mqrpc with the socket baseline).
 *
 * The server runs under `valgrind --tool=callgrind --instr-atstart=no`, so
 * that start-up and the first calls (module loading, most of the JIT's
 * compiling) are not counted. One client makes `warmup` echo calls with 32
 * in flight; then `callgrind_control -i on` starts the count, the same
 * client makes `calls` more, `-i off` stops it before the client closes,
 * and the total is divided by `calls`: one session's steady state, with
 * neither its handshake nor its close counted. Only the server's user-space instructions count (not
 * the kernel's, not the client's). Under valgrind the server runs about 50
 * times slower, so it is always the bottleneck and the clients' 32 calls
 * are always waiting: the figure is of a busy server, batches full.
 * Repeated runs of one build agree within about 5% (the clients run at
 * native speed, so the batches the server sees vary a little); compare two
 * builds in alternating runs.
 *
 *   node --import tsx bench/instructions.ts [--calls N] [--warmup N] [--in-flight N] [--elements N] [--profile DIR] [--only mqrpc|socket]
 *
 * `--in-flight 1` counts a server answering one call at a time (each call
 * then pays a wake-up of its own); `--elements 0` skips the stream count.
 *
 * Then a stream server is counted the same way per 64-byte element of a
 * server stream (see countStreamFor: one stream of `elements`, the third
 * of its client, every thread of the server counted).
 *
 * With `--profile DIR` each server also writes a perf map, and the largest
 * items are printed by name (JavaScript functions too; see
 * bench/callgrind-names.ts), the files kept in DIR.
 *
 * Skipped, with a note, when valgrind is not installed, and in quick mode.
 * @module
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { namedCosts } from './callgrind-names.js'
import { contender } from './contenders.js'
import { commandRuns } from './proc.js'
import type { BenchReport, InstructionsRow, StreamInstructionsRow } from './results.js'
import { Run } from './rpc-run.js'

/** The element size of the counted stream: the small elements whose per-element cost shows. */
const STREAM_BYTES = 64

/** The sum of every callgrind output file's event total in `dir`. */
function countedInstructions(dir: string): number {
  let total = 0
  for (const file of readdirSync(dir)) {
    // `totals:` counts what was instrumented; `summary:` can read 0 when instrumentation started switched off.
    const match = /^totals: (\d+)/m.exec(readFileSync(join(dir, file), 'utf8'))
    if (match !== null) total += Number(match[1])
  }
  return total
}

/** A server under callgrind, as `drive` sees it: its run (to spawn clients in), and the switch of its count. */
interface CountedServer {
  readonly run: Run
  /** Counts the server's instructions while `work` runs (and only then). */
  readonly count: (work: () => Promise<void>) => Promise<void>
}

/**
 * Starts one contender's server under callgrind (a `role` of bench/`script`),
 * lets `drive` run its clients and switch the count on around the part to
 * count, stops it, prints and returns the instructions counted per unit. With
 * `profileDir`, the server also writes a perf map (`--perf-basic-prof`),
 * and the callgrind file and the map are kept there, named `name`, for
 * bench/callgrind-names.ts, which names the JIT code.
 */
async function countServer(
  id: string,
  server: { readonly role: string; readonly script: 'rpc-peer' | 'streams-peer'; readonly config: object },
  units: { readonly count: number; readonly per: string },
  profile: { readonly dir: string | undefined; readonly name: string },
  drive: (counted: CountedServer) => Promise<void>,
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'mqrpc-callgrind-'))
  const c = contender(id)
  const run = new Run(c)
  try {
    const nodeFlags = profile.dir === undefined ? [] : ['--perf-basic-prof']
    const proc = run.spawn(server.role, { ...server.config, address: run.address }, callgrind(dir), server.script, nodeFlags)
    // Start-up under valgrind takes tens of seconds.
    await proc.waitFor('ready', 180_000)
    const pid = String(proc.child.pid)
    await drive({
      run,
      async count(work) {
        execFileSync('callgrind_control', ['--instr=on', pid], { stdio: 'ignore' })
        await work()
        execFileSync('callgrind_control', ['--instr=off', pid], { stdio: 'ignore' })
      },
    })
    await proc.stop(60_000)
    const perUnit = countedInstructions(dir) / units.count
    console.log(`  ${c.label}: ${Math.round(perUnit)} instructions per ${units.per} on the server`)
    if (profile.dir !== undefined) keepProfile(dir, pid, profile.name, units.count, profile.dir)
    return perUnit
  } finally {
    await run.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Counts one contender's server per echo call. */
async function countFor(
  id: string,
  warmup: number,
  calls: number,
  inFlight: number,
  profileDir?: string,
): Promise<InstructionsRow> {
  const server = { role: 'server', script: 'rpc-peer', config: { contender: id } } as const
  const units = { count: calls, per: 'call' }
  const perCall = await countServer(id, server, units, { dir: profileDir, name: id }, async ({ run, count }) => {
    // One client, counted only after its own warm-up: a new session's first
    // calls (the handshake, the JIT re-optimizing for its objects) are not
    // the steady state this figure is for.
    const client = run.spawn('counted', { contender: id, address: run.address, warmup, calls, inFlight }, [])
    await client.waitFor('warm', 600_000)
    await count(() => {
      client.tell('count')
      return client.waitFor('done', 600_000)
    })
    client.tell('close')
    await client.result(60_000, false)
  })
  return { contender: id, label: contender(id).label, calls, server_instructions: perCall }
}

/**
 * Counts one contender's stream server per 64-byte element. Its client
 * warms up (bench/streams-peer.ts sizes its runs from that), then streams
 * three times; only the third is counted: the first after a warm-up is
 * where the JIT re-optimizes what the pause between them deoptimized, and
 * concurrent compiling (on other threads, counted too) lags under valgrind.
 */
async function countStreamFor(id: string, elements: number, profileDir?: string): Promise<StreamInstructionsRow> {
  const role = id === 'mqrpc' ? 'mq-server' : 'socket-server'
  const server = { role, script: 'streams-peer', config: { cork: true } } as const
  const profile = { dir: profileDir, name: `${id}-stream` }
  const units = { count: elements, per: `${STREAM_BYTES}-byte stream element` }
  const perElement = await countServer(id, server, units, profile, async ({ run, count }) => {
    const steps = [STREAM_BYTES, STREAM_BYTES, STREAM_BYTES]
    const config = { contender: id, address: run.address, sizes: [STREAM_BYTES], warmup: 100_000, seconds: 2, steps }
    const client = run.spawn('client', { ...config, minElements: elements, maxElements: elements }, [], 'streams-peer')
    await client.waitFor('ready', 600_000)
    for (const k of [0, 1]) {
      client.tell('go')
      await client.waitFor(`done ${k}`, 600_000)
    }
    await count(() => {
      client.tell('go')
      return client.waitFor('done 2', 600_000)
    })
    await client.result(60_000, false)
  })
  return { contender: id, label: contender(id).label, elements, server_instructions: perElement }
}

/** The wrapper that runs a server under callgrind, counting nothing until told, its output in `dir`. */
function callgrind(dir: string): string[] {
  return ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${join(dir, 'callgrind.%p')}`]
}

/** Moves the callgrind file and the perf map to `profileDir`, and prints the largest items by name. */
function keepProfile(dir: string, pid: string, id: string, calls: number, profileDir: string): void {
  mkdirSync(profileDir, { recursive: true })
  const callgrindFile = join(profileDir, `${id}.callgrind`)
  const perfMap = join(profileDir, `${id}.perf-map`)
  copyFileSync(join(dir, `callgrind.${pid}`), callgrindFile)
  copyFileSync(join(tmpdir(), `perf-${pid}.map`), perfMap)
  rmSync(join(tmpdir(), `perf-${pid}.map`), { force: true })
  const { costs } = namedCosts(callgrindFile, perfMap)
  for (const [name, instructions] of costs.slice(0, 25)) {
    console.log(`    ${String(Math.round(instructions / calls)).padStart(6)}  ${name}`)
  }
  console.log(`    (kept in ${profileDir}: node --import tsx bench/callgrind-names.ts ${callgrindFile} ${perfMap} ${calls})`)
}

/** Prints mqrpc's count against the socket's, when both were counted. */
function printRatio(rows: readonly (InstructionsRow | StreamInstructionsRow)[], per: string): void {
  const [mq, socket] = rows
  if (mq === undefined || socket === undefined) return
  const ratio = mq.server_instructions / socket.server_instructions
  console.log(`  mqrpc's server runs ${ratio.toFixed(2)}x the baseline's instructions per ${per}`)
}

/** Counts the server's instructions per echo call and per stream element, for mqrpc and the socket baseline. */
export default async function instructions(argv: readonly string[] = []): Promise<Partial<BenchReport>> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      calls: { type: 'string', default: '20000' },
      warmup: { type: 'string', default: '20000' },
      elements: { type: 'string', default: '20000' },
      'in-flight': { type: 'string', default: '32' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'string' },
      only: { type: 'string' },
    },
    allowPositionals: false,
  })
  if (values.quick) {
    console.log('(quick: instruction counts skipped; valgrind makes the server about 50x slower)')
    return {}
  }
  if (!commandRuns('valgrind', ['--version']) || !commandRuns('callgrind_control', ['--version'])) {
    console.log('(valgrind not found: instruction counts skipped; `apt-get install valgrind` adds them)')
    return {}
  }
  Run.cleanUpOnSignals()
  const warmup = Number(values.warmup)
  const calls = Number(values.calls)
  const inFlight = Number(values['in-flight'])
  console.log(
    `instructions per echo call on the server (callgrind), ${calls} calls after ${warmup} of warm-up, ${inFlight} in flight`,
  )
  const rows: InstructionsRow[] = []
  const ids = values.only === undefined ? ['mqrpc', 'socket'] : [values.only]
  for (const id of ids) rows.push(await countFor(id, warmup, calls, inFlight, values.profile))
  printRatio(rows, 'call')
  const elements = Number(values.elements)
  if (elements === 0) return { instructions: rows }
  console.log(`instructions per ${STREAM_BYTES}-byte stream element on the server (callgrind), ${elements} elements`)
  const streamRows: StreamInstructionsRow[] = []
  for (const id of ids) streamRows.push(await countStreamFor(id, elements, values.profile))
  printRatio(streamRows, 'element')
  return { instructions: rows, streamInstructions: streamRows }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  instructions(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
