/**
 * Ping-pong between two processes over two POSIX queues: a 64-byte message
 * bounced N times (default 20,000), measured for plain C (bench/pingpong.c,
 * built here with `cc` into a temp dir) and for MessageQueue on both sides
 * (bench/pingpong-node.ts), unpinned and, when `taskset` exists, with both
 * processes pinned to CPU 0 (where software cost shows; across CPUs every
 * round trip also pays the wake-up of the other CPU). The implementations
 * take turns, `--runs` times (3; 1 with `--quick`; the order reversed
 * every other run, as in bench/rpc.ts), and each figure is the median over
 * the runs, so that a burst of other load on a shared machine moves one
 * run, not the ratio.
 *
 *   node --import tsx bench/pingpong.ts [--rounds N] [--runs R] [--size BYTES]
 *
 * Each measurement runs in its own process tree and cleans its own queues.
 * @module
 */
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { peerScript } from './bundle.js'
import type { BenchReport, PingPongRow } from './results.js'
import { placements as placementsFor } from './rpc-run.js'
import { medianOfRounds, printTable, takeTurns } from './summary.js'

const here = dirname(fileURLToPath(import.meta.url))

interface Result {
  rounds: number
  seconds: number
  median_us: number
  p99_us: number
}

/** The Node rows' labels, by MessageQueue mode (bench/pingpong-node.ts). */
export const NODE_PROMISE = 'MessageQueue <-> MessageQueue'
export const NODE_CONSUME = 'MessageQueue consume()/trySend()'
export const C_ROW = 'C <-> C (mq_send/mq_receive)'

function run(argv: readonly string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk
    })
    child.once('error', reject)
    child.once('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${argv.join(' ')} exited with ${code}\n${out}${err}`))
        return
      }
      const last = out.trim().split('\n').at(-1) ?? ''
      try {
        resolve(JSON.parse(last) as Result)
      } catch {
        reject(new Error(`${argv.join(' ')} printed no result\n${out}${err}`))
      }
    })
  })
}

const fmt = (n: number, digits = 1) => n.toFixed(digits)

/** Runs the ping-pong benchmark, prints its table, and returns its rows. */
export default async function pingpong(argv: readonly string[] = []): Promise<Partial<BenchReport>> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      rounds: { type: 'string' },
      runs: { type: 'string' },
      size: { type: 'string', default: '64' },
      quick: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  })
  const rounds = Number(values.rounds ?? (values.quick ? 2000 : 20000))
  const runs = Number(values.runs ?? (values.quick ? 1 : 3))
  const size = Number(values.size)

  const dir = mkdtempSync(join(tmpdir(), 'mqrpc-bench-'))
  try {
    const cBinary = join(dir, 'pingpong')
    execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-o', cBinary, join(here, 'pingpong.c'), '-lrt'], { stdio: 'inherit' })
    chmodSync(cBinary, 0o755)
    const warmup = String(Math.min(2000, rounds / 10))
    const nodeSide = (mode: string) => [
      process.execPath,
      peerScript('pingpong-node'),
      'ping',
      String(rounds),
      String(size),
      warmup,
      mode,
    ]
    if (values.quick) console.log('(quick: pinned runs skipped)')
    const placements = placementsFor(values.quick)

    console.log(
      `ping-pong: ${size}-byte message, ${rounds} round trips, two processes, two queues; ` +
        `${runs} run(s) of each in turn, each figure the median over them`,
    )
    const implementations = [
      [C_ROW, [cBinary, String(rounds), String(size)]],
      [NODE_PROMISE, nodeSide('promise')],
      [NODE_CONSUME, nodeSide('consume')],
    ] as const
    const rows: PingPongRow[] = []
    for (const [cpus, wrapper] of placements) {
      const results = await takeTurns(implementations, runs, ([impl, command], k) => {
        console.log(`  ${impl}, ${cpus}, run ${k + 1}`)
        return run([...wrapper, ...command])
      })
      for (const [i, [impl]] of implementations.entries()) rows.push({ impl, cpus, runs, ...medianOfRounds(results[i] ?? []) })
    }

    printTable(
      ['implementation', 'CPUs', 'round trips/s', 'median us', 'p99 us'],
      rows.map((r) => [r.impl, r.cpus, fmt(r.rounds / r.seconds, 0), fmt(r.median_us, 2), fmt(r.p99_us, 2)]),
      2,
    )
    for (const [cpus] of placements) {
      const [c, ...nodes] = rows.filter((r) => r.cpus === cpus)
      if (c === undefined) continue
      for (const node of nodes) {
        const ratio = node.seconds / node.rounds / (c.seconds / c.rounds)
        console.log(
          `${cpus}: ${node.impl} round trip costs ${fmt(ratio, 2)}x C (median ${fmt(node.median_us / c.median_us, 2)}x)`,
        )
      }
    }
    return { pingpong: rows }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  pingpong(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
