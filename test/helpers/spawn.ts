/**
 * Real child processes for tests: TypeScript fixtures run by node with tsx,
 * and the C helper programs built by global setup (which can also run under
 * another uid). Every child is recorded and reaped (SIGKILL, then wait) by
 * reapChildren, which the queue guard and useChildReaper call after each test.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach } from 'vitest'

/** Environment variable holding the directory of the built C programs. */
export const BIN_DIR_ENV = 'MQRPC_TEST_BIN_DIR'

/** The uid and gid of `nobody`, used as "another user" in permission tests. */
export const NOBODY = 65534

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const fixturesDir = join(repoRoot, 'test/fixtures')

/** How a child ended. */
export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A running child with its output collected line by line. */
export class Child {
  readonly process: ChildProcess
  readonly exited: Promise<Exit>
  private out = ''
  private err = ''
  private exit: Exit | undefined
  private readonly lineWaiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = []
  private scanned = 0

  constructor(
    readonly label: string,
    child: ChildProcess,
  ) {
    this.process = child
    child.stdout?.setEncoding('utf8')
    child.stderr?.setEncoding('utf8')
    child.stdout?.on('data', (chunk: string) => {
      this.out += chunk
      this.scan()
    })
    child.stderr?.on('data', (chunk: string) => {
      this.err += chunk
    })
    this.exited = new Promise<Exit>((resolveExit, rejectExit) => {
      child.once('error', rejectExit)
      // 'close' waits for stdio to end as well, so output is complete.
      child.once('close', (code, signal) => {
        this.exit = { code, signal }
        resolveExit(this.exit)
      })
    })
    // The promise is awaited by whoever cares; do not let an unobserved
    // spawn failure crash the worker.
    this.exited.catch(() => {})
  }

  /** Everything the child wrote to stdout so far. */
  get stdout(): string {
    return this.out
  }

  /** Everything the child wrote to stderr so far. */
  get stderr(): string {
    return this.err
  }

  /** Complete stdout lines so far. */
  lines(): string[] {
    return this.out.split('\n').filter((line, i, all) => i < all.length - 1 || line !== '')
  }

  /** Whether the child is still running. */
  get running(): boolean {
    return this.exit === undefined
  }

  /** Writes a line to the child's stdin. */
  send(line: string): void {
    this.process.stdin?.write(`${line}\n`)
  }

  /** Resolves with the first stdout line (past or future) matching `match`; rejects when the child exits first or after timeoutMs. */
  waitForLine(match: string | RegExp, timeoutMs = 10_000): Promise<string> {
    const test = typeof match === 'string' ? (line: string) => line === match : (line: string) => match.test(line)
    const seen = this.lines().find(test)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise<string>((resolveLine, rejectLine) => {
      const fail = (why: string) =>
        rejectLine(new Error(`${this.label}: ${why} waiting for ${String(match)}\nstdout:\n${this.out}\nstderr:\n${this.err}`))
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs)
      const waiter = {
        test,
        resolve: (line: string) => {
          clearTimeout(timer)
          resolveLine(line)
        },
      }
      this.lineWaiters.push(waiter)
      this.exited.then(
        (exit) => {
          const index = this.lineWaiters.indexOf(waiter)
          if (index === -1) return
          this.lineWaiters.splice(index, 1)
          clearTimeout(timer)
          fail(`exited (code ${exit.code}, signal ${exit.signal})`)
        },
        (error: unknown) => {
          clearTimeout(timer)
          fail(`failed to start (${String(error)})`)
        },
      )
    })
  }

  /** Waits for the child to exit and returns its exit with all output; rejects after timeoutMs. */
  async finish(timeoutMs = 15_000): Promise<Exit & { stdout: string; stderr: string }> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, rejectTimeout) => {
      timer = setTimeout(
        () =>
          rejectTimeout(
            new Error(`${this.label}: did not exit within ${timeoutMs} ms\nstdout:\n${this.out}\nstderr:\n${this.err}`),
          ),
        timeoutMs,
      )
    })
    try {
      const exit = await Promise.race([this.exited, timeout])
      return { ...exit, stdout: this.out, stderr: this.err }
    } finally {
      clearTimeout(timer)
    }
  }

  /** Waits for a clean exit (code 0) and returns stdout; rejects with the output otherwise. */
  async success(timeoutMs?: number): Promise<string> {
    const result = await this.finish(timeoutMs)
    if (result.code !== 0) {
      throw new Error(
        `${this.label} exited with code ${result.code} signal ${result.signal}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
      )
    }
    return result.stdout
  }

  /** The last stdout line parsed as JSON, after a clean exit. */
  async json<T = unknown>(timeoutMs?: number): Promise<T> {
    await this.success(timeoutMs)
    const last = this.lines().at(-1)
    if (last === undefined) throw new Error(`${this.label} printed nothing`)
    return JSON.parse(last) as T
  }

  /** Sends SIGKILL (if still running) and waits for the exit. */
  async kill(): Promise<Exit> {
    if (this.running) this.process.kill('SIGKILL')
    return this.exited.catch(() => ({ code: null, signal: null }))
  }

  private scan(): void {
    const lines = this.out.split('\n')
    lines.pop() // an incomplete last line waits for its newline
    for (; this.scanned < lines.length; this.scanned++) {
      const line = lines[this.scanned] as string
      for (const waiter of [...this.lineWaiters]) {
        if (waiter.test(line)) {
          this.lineWaiters.splice(this.lineWaiters.indexOf(waiter), 1)
          waiter.resolve(line)
        }
      }
    }
  }
}

const children = new Set<Child>()

/** Options shared by the spawn helpers. */
export interface SpawnOptions {
  /** Extra environment for the child. */
  readonly env?: Record<string, string>
  /** Run under this uid and gid (the test runs as root for this). */
  readonly asUser?: number
  /** A command and its arguments to put before the program (e.g. ['taskset', '-c', '0']). */
  readonly wrapper?: readonly string[]
}

function start(label: string, command: string, args: readonly string[], options: SpawnOptions, cwd: string): Child {
  const wrapper = options.wrapper ?? []
  const argv = [...wrapper, command, ...args]
  const child = new Child(
    label,
    spawn(argv[0] as string, argv.slice(1), {
      cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.asUser === undefined ? {} : { uid: options.asUser, gid: options.asUser }),
    }),
  )
  children.add(child)
  void child.exited.finally(() => children.delete(child)).catch(() => {})
  return child
}

/** Runs `node --import tsx test/fixtures/<fixture> ...args` as a real child process. */
export function spawnFixture(fixture: string, args: readonly string[] = [], options: SpawnOptions = {}): Child {
  const file = join(fixturesDir, fixture)
  if (!existsSync(file)) throw new Error(`no fixture ${file}`)
  return start(`fixture ${fixture} ${args.join(' ')}`, process.execPath, ['--import', 'tsx', file, ...args], options, repoRoot)
}

/** The directory of the C programs built by global setup. */
export function binDir(): string {
  const dir = process.env[BIN_DIR_ENV]
  if (dir === undefined) throw new Error(`${BIN_DIR_ENV} is not set: run the tests through vitest (test/global-setup.ts)`)
  return dir
}

/** Runs one of the C programs built by global setup (test/c/<program>.c). */
export function spawnProgram(program: string, args: readonly string[] = [], options: SpawnOptions = {}): Child {
  const path = join(binDir(), program)
  if (!existsSync(path)) throw new Error(`C program ${path} was not built`)
  const who = options.asUser === undefined ? '' : ` as uid ${options.asUser}`
  // Run from the world-readable bin dir: another uid may not enter the repository.
  return start(`${program} ${args.join(' ')}${who}`, path, args, options, binDir())
}

/** Kills (SIGKILL) every child still running and waits until all have exited. */
export async function reapChildren(): Promise<void> {
  await Promise.all([...children].map((child) => child.kill()))
  children.clear()
}

/** Installs an afterEach that reaps every child of the test. */
export function useChildReaper(): void {
  afterEach(reapChildren)
}
