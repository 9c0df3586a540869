/**
 * `npm run bench -- --quick` runs to the end: every benchmark (ping-pong,
 * the RPC contenders, server memory, the urgent lane, server streams) briefly, as its own
 * processes, printing each table. No figure is checked (speed belongs in
 * the benchmark, not in assertions), only that it finishes, prints the
 * tables' headers, and leaves no queue or socket file behind.
 *
 * It runs bench/run.ts as `npm run bench` does, without its build step (the
 * benchmark bundles mqrpc from src/ itself, so dist/ is not needed), and
 * with --no-docs so that docs/BENCHMARKS.md keeps the last full run.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function leftovers(): string[] {
  const sockets = readdirSync(tmpdir()).filter((f) => f.startsWith('mqrpc-bench-'))
  const queues = existsSync('/dev/mqueue') ? readdirSync('/dev/mqueue').filter((f) => f.startsWith('mqrpc-bench-')) : []
  return [...sockets, ...queues]
}

function run(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--no-docs'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.once('close', (code) => done({ code, stdout, stderr }))
  })
}

describe('npm run bench -- --quick', () => {
  it('runs every benchmark to the end and prints their tables', { timeout: 600_000 }, async () => {
    const before = new Set(leftovers())
    const { code, stdout, stderr } = await run()
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0)
    for (const header of [
      '== pingpong',
      'round trips/s',
      '== rpc',
      'calls/s 32 in flight',
      'calls/s 64 in flight',
      'calls/s 4 clients',
      'CPU us/call 1 at a time (client / server)',
      'MB/s each way',
      'server RSS',
      'lane    median us',
      '== streams',
      'elements/s (median)',
      'all benchmarks done',
    ]) {
      expect(stdout).toContain(header)
    }
    expect(stdout).not.toContain('wrote docs/BENCHMARKS.md')
    expect(leftovers().filter((name) => !before.has(name))).toEqual([])
  })
})
