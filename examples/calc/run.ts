/**
 * What `npm start` runs: the calc server and the calc client as two
 * separate processes, their output prefixed with [server] and [client].
 *
 *   node --import tsx examples/calc/run.ts [queue] [--nats nats://host:4222]
 *
 * With `--nats`, both programs run over that NATS broker (no queues then).
 *
 * Starts the server, waits until it listens, runs the client (whose last
 * call, the urgent `stop`, shuts the server down), waits for both to exit,
 * and checks that no queue was left behind. Exits 0 only when all of that
 * worked.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { MessageQueue } from '../../src/index.js'
import { calcQueue, natsUrl } from './queue.js'

const here = dirname(fileURLToPath(import.meta.url))

const say = (line: string) => console.log(`[run] ${line}`)

/** A child program with its output lines prefixed, and a way to wait for a line. */
class Program {
  readonly child: ChildProcess
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private readonly lines: string[] = []
  private readonly watchers = new Set<(line: string) => void>()

  constructor(
    readonly label: string,
    file: string,
    args: readonly string[],
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', join(here, file), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      console.log(`[${label}] ${line}`)
      this.lines.push(line)
      for (const watcher of this.watchers) watcher(line)
    })
    createInterface({ input: this.child.stderr as NodeJS.ReadableStream }).on('line', (line) =>
      console.error(`[${label}] ${line}`),
    )
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', reject)
      this.child.once('close', (code, signal) => resolve({ code, signal }))
    })
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** The first output line matching `pattern`, past or future; rejects on exit or timeout. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    for (const line of this.lines) {
      const match = pattern.exec(line)
      if (match !== null) return Promise.resolve(match)
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`${this.label} printed no line matching ${pattern} within ${timeoutMs} ms`)),
        timeoutMs,
      )
      const watcher = (line: string) => {
        const match = pattern.exec(line)
        if (match !== null) finish(match)
      }
      const finish = (result: RegExpExecArray | Error) => {
        clearTimeout(timer)
        this.watchers.delete(watcher)
        if (result instanceof Error) reject(result)
        else resolve(result)
      }
      this.watchers.add(watcher)
      this.exited.then(
        ({ code, signal }) =>
          finish(new Error(`${this.label} exited (code ${code}, signal ${signal}) before printing ${pattern}`)),
        finish,
      )
    })
  }

  /** Waits up to `timeoutMs` for the exit; then SIGTERM, and SIGKILL if that is not enough. Returns the exit code, or null if it had to be killed. */
  async stop(timeoutMs: number): Promise<number | null> {
    const waited = await within(this.exited, timeoutMs)
    if (waited !== undefined) return waited.code
    say(`${this.label} still running after ${timeoutMs} ms: sending SIGTERM`)
    this.child.kill('SIGTERM')
    const termed = await within(this.exited, 5000)
    if (termed !== undefined) return termed.signal === null ? termed.code : null
    say(`${this.label} ignored SIGTERM: sending SIGKILL`)
    this.child.kill('SIGKILL')
    await this.exited
    return null
  }
}

async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

function queueExists(name: string): boolean {
  try {
    void MessageQueue.open(name, { access: 'read' }).close()
    return true
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return false
    throw error
  }
}

async function main(): Promise<number> {
  const queue = calcQueue()
  const args = process.argv.slice(2)
  const nats = natsUrl(args)
  const problems: string[] = []
  const programs: Program[] = []
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      say(`${signal}: stopping the programs`)
      for (const program of programs) if (program.running) program.child.kill('SIGTERM')
    })
  }

  say(`starting the server on ${queue}${nats === undefined ? '' : ' over NATS'}`)
  const server = new Program('server', 'server.ts', args)
  programs.push(server)
  let replyQueue: string | undefined
  try {
    await server.waitForLine(/^listening on /, 20_000)
    say('server is ready; starting the client')
    const client = new Program('client', 'client.ts', args)
    programs.push(client)
    client.waitForLine(/reply queue (\S+)$/, 20_000).then(
      (match) => {
        replyQueue = match[1]
      },
      () => undefined,
    )
    const clientCode = await client.stop(30_000)
    if (clientCode !== 0) problems.push(`the client exited with code ${clientCode}`)
    else say('client finished')
  } catch (error) {
    problems.push((error as Error).message)
  }

  // The client's last call, `stop`, closes the server: give it time to drain.
  const serverCode = await server.stop(10_000)
  if (serverCode !== 0) problems.push(`the server exited with code ${serverCode}`)
  else say('server exited')

  // Over NATS there are no queues to leave behind.
  const names = nats !== undefined ? [] : [queue, `${queue}.urgent`, ...(replyQueue === undefined ? [] : [replyQueue])]
  const left = names.filter(queueExists)
  for (const name of left) MessageQueue.unlink(name)
  if (left.length > 0) problems.push(`queues left behind (removed now): ${left.join(', ')}`)
  else if (nats === undefined) say(`no queues left behind (checked ${names.join(', ')})`)

  if (problems.length > 0) {
    for (const problem of problems) say(`FAILED: ${problem}`)
    return 1
  }
  say('ok: server and client ran and shut down cleanly')
  return 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    console.error('[run]', error)
    process.exitCode = 1
  },
)
