/**
 * Helpers of the cross-process RPC tests: lab servers and clients as real
 * child processes (test/fixtures/rpc-server.ts, rpc-client.ts) that speak
 * JSON lines, in-process lab clients, and one afterEach that shuts all of
 * them down cleanly before the queue guard looks for leftovers.
 * @module
 */
import { spawn } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import type { Client, ClientOptions } from '../../src/index.js'
import { Lab } from '../fixtures/rpc-service.js'
import { ClientPool } from './clients.js'
import { leftoverQueues, trackQueue, useQueueGuard } from './queues.js'
import { SMALL_QUEUES } from './sizes.js'
import { Child, spawnFixture } from './spawn.js'

/** One JSON line a fixture printed. */
export type Line = Record<string, unknown> & { event?: string; id?: number }

/**
 * How long to wait for a fixture to start (node, tsx and typebox cost a
 * second or two of CPU, and much more on a machine loaded by parallel test
 * files), and for any other line. Upper bounds only: passing tests never
 * wait them out.
 */
export const START_MS = 30_000
export const WAIT_MS = 20_000

/** Test and hook timeout for files whose tests spawn several processes. */
export const PROCESS_TEST_TIMEOUT_MS = 90_000

/** A RegExp whose test() is a predicate over parsed JSON lines (Child.waitForLine only calls test()). */
class JsonMatcher extends RegExp {
  constructor(
    private readonly predicate: (line: Line) => boolean,
    private readonly label: string,
  ) {
    super('')
  }
  override test(text: string): boolean {
    let line: Line
    try {
      line = JSON.parse(text) as Line
    } catch {
      return false
    }
    return typeof line === 'object' && line !== null && this.predicate(line)
  }
  override toString(): string {
    return this.label
  }
}

function matches(line: Line, fields: Readonly<Record<string, unknown>>): boolean {
  return Object.entries(fields).every(([key, value]) => line[key] === value)
}

/** A fixture process that prints JSON lines and takes JSON commands. */
class Proc {
  private nextId = 0

  constructor(readonly child: Child) {}

  /** Every JSON line printed so far. */
  lines(): Line[] {
    const out: Line[] = []
    for (const text of this.child.lines()) {
      try {
        out.push(JSON.parse(text) as Line)
      } catch {
        // not ours (a stray log line)
      }
    }
    return out
  }

  /** Printed lines whose fields equal `fields`. */
  linesWith(fields: Readonly<Record<string, unknown>>): Line[] {
    return this.lines().filter((line) => matches(line, fields))
  }

  /** The first line (past or future) whose fields equal `fields` and that passes `also`. */
  async waitFor(
    fields: Readonly<Record<string, unknown>>,
    timeoutMs = WAIT_MS,
    also: (line: Line) => boolean = () => true,
  ): Promise<Line> {
    const text = await this.child.waitForLine(
      new JsonMatcher((line) => matches(line, fields) && also(line), JSON.stringify(fields)),
      timeoutMs,
    )
    return JSON.parse(text) as Line
  }

  /** Sends one command line. */
  send(command: Readonly<Record<string, unknown>>): void {
    this.child.send(JSON.stringify(command))
  }

  /** Sends a command with a fresh id and waits for the line answering it. */
  async request(command: Readonly<Record<string, unknown>>, timeoutMs = WAIT_MS): Promise<Line> {
    const id = ++this.nextId
    this.send({ ...command, id })
    return this.waitFor({ id }, timeoutMs, (line) => line.ok !== undefined)
  }

  get pid(): number {
    return this.child.process.pid as number
  }

  get running(): boolean {
    return this.child.running
  }

  /** SIGKILL, and wait for the exit. */
  kill(): Promise<unknown> {
    return this.child.kill()
  }

  /** Asks for a clean close and waits for the exit; kills it if that takes longer than timeoutMs. */
  async close(timeoutMs = WAIT_MS): Promise<void> {
    if (!this.child.running) return
    this.send({ op: 'close' })
    try {
      await this.child.finish(timeoutMs)
    } catch (error) {
      await this.child.kill()
      throw error
    }
  }
}

/** A lab server in a child process. */
export class ServerProc extends Proc {
  constructor(
    child: Child,
    readonly queue: string,
  ) {
    super(child)
  }

  /** server.emit(event, payload) in the child. */
  emit(event: string, payload: unknown): void {
    this.send({ op: 'emit', event, payload })
  }
}

/** A lab client in a child process. */
export class ClientProc extends Proc {
  replyQueue = ''

  /** A call by name; resolves with the answering line ({ok, value} or {ok:false, code, message, details}). */
  call(
    method: string,
    input: unknown,
    options: Readonly<{ timeoutMs?: number; priority?: string }> = {},
    timeoutMs?: number,
  ): Promise<Line> {
    return this.request({ op: 'call', method, input, ...options }, timeoutMs)
  }
}

const servers = new Set<ServerProc>()
const clientProcs = new Set<ClientProc>()
const clients = new ClientPool()

/** Spawns a lab server on `queue` and waits for it to serve; a refused start resolves with its startError line too. */
export async function spawnServer(queue: string, options: Readonly<Record<string, unknown>> = {}): Promise<ServerProc> {
  trackQueue(queue)
  trackQueue(`${queue}.urgent`)
  const server = new ServerProc(spawnFixture('rpc-server.ts', [queue, JSON.stringify({ ...SMALL_QUEUES, ...options })]), queue)
  servers.add(server)
  await server.waitFor({}, START_MS, (line) => line.event === 'ready' || line.event === 'startError')
  return server
}

let sharedCounter = 0

/**
 * One lab server for every test of a file (spawning one costs a second or
 * two). It is started outside the spawn helper's reaper and its queue names
 * are tracked only once it is closed in afterAll, so the per-test queue
 * guard neither kills it nor removes its queues; afterAll checks that its
 * close() removed them. Returns a getter.
 */
export function useSharedServer(tag: string, options: Readonly<Record<string, unknown>> = {}): () => ServerProc {
  const queue = `/mqt-${process.pid}-shared-${++sharedCounter}-${tag}`
  let server: ServerProc | undefined
  beforeAll(async () => {
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
    const argv = [
      '--import',
      'tsx',
      join(root, 'test/fixtures/rpc-server.ts'),
      queue,
      JSON.stringify({ ...SMALL_QUEUES, ...options }),
    ]
    const child = new Child(
      `shared server ${queue}`,
      spawn(process.execPath, argv, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] }),
    )
    server = new ServerProc(child, queue)
    const ready = await server.waitFor({}, START_MS, (line) => line.event === 'ready' || line.event === 'startError')
    if (ready.event !== 'ready') throw new Error(`shared server did not start: ${JSON.stringify(ready)}`)
  }, 2 * START_MS)
  afterAll(async () => {
    if (server === undefined) return
    try {
      await server.close()
    } finally {
      trackQueue(queue)
      trackQueue(`${queue}.urgent`)
    }
    expect(leftoverQueues([queue, `${queue}.urgent`])).toEqual([])
  })
  return () => {
    if (server === undefined) throw new Error('the shared server is not running')
    return server
  }
}

/** Spawns a lab client of `queue` and waits until it is connected. */
export async function spawnClient(queue: string, options: Readonly<Record<string, unknown>> = {}): Promise<ClientProc> {
  const client = new ClientProc(spawnFixture('rpc-client.ts', [queue, JSON.stringify(options)]))
  clientProcs.add(client)
  const ready = await client.waitFor({}, START_MS, (line) => line.event === 'ready' || line.event === 'connectError')
  if (ready.event !== 'ready') throw new Error(`client did not connect: ${JSON.stringify(ready)}`)
  client.replyQueue = trackQueue(ready.replyQueue as string)
  return client
}

/** A lab client in this process (the test's own), closed after the test. */
export function connect(queue: string, options: Partial<ClientOptions> = {}): Promise<Client<typeof Lab>> {
  return clients.connect(Lab, queue, options)
}

/**
 * Installs the queue guard and, before it runs, an afterEach that closes
 * this process's clients, then the client processes, then the servers
 * (cleanly, so that each removes its queues).
 */
export function useRpcHarness(): void {
  useQueueGuard()
  // Registered after the guard, so it runs before it (vitest runs after-hooks as a stack).
  afterEach(async () => {
    await clients.closeAll()
    await Promise.allSettled([...clientProcs].map((proc) => proc.close()))
    clientProcs.clear()
    await Promise.allSettled([...servers].map((proc) => proc.close()))
    servers.clear()
  })
}
