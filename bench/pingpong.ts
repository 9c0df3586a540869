/**
 * Ping-pong between two processes over two POSIX queues: a 64-byte message
 * bounced N times (default 20,000), measured for plain C (bench/pingpong.c,
 * built here with `cc` into a temp dir) and for MessageQueue on both sides
 * (bench/pingpong-node.ts), unpinned and, when `taskset` exists, with both
 * processes pinned to CPU 0 (where software cost shows; across CPUs every
 * round trip also pays the wake-up of the other CPU).
 *
 *   node --import tsx bench/pingpong.ts [--rounds N] [--size BYTES]
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

const here = dirname(fileURLToPath(import.meta.url))

interface Result {
  rounds: number
  seconds: number
  median_us: number
  p99_us: number
}

interface Row extends Result {
  impl: string
  cpus: string
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

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

/** Runs the ping-pong benchmark and prints its table. */
export default async function pingpong(argv: readonly string[] = []): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: { rounds: { type: 'string', default: '20000' }, size: { type: 'string', default: '64' } },
    allowPositionals: false,
  })
  const rounds = Number(values.rounds)
  const size = Number(values.size)

  const dir = mkdtempSync(join(tmpdir(), 'mqrpc-bench-'))
  try {
    const cBinary = join(dir, 'pingpong')
    execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-o', cBinary, join(here, 'pingpong.c'), '-lrt'], { stdio: 'inherit' })
    chmodSync(cBinary, 0o755)
    const nodeSide = [process.execPath, '--import', 'tsx', join(here, 'pingpong-node.ts'), 'ping', String(rounds), String(size)]
    const placements: [string, string[]][] = [['any', []]]
    if (hasTaskset()) placements.push(['pinned to CPU 0', ['taskset', '-c', '0']])
    else console.log('(taskset not found: pinned runs skipped)')

    console.log(`ping-pong: ${size}-byte message, ${rounds} round trips, two processes, two queues`)
    const rows: Row[] = []
    for (const [cpus, wrapper] of placements) {
      for (const [impl, command] of [
        ['C <-> C (mq_send/mq_receive)', [cBinary, String(rounds), String(size)]],
        ['MessageQueue <-> MessageQueue', nodeSide],
      ] as const) {
        const result = await run([...wrapper, ...command])
        rows.push({ impl, cpus, ...result })
      }
    }

    const header = ['implementation', 'CPUs', 'round trips/s', 'median us', 'p99 us']
    const table = rows.map((r) => [r.impl, r.cpus, fmt(r.rounds / r.seconds, 0), fmt(r.median_us, 2), fmt(r.p99_us, 2)])
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] as string).length)))
    const line = (cells: string[]) =>
      cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')
    console.log(line(header))
    console.log(widths.map((w) => '-'.repeat(w)).join('  '))
    for (const row of table) console.log(line(row))
    for (const [cpus] of placements) {
      const [c, node] = rows.filter((r) => r.cpus === cpus)
      if (c === undefined || node === undefined) continue
      const ratio = node.seconds / node.rounds / (c.seconds / c.rounds)
      console.log(`${cpus}: MessageQueue round trip costs ${fmt(ratio, 2)}x C (median ${fmt(node.median_us / c.median_us, 2)}x)`)
    }
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
