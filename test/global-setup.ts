/**
 * Global set-up of the test run (vitest globalSetup, in the main process):
 *
 * - makes a world-readable run directory under os.tmpdir() (mode 0o755), so
 *   that programs run as another uid can be executed from it;
 * - builds the C helper programs of test/c/ into it with the system `cc`;
 * - exports both paths through the environment, which vitest's worker
 *   processes (and the children the tests spawn) inherit;
 * - mounts /dev/mqueue when running as root and it is not mounted (error
 *   messages can then show a queue's owner and mode); skipped otherwise;
 * - at teardown, fails the run when any queue name a test tracked still
 *   exists, or a reply queue made during the run outlived its process
 *   (removing them), and removes the run directory.
 * @module
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { processAlive } from '../src/transport/mq/process-alive.js'
import { cleanupQueues, leftoverQueues, RUN_DIR_ENV } from './helpers/queues.js'
import { BIN_DIR_ENV } from './helpers/spawn.js'

const sourceDir = resolve(fileURLToPath(new URL('.', import.meta.url)), 'c')

/** The C programs built for the tests: test/c/<name>.c -> <run dir>/bin/<name>. */
export const C_PROGRAMS = ['struct_send', 'struct_recv', 'mq_probe', 'sec_client'] as const

function buildPrograms(binDir: string): void {
  for (const program of C_PROGRAMS) {
    const output = join(binDir, program)
    try {
      execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', output, join(sourceDir, `${program}.c`), '-lrt'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error)
      throw new Error(`test set-up: building test/c/${program}.c with cc failed (install a C compiler):\n${stderr}`)
    }
    chmodSync(output, 0o755)
  }
}

function mountMqueue(): void {
  if (process.getuid?.() !== 0) return
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8')
    if (mounts.split('\n').some((line) => line.split(' ')[1] === '/dev/mqueue')) return
    mkdirSync('/dev/mqueue', { recursive: true })
    execFileSync('mount', ['-t', 'mqueue', 'none', '/dev/mqueue'], { stdio: 'ignore' })
  } catch {
    // Not allowed here (a container without CAP_SYS_ADMIN): the data path
    // does not need the mount; only some error messages get less precise.
  }
}

/** Queues listed in /dev/mqueue now (empty when it is not mounted). */
function listedQueues(): Set<string> {
  try {
    return new Set(readdirSync('/dev/mqueue').map((name) => `/${name}`))
  } catch {
    return new Set()
  }
}

/**
 * Reply and probe queues (random names no test can track) made during the
 * run whose process is gone: a client that died without its queue being
 * reaped. Queues of live processes belong to someone still running.
 */
function orphanedReplyQueues(before: Set<string>): string[] {
  return [...listedQueues()].filter((name) => {
    if (before.has(name)) return false
    const match = /^\/mqrpc\.(?:reply|probe)\.(\d+)\./.exec(name)
    return match !== null && !processAlive(Number(match[1]))
  })
}

function trackedNames(runDir: string): string[] {
  const names = new Set<string>()
  for (const file of readdirSync(runDir)) {
    if (!file.startsWith('queues-')) continue
    for (const line of readFileSync(join(runDir, file), 'utf8').split('\n')) if (line !== '') names.add(line)
  }
  return [...names]
}

export default function setup(): () => void {
  const runDir = mkdtempSync(join(tmpdir(), 'mqrpc-test-'))
  chmodSync(runDir, 0o755)
  const binDir = join(runDir, 'bin')
  mkdirSync(binDir, { mode: 0o755 })
  chmodSync(binDir, 0o755)
  buildPrograms(binDir)
  mountMqueue()
  const before = listedQueues()
  process.env[RUN_DIR_ENV] = runDir
  process.env[BIN_DIR_ENV] = binDir

  return () => {
    try {
      if (!existsSync(runDir)) return
      const names = trackedNames(runDir)
      const left = [...leftoverQueues(names), ...orphanedReplyQueues(before)]
      if (left.length > 0) {
        cleanupQueues(left)
        // vitest logs a teardown error but does not fail the run for it.
        process.exitCode = 1
        throw new Error(`the test run left ${left.length} queue(s) behind (now removed): ${left.join(', ')}`)
      }
    } finally {
      rmSync(runDir, { recursive: true, force: true })
      delete process.env[RUN_DIR_ENV]
      delete process.env[BIN_DIR_ENV]
    }
  }
}
