/**
 * Child processes for the RPC benchmarks: spawn a bench/rpc-peer.ts role
 * (optionally under a wrapper such as `taskset -c 0`), wait for its lines,
 * read its JSON result, and stop it (SIGTERM, then SIGKILL).
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { type PeerName, peerScript } from './bundle.js'

/** Whether `command args` runs and exits 0 (a tool the benchmark may use is installed and works here). */
export function commandRuns(command: string, args: readonly string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** One bench/rpc-peer.ts process: its output lines, its result, and stopping it. */
export class Proc {
  readonly child: ChildProcess
  readonly exited: Promise<number | null>
  private readonly lines: string[] = []
  private stderr = ''
  private readonly watchers = new Set<() => void>()

  /** Runs bench/<script>.ts (bundled; rpc-peer unless told) as `<role> <json config>` under `wrapper`, with Node's `nodeFlags`. */
  constructor(
    readonly role: string,
    config: unknown,
    wrapper: readonly string[] = [],
    script: PeerName = 'rpc-peer',
    nodeFlags: readonly string[] = [],
  ) {
    const argv = [...wrapper, process.execPath, ...nodeFlags, peerScript(script), role, JSON.stringify(config)]
    this.child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stdin?.on('error', () => undefined) // a peer that exited early: its exit code tells
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.startsWith('progress:')) {
        console.log(`    ${role}${line.slice('progress:'.length)}`)
        return
      }
      this.lines.push(line)
      for (const watcher of this.watchers) watcher()
    })
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk
    })
    this.exited = new Promise((resolve) => {
      this.child.once('error', () => resolve(null))
      this.child.once('close', (code) => {
        resolve(code)
        for (const watcher of this.watchers) watcher()
      })
    })
  }

  /** Writes one line to the process's stdin (the swarm role waits for "go"). */
  tell(line: string): void {
    this.child.stdin?.write(`${line}\n`)
  }

  private get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  private describe(why: string): Error {
    return new Error(`${this.role}: ${why}\nstdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`)
  }

  /** Waits for a stdout line equal to `text`. */
  waitFor(text: string, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(this.describe(`no "${text}" within ${timeoutMs} ms`)), timeoutMs)
      const check = () => {
        if (this.lines.includes(text)) finish()
        else if (!this.running) finish(this.describe(`exited before printing "${text}"`))
      }
      const finish = (error?: Error) => {
        clearTimeout(timer)
        this.watchers.delete(check)
        if (error === undefined) resolve()
        else reject(error)
      }
      this.watchers.add(check)
      check()
    })
  }

  /**
   * Waits for a clean exit (asking for it with SIGTERM first when `ask`)
   * and returns the last stdout line parsed as JSON.
   */
  async result<T>(timeoutMs = 120_000, ask = false): Promise<T> {
    const code = await this.stop(timeoutMs, ask)
    if (code !== 0) throw this.describe(`exited with code ${code}`)
    const last = this.lines.at(-1)
    if (last === undefined) throw this.describe('printed no result')
    return JSON.parse(last) as T
  }

  /**
   * Asks the process to end (SIGTERM, unless `ask` is false: then it just
   * waits), waits up to `timeoutMs`, and kills it if it is still there.
   * Resolves with the exit code (null when killed).
   */
  async stop(timeoutMs = 10_000, ask = true): Promise<number | null> {
    if (ask && this.running) this.child.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs)
    })
    const outcome = await Promise.race([this.exited, late])
    clearTimeout(timer)
    if (outcome !== 'late') return outcome
    this.child.kill('SIGKILL')
    await this.exited
    return null
  }
}
