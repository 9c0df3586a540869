/**
 * A forgotten close() must not leak for the life of the process (issue 12,
 * item 5). The addon's Queue object owns the descriptor and its poll handle
 * and releases both when it is collected unclosed, or when its thread ends.
 * A client is collectable once nothing waits on it (src/rpc/client-keepalive.ts),
 * and its session is then ended and its reply queue removed.
 *
 * Each case runs in a child (test/fixtures/reclaim-probe.ts) that counts its
 * own descriptors in /proc/self/fd and can call gc(): before, with the
 * queues open, and after dropping them.
 */
import { describe, expect, it } from 'vitest'
import { MessageQueue } from '../../src/transport/mq/message-queue.js'
import { trackQueue, uniqueQueueName } from '../helpers/queues.js'
import { PROCESS_TEST_TIMEOUT_MS, type ServerProc, spawnServer, useRpcHarness } from '../helpers/rpc.js'
import { spawnFixture } from '../helpers/spawn.js'
import { until } from '../helpers/wait.js'

useRpcHarness()

interface Counts {
  before: number
  opened: number
  after: number
  whileWaiting?: number
  replyQueues?: string[]
  /** Reply queues still there after the collection. */
  left?: string[]
}

function unlinkQuietly(names: Iterable<string>): void {
  for (const name of names) {
    try {
      MessageQueue.unlink(name)
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error
    }
  }
}

/** Runs the probe on a fresh queue (opened many times over: one queue, many descriptors), then removes it. */
async function probeQueue(mode: string, ...args: number[]): Promise<Counts> {
  const name = uniqueQueueName(`reclaim-${mode}`)
  await MessageQueue.open(name, { create: true, exclusive: true, maxMessages: 4, messageSize: 64 }).close()
  try {
    return await spawnFixture('reclaim-probe.ts', [mode, name, ...args.map(String)]).json<Counts>(60_000)
  } finally {
    MessageQueue.unlink(name)
  }
}

/** Runs a client mode of the probe against a lab server in another process, then removes the clients' reply queues. */
async function probeClients(mode: string, ...args: number[]): Promise<Counts & { server: ServerProc }> {
  const queue = uniqueQueueName(`reclaim-${mode}`)
  const server = await spawnServer(queue)
  expect(server.lines().at(-1)?.event).toBe('ready')
  const counts = await spawnFixture('reclaim-probe.ts', [mode, queue, ...args.map(String)]).json<Counts>(80_000)
  const replies = (counts.replyQueues ?? []).map(trackQueue)
  unlinkQuietly(replies)
  return { ...counts, server }
}

/** The probe's line of `phase`, its reply queues tracked (and removed after the test) at once. */
async function phase<T extends Counts>(probe: ReturnType<typeof spawnFixture>, name: string): Promise<T> {
  const line = JSON.parse(await probe.waitForLine(new RegExp(`"phase":"${name}"`), 80_000)) as T
  for (const reply of line.replyQueues ?? []) trackQueue(reply)
  return line
}

/**
 * Node itself opens and closes a descriptor now and then (its loaders,
 * libuv's threads): counts agree within this. A leak of what these tests
 * drop is six descriptors or more.
 */
const NOISE_FDS = 2
const about = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(NOISE_FDS)

describe('a MessageQueue dropped without close()', () => {
  it('is closed when collected: idle, after a finished wait, after a stopped consume', async () => {
    const counts = await probeQueue('drop', 60)
    about(counts.opened - counts.before, 60)
    about(counts.after, counts.before)
  })

  it('is held while a receive waits on it, and collected once the wait is served', async () => {
    const counts = await probeQueue('waiting', 8)
    about(counts.opened - counts.before, 8)
    // An active wait is a root, as a listening socket is: its queue stays open.
    about(counts.whileWaiting ?? Number.NaN, counts.opened)
    about(counts.after, counts.before)
  })

  it(
    'is released when its worker thread exits, is terminated or dies, even with waits in progress',
    async () => {
      // Three workers (process.exit(), worker.terminate(), an uncaught throw),
      // six queues each: receive waiting, consuming, idle.
      const counts = await probeQueue('workers', 3, 6)
      expect(counts.opened - counts.before).toBeGreaterThanOrEqual(6)
      about(counts.after, counts.before)
    },
    PROCESS_TEST_TIMEOUT_MS,
  )
})

describe('a client dropped without close()', () => {
  it(
    'releases its descriptors when its worker thread ends',
    async () => {
      // Two workers (process.exit(), worker.terminate()) of two clients each,
      // their reply queues consuming and their heartbeats running.
      const counts = await probeClients('client-workers', 2, 2)
      expect(counts.replyQueues).toHaveLength(4)
      // Reply, request and urgent queue: three descriptors a client.
      expect(counts.opened - counts.before).toBeGreaterThanOrEqual(6)
      about(counts.after, counts.before)
    },
    PROCESS_TEST_TIMEOUT_MS,
  )

  it(
    'on the main thread, idle, is collected: its descriptors and reply queue go, and the server ends its session',
    async () => {
      // Its heartbeat and its reply queue's consumer (an active poll, so a
      // rooted callback) reach an idle client only weakly; once collected,
      // its session is ended (GOODBYE) and its reply path closed and removed.
      const counts = await probeClients('clients', 6)
      expect(counts.replyQueues).toHaveLength(6)
      about(counts.opened - counts.before, 18)
      about(counts.after, counts.before)
      expect(counts.left).toEqual([])
      // The warm-up client's session, then the six dropped ones'.
      const ended = () => counts.server.linesWith({ event: 'sessionEnd' }).length
      await until(() => ended() >= 7, "the server ended the dropped clients' sessions")
    },
    PROCESS_TEST_TIMEOUT_MS,
  )

  it(
    'is kept while a listener of its service events or a call waits on it, and collected once they are done',
    async () => {
      const queue = uniqueQueueName('reclaim-kept')
      const server = await spawnServer(queue)
      expect(server.lines().at(-1)?.event).toBe('ready')
      const tag = `kept-${process.pid}`
      const probe = spawnFixture('reclaim-probe.ts', ['kept', queue, tag])
      // Three clients dropped: listening for 'tick', with sleep(tag) in flight, idle.
      const busy = await phase<Counts & { whileBusy: number; alive: boolean[] }>(probe, 'busy')
      about(busy.opened - busy.before, 9)
      expect(busy.alive).toEqual([true, true, false])
      about(busy.whileBusy, busy.before + 6)
      // Only now does what they wait for come: after gc() had its chance.
      await server.waitFor({ event: 'started', tag })
      server.emit('tick', { n: 7 })
      server.send({ op: 'wake', tag })
      const done = await phase<Counts & { tick: number; answer: unknown; alive: boolean[] }>(probe, 'done')
      unlinkQuietly(done.replyQueues ?? [])
      expect(done.tick).toBe(7)
      expect(done.answer).toEqual({ tag })
      expect(done.alive).toEqual([false, false, false])
      about(done.after, done.before)
      expect(done.left).toEqual([])
    },
    PROCESS_TEST_TIMEOUT_MS,
  )
})
