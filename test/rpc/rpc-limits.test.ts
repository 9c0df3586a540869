/**
 * Every limit of docs/SECURITY.md with the error a caller sees: sessions
 * in total and per uid, calls in flight, call rate, body size, handshake
 * time, idle time (heartbeats) and a slow reader; and the queue budget: at
 * least 40 clients fit beside a server in one user's RLIMIT_MSGQUEUE.
 */
import { accessSync, constants, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { Code, kernelLimits, MessageQueue, queueCost, type RpcError, type SessionInfo } from '../../src/index.js'
import {
  DEFAULT_REPLY_MAX_MESSAGES,
  DEFAULT_REPLY_MESSAGE_SIZE,
  DEFAULT_SERVICE_MAX_MESSAGES,
  DEFAULT_SERVICE_MESSAGE_SIZE,
} from '../../src/internal.js'
import { secHandlers } from '../fixtures/sec-service.js'
import { FrameType, pack, rawFrame } from '../fixtures/sec-wire.js'
import { queueExists, trackQueue, uniqueQueueName } from '../helpers/queues.js'
import { closeAfter, connect, descriptorsOn, heldSessions, rawPeer, startServer, stats, useSecHarness } from '../helpers/sec.js'
import { type Child, NOBODY, spawnFixture } from '../helpers/spawn.js'
import { rejection, sleep, until } from '../helpers/wait.js'

useSecHarness()

/** A handler for `hold` that waits until the test lets every held call go. */
function heldCalls() {
  let release!: () => void
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  let started = 0
  const handlers = secHandlers(async ({ id }) => {
    started++
    await released
    return id
  })
  return { handlers, release, started: () => started }
}

/** Spawns sec-client.ts with `count` clients of `queue`, tracks their reply queues, waits until all are connected. */
async function clientProcess(queue: string, count: number, asUser?: number): Promise<Child> {
  const child = closeAfter(spawnFixture('sec-client.ts', [queue, String(count)], asUser === undefined ? {} : { asUser }))
  await child.waitForLine(/^(connected|connect-error) /, 30_000)
  for (const line of child.lines()) if (line.startsWith('reply ')) trackQueue(line.slice('reply '.length))
  expect(child.lines().at(-1)).toBe(`connected ${count}`)
  return child
}

describe('sessions', () => {
  it('maxSessions: the next createClient rejects with RESOURCE_EXHAUSTED naming the option; a freed slot is usable again', async () => {
    const { server, queue } = await startServer({ maxSessions: 2 })
    const first = await connect(queue)
    await connect(queue)
    const error = await rejection(connect(queue))
    expect(error.code).toBe(Code.RESOURCE_EXHAUSTED)
    expect(error.message).toContain('server has its maximum of 2 sessions (maxSessions)')
    await first.close()
    await until(() => server.sessionCount === 1, 'the server saw the GOODBYE')
    const third = await connect(queue)
    expect(await third.add({ a: 1, b: 2 })).toBe(3)
  })

  it('maxSessionsPerPrincipal: the next createClient of that principal rejects with RESOURCE_EXHAUSTED naming the option', async () => {
    const { server, queue } = await startServer({ maxSessionsPerPrincipal: 1 })
    await connect(queue)
    const error = await rejection(connect(queue))
    expect(error.code).toBe(Code.RESOURCE_EXHAUSTED)
    expect(error.message).toContain(
      `unix:${process.getuid?.()}:${process.getgid?.()} has its maximum of 1 sessions (maxSessionsPerPrincipal)`,
    )
    expect(server.sessionCount).toBe(1)
  })
})

describe('calls', () => {
  it('maxInFlight: a peer that sends past it is refused RESOURCE_EXHAUSTED naming maxInFlight; a typed client waits instead', async () => {
    const held = heldCalls()
    const { queue } = await startServer({ maxInFlight: 2 }, held.handlers)
    const peer = rawPeer(queue)
    expect(await peer.handshake()).toMatchObject({ maxInFlight: 2 })
    const ids = [peer.callId(), peer.callId(), peer.callId()]
    for (const [i, id] of ids.entries()) await peer.send(peer.request(id, pack(['hold', { id: `raw${i}`, ms: 0 }, null])))
    const refused = await peer.replyTo(ids[2] as number)
    expect(refused.type).toBe(FrameType.ERROR)
    expect(refused.body).toMatchObject({ code: Code.RESOURCE_EXHAUSTED })
    expect((refused.body as { message: string }).message).toContain("session has 2 calls in flight, the server's maxInFlight")
    // The typed client learnt the limit in its WELCOME: its third call waits for room, and all three finish.
    const client = await connect(queue)
    const calls = [client.hold({ id: 'one', ms: 0 }), client.hold({ id: 'two', ms: 0 }), client.hold({ id: 'three', ms: 0 })]
    await until(() => held.started() === 4, 'two raw calls and two of the client’s are running')
    held.release()
    expect(await Promise.all(calls)).toEqual(['one', 'two', 'three'])
    expect((await peer.replyTo(ids[0] as number)).body).toBe('raw0')
    expect((await peer.replyTo(ids[1] as number)).body).toBe('raw1')
  })

  it('maxCallsPerSecond: a burst past the rate is RESOURCE_EXHAUSTED naming the option; the bucket refills', async () => {
    const { queue } = await startServer({ maxCallsPerSecond: 1 })
    const client = await connect(queue)
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => client.add({ a: i, b: 0 })))
    expect(results[0]).toEqual({ status: 'fulfilled', value: 0 })
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as RpcError)
    // One token a second: the burst cannot all pass unless the machine stalled for seconds.
    expect(refused.length).toBeGreaterThanOrEqual(3)
    for (const error of refused) {
      expect(error.code).toBe(Code.RESOURCE_EXHAUSTED)
      expect(error.message).toContain('session exceeds 1 calls per second (maxCallsPerSecond)')
    }
    await sleep(1_100)
    expect(await client.add({ a: 1, b: 1 })).toBe(2)
  })

  it('maxCallsPerSecondPerPrincipal: the rate is shared by every session of the principal', async () => {
    const { queue } = await startServer({ maxCallsPerSecondPerPrincipal: 2 })
    const [a, b] = [await connect(queue), await connect(queue)]
    const results = await Promise.allSettled([a, b, a, b, a, b].map((client, i) => client.add({ a: i, b: 0 })))
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as RpcError)
    expect(refused.length).toBeGreaterThanOrEqual(2)
    for (const error of refused) {
      expect(error.code).toBe(Code.RESOURCE_EXHAUSTED)
      expect(error.message).toContain(
        `unix:${process.getuid?.()}:${process.getgid?.()} exceeds 2 calls per second (maxCallsPerSecondPerPrincipal)`,
      )
    }
  })

  it('maxBodyBytes: a request larger than the server takes is refused before it is sent, naming maxBodyBytes', async () => {
    const { queue } = await startServer({ maxBodyBytes: 1_000 })
    const client = await connect(queue)
    const error = await rejection(client.hold({ id: 'x'.repeat(2_000), ms: 0 }))
    expect(error.code).toBe(Code.RESOURCE_EXHAUSTED)
    expect(error.message).toMatch(/input of 'hold' is \d+ bytes; the server accepts at most 1000 \(its maxBodyBytes\)/)
    expect(await client.hold({ id: 'x'.repeat(500), ms: 0 })).toHaveLength(500)
  })

  it('a client’s own maxBodyBytes: a larger reply fails that call with RESOURCE_EXHAUSTED, and the client keeps working', async () => {
    const { queue } = await startServer()
    const client = await connect(queue, { maxBodyBytes: 200 })
    const error = await rejection(client.hold({ id: 'y'.repeat(5_000), ms: 0 }))
    expect(error.code).toBe(Code.RESOURCE_EXHAUSTED)
    expect(error.message).toContain('exceeds the limit of 200 bytes (maxBodyBytes)')
    expect(await client.add({ a: 2, b: 2 })).toBe(4)
  })
})

describe('time limits', () => {
  it('handshake: a HELLO without PROOF is dropped after handshakeTimeoutMs and its reply queue descriptor closed', async () => {
    // Long enough that the checks below run before it passes, even on a loaded machine.
    const { server, queue } = await startServer({ handshakeTimeoutMs: 1_500 })
    const sessions: SessionInfo[] = []
    server.on('session', (info) => sessions.push(info))
    const peer = rawPeer(queue)
    expect(descriptorsOn(peer.reply.name)).toBe(1)
    await peer.sendHello()
    const challenge = await peer.next()
    expect(challenge.type).toBe(FrameType.CHALLENGE)
    // The server holds the reply queue open for the handshake...
    expect(heldSessions(server)).toBe(1)
    expect(descriptorsOn(peer.reply.name)).toBe(2)
    expect(server.sessionCount).toBe(0)
    // ...and lets go of it when no PROOF comes in time.
    await until(() => heldSessions(server) === 0, 'the handshake timed out')
    expect(descriptorsOn(peer.reply.name)).toBe(1)
    // A PROOF that comes late belongs to nothing.
    await peer.send(rawFrame({ type: FrameType.PROOF, token: challenge.token }))
    const client = await connect(queue)
    expect((await stats(client)).dropped.unknownSession).toBe(1)
    expect(peer.drain()).toEqual([])
    expect(sessions).toHaveLength(1) // the client's, not the raw peer's
  })

  it('idle: a client stopped (SIGSTOP) for more than 3 heartbeats loses its session; once continued it reconnects by itself', async () => {
    const { server, queue } = await startServer({ heartbeatMs: 500 })
    const ends: [SessionInfo, RpcError][] = []
    server.on('sessionEnd', (info, reason) => ends.push([info, reason]))
    const child = await clientProcess(queue, 1)
    const pid = child.process.pid as number
    await until(() => server.sessionCount === 1, 'the child is connected')
    child.process.kill('SIGSTOP')
    try {
      await until(() => ends.length === 1, 'the server ended the silent session')
    } finally {
      child.process.kill('SIGCONT')
    }
    const [info, reason] = ends[0] as [SessionInfo, RpcError]
    expect(info.peer.pid).toBe(pid)
    expect(reason.code).toBe(Code.UNAVAILABLE)
    expect(reason.message).toContain('client silent for 1500 ms (heartbeatMs 500)')
    // The process is alive, so its reply queue was left alone.
    const reply = child
      .lines()
      .find((l) => l.startsWith('reply '))
      ?.slice('reply '.length) as string
    expect(queueExists(reply)).toBe(true)
    await child.waitForLine(/^disconnect 0 14 /)
    await child.waitForLine('reconnect 0')
    await until(() => server.sessionCount === 1, 'the server has the new session')
    child.send('call')
    const called = await child.waitForLine(/^called /)
    expect(JSON.parse(called.slice('called '.length))).toEqual([
      { principal: `unix:${process.getuid?.()}:${process.getgid?.()}`, uid: process.getuid?.(), gid: process.getgid?.(), pid },
    ])
  })

  it('slow reader: a session whose reply queue stays full is ended after slowReaderMs; the server keeps serving others', async () => {
    const { server, queue } = await startServer({ slowReaderMs: 1_000, heartbeatMs: 5_000 })
    const ends: [SessionInfo, RpcError][] = []
    server.on('sessionEnd', (info, reason) => ends.push([info, reason]))
    const other = await connect(queue)
    let ticks = 0
    other.on('tick', () => ticks++)
    const child = await clientProcess(queue, 1)
    const reply = child
      .lines()
      .find((l) => l.startsWith('reply '))
      ?.slice('reply '.length) as string
    await until(() => server.sessionCount === 2, 'both are connected')
    child.process.kill('SIGSTOP')
    const events = 30
    try {
      // One event per turn of the event loop: each is a queue message of its own.
      for (let n = 0; n < events; n++) {
        server.emit('tick', { n })
        await new Promise((resolve) => setImmediate(resolve))
      }
      await until(() => ends.length === 1, 'the server ended the slow reader’s session')
    } finally {
      child.process.kill('SIGCONT')
    }
    const [info, reason] = ends[0] as [SessionInfo, RpcError]
    expect(info.peer.pid).toBe(child.process.pid)
    expect(reason.code).toBe(Code.RESOURCE_EXHAUSTED)
    expect(reason.message).toContain(`could not write to reply path ${reply}`)
    expect(reason.message).toContain('(slowReaderMs 1000: the client is not reading its replies)')
    expect(server.sessionCount).toBe(1)
    await until(() => ticks === events, 'the other client got every event')
    expect(await other.add({ a: 3, b: 4 })).toBe(7)
    // The stopped client had its queue's slots' worth of messages waiting, one event each.
    child.send('ticks')
    expect(await child.waitForLine(/^ticks /)).toBe(`ticks [${DEFAULT_REPLY_MAX_MESSAGES}]`)
  })
})

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** Whether uid 65534 can read the repository (it needs to, to run a TypeScript fixture). */
function nobodyCanRunFixtures(): boolean {
  if (process.getuid?.() !== 0) return false
  // Every directory up to the root must be searchable by others, and the files readable.
  for (let dir = repoRoot; ; dir = dirname(dir)) {
    try {
      accessSync(dir, constants.X_OK)
    } catch {
      return false
    }
    if ((statSync(dir).mode & 0o001) === 0) return false
    if (dir === dirname(dir)) break
  }
  return true
}

describe('the queue budget', () => {
  it('40 clients with default reply queues fit beside a server with default queues in one user’s RLIMIT_MSGQUEUE', async () => {
    const budget = kernelLimits().rlimitMsgqueue ?? 819_200
    const server = queueCost(DEFAULT_SERVICE_MAX_MESSAGES, DEFAULT_SERVICE_MESSAGE_SIZE) * 2
    const clients = queueCost(DEFAULT_REPLY_MAX_MESSAGES, DEFAULT_REPLY_MESSAGE_SIZE) * 40
    expect(server + clients).toBeLessThanOrEqual(budget)
    // Run it for real, all of it as one user. As nobody when we can: that
    // user's budget is not shared with the other test files (root's is).
    const asUser = nobodyCanRunFixtures() ? NOBODY : undefined
    const queue = uniqueQueueName('budget')
    trackQueue(`${queue}.urgent`)
    // Default queue sizes, and room for 64 sessions of one principal: this is about the queue budget.
    // Slow heartbeats: a server starved of CPU by the other test files is not what this is about either.
    const serverProcess = spawnFixture(
      'sec-server.ts',
      [queue, JSON.stringify({ maxSessionsPerPrincipal: 64, heartbeatMs: 5000 })],
      asUser === undefined ? {} : { asUser },
    )
    await serverProcess.waitForLine('ready', 20_000)
    const requests = MessageQueue.open(queue, { access: 'write' })
    try {
      expect(requests.attributes()).toMatchObject({
        maxMessages: DEFAULT_SERVICE_MAX_MESSAGES,
        messageSize: DEFAULT_SERVICE_MESSAGE_SIZE,
      })
      expect(requests.owner().uid).toBe(asUser ?? process.getuid?.())
    } finally {
      await requests.close()
    }
    // One process after the other: 40 handshakes of one principal at once would
    // meet maxHandshakesPerPrincipal (24), which is not what this test is about.
    const processes = [await clientProcess(queue, 20, asUser), await clientProcess(queue, 20, asUser)]
    for (const child of processes) {
      const reply = child
        .lines()
        .find((l) => l.startsWith('reply '))
        ?.slice('reply '.length) as string
      const q = MessageQueue.open(reply, { access: 'write' })
      expect(q.attributes()).toMatchObject({ maxMessages: DEFAULT_REPLY_MAX_MESSAGES, messageSize: DEFAULT_REPLY_MESSAGE_SIZE })
      expect(q.owner().uid).toBe(asUser ?? process.getuid?.())
      await q.close()
    }
    for (const child of processes) child.send('call')
    for (const child of processes) {
      const line = await child.waitForLine(/^(called|call-error) /, 30_000)
      const peers = JSON.parse(line.slice('called '.length)) as { uid: number }[]
      expect(peers).toHaveLength(20)
      for (const peer of peers) expect(peer.uid).toBe(asUser ?? process.getuid?.())
    }
    for (const child of processes) child.send('close')
    for (const child of processes) expect(await child.success(20_000)).toContain('closed')
    serverProcess.send('close')
    const closed = (await serverProcess.success(20_000)).match(/^closed (\{.*\})$/m)?.[1]
    const { sessions } = JSON.parse(closed ?? '{}') as { sessions?: number }
    // One session per client, unless a client lost its session and
    // reconnected (a machine loaded by other tests can starve a process past
    // three missed heartbeats; reconnecting is then what a client should
    // do), which takes at least one more.
    const lost = processes.flatMap((child) => child.lines().filter((line) => /^(disconnect|reconnect) /.test(line)))
    const reconnects = lost.filter((line) => line.startsWith('reconnect ')).length
    const why = `sessions the server opened; the clients saw: ${lost.join('; ') || 'nothing lost'}`
    if (lost.length === 0) expect(sessions, why).toBe(40)
    else expect(sessions, why).toBeGreaterThanOrEqual(40 + reconnects)
    expect(queueExists(queue)).toBe(false)
  }, 90_000)
})
