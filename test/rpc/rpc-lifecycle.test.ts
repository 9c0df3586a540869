/**
 * Sessions over their whole life, across real processes: server push to
 * every client, lifecycle events, a server killed with SIGKILL and another
 * taking over its queue, a client killed mid-call, and orderly shutdown of
 * either side with calls in flight.
 */
import { describe, expect, it, vi } from 'vitest'
import { Code, MessageQueue, type RpcError } from '../../src/index.js'
import { pattern, sha256 } from '../fixtures/rpc-service.js'
import { queueExists, uniqueQueueName } from '../helpers/queues.js'
import { connect, type Line, PROCESS_TEST_TIMEOUT_MS, spawnClient, spawnServer, useRpcHarness } from '../helpers/rpc.js'
import { rejection, until } from '../helpers/wait.js'

useRpcHarness()
vi.setConfig({ testTimeout: PROCESS_TEST_TIMEOUT_MS, hookTimeout: PROCESS_TEST_TIMEOUT_MS })

// Short heartbeats keep the dead-peer tests fast: a peer silent for three
// intervals (1.5 s) is gone. Not shorter: a loaded machine must not make a
// live peer look dead.
const HEARTBEAT = { heartbeatMs: 500 }

describe('events', () => {
  it('server.emit reaches every connected client, in order, with the typed payload', async () => {
    const queue = uniqueQueueName('events')
    const server = await spawnServer(queue)
    const procs = await Promise.all([spawnClient(queue), spawnClient(queue), spawnClient(queue)])
    const client = await connect(queue)
    const ticks: number[] = []
    const notes: { text: string; data: Uint8Array }[] = []
    client.on('tick', (payload) => ticks.push(payload.n))
    client.on('note', (payload) => notes.push(payload))
    await until(() => server.linesWith({ event: 'session' }).length === 4, 'four sessions are open')
    for (let n = 1; n <= 20; n++) server.emit('tick', { n })
    server.emit('note', { text: 'hello', data: { $bytes: 3000, seed: 3 } })
    const note = { text: 'hello', data: { $bytes: 3000, sha256: sha256(pattern(3000, 3)) } }
    for (const proc of procs) {
      await proc.waitFor({ event: 'note' })
      expect(proc.linesWith({ event: 'tick' }).map((line) => (line.payload as { n: number }).n)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      )
      expect(proc.linesWith({ event: 'note' }).map((line) => line.payload)).toEqual([note])
    }
    await until(() => notes.length === 1, 'this process got the note')
    expect(ticks).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    expect(notes[0]?.text).toBe('hello')
    expect(notes[0]?.data).toBeInstanceOf(Uint8Array)
    expect(notes[0]?.data).toEqual(pattern(3000, 3))
  })

  it('a client closed before an emit no longer gets it; the others still do', async () => {
    const queue = uniqueQueueName('events-closed')
    const server = await spawnServer(queue)
    const [stays, leaves] = await Promise.all([spawnClient(queue), spawnClient(queue)])
    await leaves?.close()
    await server.waitFor({ event: 'sessionEnd' })
    server.emit('tick', { n: 7 })
    expect((await stays?.waitFor({ event: 'tick' }))?.payload).toEqual({ n: 7 })
    expect(server.linesWith({ event: 'error' })).toEqual([])
  })
})

describe('lifecycle events', () => {
  it("'connect' on the client; 'session' and 'sessionEnd' on the server with the peer's uid, gid and pid", async () => {
    const queue = uniqueQueueName('lifecycle')
    const server = await spawnServer(queue)
    const client = await connect(queue)
    let connected = 0
    client.on('connect', () => connected++)
    await until(() => connected === 1, "the client's 'connect' event")
    const session = await server.waitFor({ event: 'session' })
    expect(session.peer).toEqual({ principal: 'unix:0:0', uid: 0, gid: 0, pid: process.pid })
    const proc = await spawnClient(queue)
    const other = await server.waitFor({ event: 'session' }, undefined, (line) => (line.peer as { pid: number }).pid === proc.pid)
    expect(other.peer).toEqual({ principal: 'unix:0:0', uid: 0, gid: 0, pid: proc.pid })
    expect(other.id).not.toBe(session.id)

    await proc.close()
    const end = await server.waitFor({ event: 'sessionEnd', id: other.id })
    expect(end.peer).toEqual({ principal: 'unix:0:0', uid: 0, gid: 0, pid: proc.pid })
    expect(end.code).toBe(Code.CANCELLED)
    expect(queueExists(proc.replyQueue)).toBe(false)
    expect(connected).toBe(1)
  })

  it('client.close() fails its pending calls with CANCELLED, removes its reply queue, and the server sees sessionEnd', async () => {
    const queue = uniqueQueueName('client-close')
    const server = await spawnServer(queue)
    const client = await connect(queue)
    const session = await server.waitFor({ event: 'session' })
    const pending = rejection(client.sleep({ tag: 'held', ms: 30_000 }))
    await server.waitFor({ event: 'started', tag: 'held' })
    expect(queueExists(client.replyQueue)).toBe(true)
    await client.close()
    expect(client.state).toBe('closed')
    expect((await pending).code).toBe(Code.CANCELLED)
    expect(queueExists(client.replyQueue)).toBe(false)
    const end = await server.waitFor({ event: 'sessionEnd', id: session.id })
    expect(end.code).toBe(Code.CANCELLED)
    expect(end.peer).toEqual({ principal: 'unix:0:0', uid: 0, gid: 0, pid: process.pid })
    // The handler's signal aborts when its session ends.
    await server.waitFor({ event: 'aborted', tag: 'held' })
    // A closed client refuses new calls at once.
    expect((await rejection(client.add({ a: 1, b: 1 }))).code).toBe(Code.CANCELLED)
  })
})

describe('a server killed with SIGKILL', () => {
  it('fails calls in flight with UNAVAILABLE; a new server takes over the stale queue and the client reconnects on its own', async () => {
    const queue = uniqueQueueName('restart')
    const first = await spawnServer(queue, HEARTBEAT)
    const client = await connect(queue)
    const events: string[] = []
    const disconnects: RpcError[] = []
    client.on('disconnect', (reason) => {
      events.push('disconnect')
      disconnects.push(reason)
    })
    client.on('reconnect', () => events.push('reconnect'))
    expect(await client.add({ a: 1, b: 1 })).toBe(2)

    const inFlight = [
      rejection(client.sleep({ tag: 'doomed-1', ms: 30_000 })),
      rejection(client.sleep({ tag: 'doomed-2', ms: 30_000 }, { priority: 'urgent' })),
    ]
    await first.waitFor({ event: 'started', tag: 'doomed-1' })
    await first.waitFor({ event: 'started', tag: 'doomed-2' })
    const killedAt = performance.now()
    await first.kill()
    for (const error of await Promise.all(inFlight)) expect(error.code).toBe(Code.UNAVAILABLE)
    // Within the heartbeat window (3 x 500 ms), with plenty of room for a loaded machine.
    expect(performance.now() - killedAt).toBeLessThan(5000)
    expect(events).toEqual(['disconnect'])
    expect(disconnects[0]?.code).toBe(Code.UNAVAILABLE)
    expect(client.state).toBe('disconnected')
    // The dead server's queues are still there: stale.
    expect(queueExists(queue)).toBe(true)

    const second = await spawnServer(queue, HEARTBEAT)
    expect(second.linesWith({ event: 'ready' })).toHaveLength(1)
    await until(() => events.includes('reconnect'), 'the client reconnected')
    expect(events).toEqual(['disconnect', 'reconnect'])
    expect(client.state).toBe('open')
    expect(await client.add({ a: 2, b: 3 })).toBe(5)
    expect(await client.ping({ seq: 1 })).toMatchObject({ seq: 1, urgent: true })
    const session = await second.waitFor({ event: 'session' })
    expect(session.peer).toEqual({ principal: 'unix:0:0', uid: 0, gid: 0, pid: process.pid })
  })

  it('a call made while disconnected waits for the new server within its deadline, or fails DEADLINE_EXCEEDED', async () => {
    const queue = uniqueQueueName('wait-for-server')
    const first = await spawnServer(queue, HEARTBEAT)
    const client = await connect(queue)
    let disconnected = false
    client.on('disconnect', () => {
      disconnected = true
    })
    await first.kill()
    await until(() => disconnected, 'the client noticed the dead server')
    const waits = client.add({ a: 20, b: 22 }, { timeoutMs: 20_000 })
    const waitsUrgent = client.ping({ seq: 9 }, { timeoutMs: 20_000 })
    const tooShort = rejection(client.add({ a: 1, b: 1 }, { timeoutMs: 300 }))
    expect((await tooShort).code).toBe(Code.DEADLINE_EXCEEDED)
    await spawnServer(queue, HEARTBEAT)
    expect(await waits).toBe(42)
    expect(await waitsUrgent).toMatchObject({ seq: 9, urgent: true })
  })

  it('a client process reconnects on its own too, and says so', async () => {
    const queue = uniqueQueueName('restart-proc')
    const first = await spawnServer(queue, HEARTBEAT)
    const proc = await spawnClient(queue)
    const call = proc.call('sleep', { tag: 'cut', ms: 30_000 })
    await first.waitFor({ event: 'started', tag: 'cut' })
    await first.kill()
    const answer = await call
    expect(answer.code).toBe(Code.UNAVAILABLE)
    expect((await proc.waitFor({ event: 'disconnect' })).code).toBe(Code.UNAVAILABLE)
    await spawnServer(queue, HEARTBEAT)
    await proc.waitFor({ event: 'reconnect' })
    expect((await proc.call('add', { a: 3, b: 4 })).value).toBe(7)
  })

  it('a second server started while the first is alive is refused with ALREADY_EXISTS', async () => {
    const queue = uniqueQueueName('live')
    const first = await spawnServer(queue)
    const client = await connect(queue)
    const second = await spawnServer(queue)
    const refusal = second.linesWith({ event: 'startError' })[0] as Line
    expect(refusal.code).toBe(Code.ALREADY_EXISTS)
    expect(refusal.message).toContain(queue)
    expect((await second.child.finish()).code).toBe(3)
    // The first one goes on serving, on its own queues.
    expect(await client.add({ a: 1, b: 2 })).toBe(3)
    expect(queueExists(queue)).toBe(true)
    expect(first.running).toBe(true)
  })
})

describe('a client that does not reconnect', () => {
  it('fails calls with UNAVAILABLE once its session is lost, instead of waiting forever', async () => {
    const queue = uniqueQueueName('no-reconnect')
    const server = await spawnServer(queue, HEARTBEAT)
    const client = await connect(queue, { reconnect: false })
    let reconnected = false
    client.on('reconnect', () => {
      reconnected = true
    })
    const inFlight = rejection(client.sleep({ tag: 'cut', ms: 30_000 }))
    await server.waitFor({ event: 'started', tag: 'cut' })
    await server.kill()
    try {
      expect((await inFlight).code).toBe(Code.UNAVAILABLE)
      expect(client.state).toBe('disconnected')
      const error = await rejection(client.add({ a: 1, b: 1 }))
      expect(error.code).toBe(Code.UNAVAILABLE)
      expect(error.message).toContain('reconnect: false')
      expect(reconnected).toBe(false)
    } finally {
      // Nobody takes the dead server's queues over here: remove them.
      MessageQueue.unlink(queue)
      MessageQueue.unlink(`${queue}.urgent`)
    }
  })
})

describe('a client killed with SIGKILL mid-call', () => {
  it('is reaped: sessionEnd, its handler aborted, its reply queue removed; the others are served on', async () => {
    const queue = uniqueQueueName('reap')
    const server = await spawnServer(queue, HEARTBEAT)
    const survivor = await connect(queue)
    const victim = await spawnClient(queue)
    const session = await server.waitFor(
      { event: 'session' },
      undefined,
      (line) => (line.peer as { pid: number }).pid === victim.pid,
    )
    void victim.call('sleep', { tag: 'orphan', ms: 30_000 }).catch(() => undefined)
    await server.waitFor({ event: 'started', tag: 'orphan' })
    expect(queueExists(victim.replyQueue)).toBe(true)
    await victim.kill()
    const end = await server.waitFor({ event: 'sessionEnd', id: session.id })
    expect(end.peer).toEqual({ principal: 'unix:0:0', uid: 0, gid: 0, pid: victim.pid })
    expect(end.code).toBe(Code.UNAVAILABLE)
    const aborted = await server.waitFor({ event: 'aborted', tag: 'orphan' })
    expect(aborted.code).toBe(Code.UNAVAILABLE)
    await until(() => !queueExists(victim.replyQueue), "the victim's reply queue is removed")
    expect(await survivor.add({ a: 5, b: 5 })).toBe(10)
    const fresh = await spawnClient(queue)
    expect((await fresh.call('add', { a: 1, b: 1 })).value).toBe(2)
  })
})

describe('server close', () => {
  it('lets calls in flight finish, refuses new ones, tells clients and removes its queues', async () => {
    const queue = uniqueQueueName('drain')
    const server = await spawnServer(queue)
    const client = await connect(queue, { reconnect: false })
    const proc = await spawnClient(queue)
    const events: string[] = []
    client.on('disconnect', (reason) => events.push(`disconnect ${reason.code}`))
    const tags = ['a', 'b', 'c', 'd', 'e'].map((t) => `drain-${t}`)
    const running = tags.map((tag) => client.sleep({ tag, ms: 600 }))
    const procRunning = proc.call('sleep', { tag: 'drain-proc', ms: 600 })
    for (const tag of [...tags, 'drain-proc']) await server.waitFor({ event: 'started', tag })

    server.send({ op: 'close' })
    await until(() => client.state !== 'open', 'the client heard the server is draining')
    const late = rejection(client.add({ a: 1, b: 1 }))
    // Every call already running finishes with its own result.
    expect(await Promise.all(running)).toEqual(tags.map((tag) => ({ tag })))
    expect((await procRunning).value).toEqual({ tag: 'drain-proc' })
    // A call made while the server drains is not sent; with reconnect: false it fails when the session ends.
    expect((await late).code).toBe(Code.UNAVAILABLE)

    await server.waitFor({ event: 'closed' })
    expect((await server.child.finish()).code).toBe(0)
    expect(server.linesWith({ event: 'aborted' })).toEqual([])
    expect(server.linesWith({ event: 'sessionEnd' })).toHaveLength(2)
    expect(queueExists(queue)).toBe(false)
    expect(queueExists(`${queue}.urgent`)).toBe(false)
    await until(() => events.length > 0, "the client's disconnect event")
    expect(events).toEqual([`disconnect ${Code.UNAVAILABLE}`])
    expect((await proc.waitFor({ event: 'disconnect' })).code).toBe(Code.UNAVAILABLE)
    // With the server gone and no reconnect, a new call fails UNAVAILABLE at once.
    const after = await rejection(client.add({ a: 1, b: 1 }))
    expect(after.code).toBe(Code.UNAVAILABLE)
    expect(after.message).toContain('reconnect: false')
  })

  it('cancels calls still running after shutdownGraceMs with UNAVAILABLE', async () => {
    const queue = uniqueQueueName('grace')
    const server = await spawnServer(queue, { shutdownGraceMs: 300 })
    const client = await connect(queue, { reconnect: false })
    const stuck = rejection(client.sleep({ tag: 'stuck', ms: 30_000 }))
    const quick = client.sleep({ tag: 'quick', ms: 100 })
    await server.waitFor({ event: 'started', tag: 'stuck' })
    server.send({ op: 'close' })
    expect(await quick).toEqual({ tag: 'quick' })
    const error = await stuck
    expect(error.code).toBe(Code.UNAVAILABLE)
    expect(error.message).toContain('shut down')
    await server.waitFor({ event: 'aborted', tag: 'stuck' })
    await server.waitFor({ event: 'closed' })
    expect(queueExists(queue)).toBe(false)
  })
})
