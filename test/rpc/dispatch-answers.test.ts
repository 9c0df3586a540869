/**
 * Which answer a call gets in the two cases docs/PROTOCOL.md ("How the
 * server handles a REQUEST") had wrong (issue 12, item 3), seen from a raw
 * peer that reads every frame of its reply queue:
 *
 * - a call whose deadline passes while it waits for a slot never starts and
 *   is answered DEADLINE_EXCEEDED (the server used to send nothing, so a
 *   client without a timer of its own waited for ever);
 * - a REQUEST reusing a call id in flight is dropped and counted (the server
 *   used to answer it with an ERROR carrying that id, which the caller took
 *   for the running call's answer).
 */
import { describe, expect, it } from 'vitest'
import { Code } from '../../src/index.js'
import { secHandlers } from '../fixtures/sec-service.js'
import { FrameType, pack } from '../fixtures/sec-wire.js'
import { rawPeer, startServer, useSecHarness } from '../helpers/sec.js'
import { sleep, until } from '../helpers/wait.js'

useSecHarness()

/** A `hold` handler that waits until the test lets every held call go. */
function heldCalls() {
  let started = 0
  let release!: () => void
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  const handlers = secHandlers(async ({ id }) => {
    started++
    await released
    return id
  })
  return { handlers, release, started: () => started }
}

describe('a call that never starts', () => {
  it('is answered DEADLINE_EXCEEDED when its deadline passed while it waited for a slot', async () => {
    const held = heldCalls()
    const { queue } = await startServer({ concurrency: 1, urgentReserve: 0 }, held.handlers)
    const peer = rawPeer(queue)
    await peer.handshake()
    const first = peer.callId()
    await peer.send(peer.request(first, pack(['hold', { id: 'first', ms: 0 }, null])))
    await until(() => held.started() === 1, 'the first call holds the only slot')
    const late = peer.callId()
    const deadline = Date.now() + 300
    await peer.send(peer.request(late, pack(['hold', { id: 'late', ms: 0 }, deadline])))
    const figures = await peer.call('$stats', {})
    expect(figures.body).toMatchObject({ waiting: 1 })
    while (Date.now() <= deadline) await sleep(deadline + 1 - Date.now())
    held.release()
    expect((await peer.replyTo(first)).body).toBe('first')
    const answer = await peer.replyTo(late)
    expect(answer.type).toBe(FrameType.ERROR)
    expect(answer.body).toMatchObject({
      code: Code.DEADLINE_EXCEEDED,
      message: "deadline of 'hold' passed while the call waited for a slot",
    })
    expect(held.started()).toBe(1)
  })
})

describe('a REQUEST reusing a call id in flight', () => {
  it('is dropped and counted, whatever it holds; the running call gets its one answer', async () => {
    const held = heldCalls()
    const { queue, errors } = await startServer({}, held.handlers)
    const peer = rawPeer(queue)
    await peer.handshake()
    const before = (await peer.call('$stats', {})).body as { dropped: { malformed: number } }
    const id = peer.callId()
    await peer.send(peer.request(id, pack(['hold', { id: 'running', ms: 0 }, null])))
    await until(() => held.started() === 1, 'the call is running')
    // A valid call, an unknown method, a body that is not a REQUEST, a built-in: each drew an ERROR (or a RESPONSE) under this id.
    for (const body of [
      pack(['add', { a: 1, b: 2 }, null]),
      pack(['nope', {}, null]),
      pack('not a request'),
      pack(['$stats', {}, null]),
    ]) {
      await peer.send(peer.request(id, body))
    }
    const after = (await peer.call('$stats', {})).body as { dropped: { malformed: number } }
    expect(after.dropped.malformed - before.dropped.malformed).toBe(4)
    expect(errors.map((e) => e.message).filter((m) => m.includes(`call id ${id} is already in flight`))).toHaveLength(4)
    expect(peer.drain().filter((frame) => frame.callId === id)).toEqual([])
    held.release()
    const answer = await peer.replyTo(id)
    expect(answer.type).toBe(FrameType.RESPONSE)
    expect(answer.body).toBe('running')
    // Flush what else the server had to say: nothing more for that id.
    await peer.call('$stats', {})
    expect(peer.drain().filter((frame) => frame.callId === id)).toEqual([])
    expect(held.started()).toBe(1)
  })
})
