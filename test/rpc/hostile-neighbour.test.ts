/**
 * A hostile local user against a root server (issue 12, items 1 and 2),
 * across real processes: the neighbour runs as uid 65534.
 *
 * 1. It holds as many half-open handshakes as it can (HELLO every few ms,
 *    never PROOF). Before maxHandshakesPerPrincipal, the only bound was the
 *    global maxHandshakes: the neighbour got all 32 CHALLENGEs and root's
 *    HELLO was refused RESOURCE_EXHAUSTED, so this test failed at
 *    "challenges 24" and again at root's connect.
 * 2. It takes over the name of a dead client's reply queue before the
 *    server reaps the session. The old reaper called mq_unlink on the name
 *    whenever the claimed pid had exited, so the neighbour's queue was gone
 *    afterwards and "still there" failed; the same-uid case (a new queue of
 *    root's under the old name) failed the same way, since only the inode
 *    tells the two queues apart.
 */
import { readFileSync, statSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { Code, MessageQueue } from '../../src/index.js'
import { queueExists, trackQueue, uniqueQueueName } from '../helpers/queues.js'
import { closeAfter, connect, startServer, useSecHarness } from '../helpers/sec.js'
import { type Child, NOBODY, spawnFixture } from '../helpers/spawn.js'

useSecHarness()

/** Why these tests cannot run here, or undefined when they can. */
function cannotRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root, to run the neighbour as uid 65534'
  // node runs the fixture as nobody: every directory up to the root must be searchable by others.
  for (let dir = process.cwd(); ; dir = dir.slice(0, dir.lastIndexOf('/')) || '/') {
    if ((statSync(dir).mode & 0o001) === 0) return `uid 65534 cannot enter ${dir}`
    if (dir === '/') return undefined
  }
}
const skip = cannotRun()
if (skip !== undefined) console.warn(`hostile-neighbour.test.ts skipped: ${skip}`)

// Only where /dev/mqueue shows the queues can an inode tell two queues of one owner apart.
const mqueueMounted = readFileSync('/proc/mounts', 'utf8').includes(' /dev/mqueue mqueue ')

const HOSTILE = `unix:${NOBODY}:${NOBODY}`

/** The server's count of `principal`'s handshakes in progress (internal, for assertions). */
function handshakesOf(server: object, principal: string): number {
  return (server as { sessions: { handshakesOf(p: string): number } }).sessions.handshakesOf(principal)
}

/** The owner uid of queue `name`, as the kernel says. */
function ownerUid(name: string): number {
  const queue = MessageQueue.open(name, { access: 'write' })
  try {
    return queue.owner().uid
  } finally {
    void queue.close()
  }
}

describe.skipIf(skip !== undefined)('a neighbour holding half-open handshakes (uid 65534)', () => {
  it('uses up only its own share: another principal still connects; its extra HELLOs get RESOURCE_EXHAUSTED naming maxHandshakesPerPrincipal', async () => {
    // Long enough that no half-open handshake expires during the test.
    const { server, queue } = await startServer({ handshakeTimeoutMs: 120_000 })
    const reply = uniqueQueueName('hostile-reply')
    const paths = Array.from({ length: 32 }, (_, i) => trackQueue(`${reply}.${i}`))
    const flood = spawnFixture('hostile-neighbour.ts', ['flood', queue, 'sec', reply, '3', '32'], { asUser: NOBODY })
    try {
      // 32 reply queues named in turn: 24 half-open handshakes are held, and
      // HELLOs on the other 8 queues are refused (a HELLO on a queue already
      // held supersedes its own handshake, so it is answered again).
      await flood.waitForLine(/^reject 8 /, 60_000)
      expect(handshakesOf(server, HOSTILE)).toBe(24)
      const reject = flood.lines().find((line) => line.startsWith('reject 1 ')) ?? ''
      expect(reject).toBe(
        `reject 1 ${Code.RESOURCE_EXHAUSTED} ${HOSTILE} has 24 handshakes in progress (maxHandshakesPerPrincipal); finish them or wait 120000 ms`,
      )

      // Root's clients still get in while the neighbour keeps sending HELLOs.
      const first = await connect(queue)
      const second = await connect(queue)
      expect(await first.add({ a: 2, b: 3 })).toBe(5)
      expect(await second.whoami({})).toMatchObject({ uid: 0 })
      expect(server.sessionCount).toBe(2)
      expect(flood.running).toBe(true)
      expect(handshakesOf(server, HOSTILE)).toBe(24)
    } finally {
      flood.send('stop')
      await flood.waitForLine('stopped', 20_000)
    }
    for (const path of paths) expect(queueExists(path)).toBe(false)
  }, 120_000)

  it('holds one handshake per reply queue: HELLOs repeated on one queue (its own or a victim’s) supersede each other', async () => {
    const { server, queue } = await startServer({ handshakeTimeoutMs: 120_000 })
    const reply = uniqueQueueName('hostile-reply')
    trackQueue(`${reply}.0`)
    const flood = spawnFixture('hostile-neighbour.ts', ['flood', queue, 'sec', reply, '3', '1'], { asUser: NOBODY })
    try {
      await flood.waitForLine('challenge 40', 60_000)
      expect(handshakesOf(server, HOSTILE)).toBe(1)
      expect(flood.lines().some((line) => line.startsWith('reject '))).toBe(false)
    } finally {
      flood.send('stop')
      await flood.waitForLine('stopped', 20_000)
    }
  }, 120_000)
})

/** A server of its own, and one root client process connected to it; returns both and the client's reply queue. */
async function serverWithClient(): Promise<{ server: Child; client: Child; reply: string; pid: number }> {
  const queue = uniqueQueueName('reaper')
  trackQueue(`${queue}.urgent`)
  // heartbeatMs 400: the reaper looks every 200 ms.
  const server = spawnFixture('reaper-server.ts', [queue, JSON.stringify({ heartbeatMs: 400 })])
  await server.waitForLine('ready', 20_000)
  const client = closeAfter(spawnFixture('sec-client.ts', [queue, '1']))
  await client.waitForLine('connected 1', 20_000)
  const reply = trackQueue((client.lines().find((line) => line.startsWith('reply ')) ?? '').slice('reply '.length))
  await server.waitForLine(/^session /, 20_000)
  return { server, client, reply, pid: client.process.pid as number }
}

/** Kills the client with SIGKILL (so it leaves its reply queue) while the server cannot reap, runs `meanwhile`, lets the server go on, and waits until it has reaped the session. */
async function reapAfter(server: Child, client: Child, pid: number, meanwhile: () => Promise<void>): Promise<void> {
  server.process.kill('SIGSTOP')
  try {
    await client.kill()
    await meanwhile()
  } finally {
    server.process.kill('SIGCONT')
  }
  await server.waitForLine(new RegExp(`^ended \\S+ ${Code.UNAVAILABLE} client process ${pid} exited$`), 20_000)
  server.send('close')
  await server.waitForLine('closed', 20_000)
}

describe.skipIf(skip !== undefined)('the reaper and a reply queue name taken over', () => {
  it('leaves the queue of another user that took the name after the client exited', async () => {
    const { server, client, reply, pid } = await serverWithClient()
    await reapAfter(server, client, pid, async () => {
      expect(queueExists(reply)).toBe(true)
      MessageQueue.unlink(reply)
      expect(await spawnFixture('hostile-neighbour.ts', ['take', reply], { asUser: NOBODY }).success()).toBe('took\n')
      expect(ownerUid(reply)).toBe(NOBODY)
    })
    // The session was reaped, and the neighbour's queue is untouched.
    expect(queueExists(reply)).toBe(true)
    expect(ownerUid(reply)).toBe(NOBODY)
    MessageQueue.unlink(reply)
  }, 60_000)

  it.skipIf(!mqueueMounted)(
    'leaves a new queue of the same user under the old name (another inode)',
    async () => {
      const { server, client, reply, pid } = await serverWithClient()
      let inode = 0
      await reapAfter(server, client, pid, async () => {
        MessageQueue.unlink(reply)
        await MessageQueue.open(reply, { create: true, exclusive: true, access: 'read', maxMessages: 2, messageSize: 64 }).close()
        inode = statSync(`/dev/mqueue${reply}`).ino
      })
      expect(queueExists(reply)).toBe(true)
      expect(statSync(`/dev/mqueue${reply}`).ino).toBe(inode)
      MessageQueue.unlink(reply)
    },
    60_000,
  )

  it('removes the reply queue when it is still the one the session opened', async () => {
    const { server, client, reply, pid } = await serverWithClient()
    await reapAfter(server, client, pid, async () => {
      expect(queueExists(reply)).toBe(true)
    })
    expect(queueExists(reply)).toBe(false)
  }, 60_000)
})
