/**
 * Flow control in one process over the in-memory transport, whose
 * endpoints are bounded like kernel queues: the client keeps to the
 * server's maxInFlight instead of being refused, senders wait for room when
 * an endpoint is full (back-pressure, not failure), and a client that stops
 * reading its replies loses its session after slowReaderMs. A Gate stops a
 * side from reading, so its endpoint fills up for real.
 */
import { describe, expect, it } from 'vitest'
import { Code, type RpcError, type SessionInfo } from '../../src/index.js'
import { Gate, useMemoryHarness } from '../helpers/memory.js'
import { rejection, until } from '../helpers/wait.js'

const mem = useMemoryHarness()

/** Senders waiting for room in the endpoint at `address` (the network's own count). */
function waitingSends(address: string): number {
  return mem.network.find(address)?.waitingSends ?? 0
}

describe("the server's maxInFlight", () => {
  it('the client sends no more than maxInFlight calls at once; the rest wait, none is refused', async () => {
    const { held } = await mem.server({ maxInFlight: 2 })
    const client = await mem.client()
    const calls = Array.from({ length: 6 }, (_, i) => client.hold({ id: `h${i}` }))
    await until(() => held.calls.size === 2, 'two calls run')
    // Room on the server, but the client holds the rest back.
    await new Promise((resolve) => setImmediate(resolve))
    expect(held.calls.size).toBe(2)
    for (let released = 0; released < 6; released++) {
      await until(() => held.calls.size > released, `call ${released} runs`)
      held.calls.get(`h${released}`)?.release()
    }
    expect(await Promise.all(calls)).toEqual(['h0', 'h1', 'h2', 'h3', 'h4', 'h5'])
    expect(held.peak).toBe(2)
  })

  // Regression: the server counted one-way calls against maxInFlight and refused them, which a
  // one-way caller never hears; one-way calls now have room of their own beside maxInFlight.
  it('one-way calls take no slot: one made while maxInFlight calls run still runs', async () => {
    const { held } = await mem.server({ maxInFlight: 1 })
    const client = await mem.client()
    const running = client.hold({ id: 'busy' })
    await until(() => held.calls.has('busy'), 'the held call runs')
    await client.log({ line: 'passes' })
    // Same lane, in order: once another session's later call is answered, the server has taken the one-way call.
    const other = await mem.client({ principal: 'memory:other' })
    expect(await other.add({ a: 1, b: 1 })).toBe(2)
    held.calls.get('busy')?.release()
    expect(await running).toBe('busy')
    await until(() => held.lines.length === 1, 'the one-way call ran', 2000)
    expect(held.lines).toEqual(['passes'])
  })
})

describe('back-pressure', () => {
  it("calls wait for room in a server's full request lane, then all go through", async () => {
    const gate = new Gate()
    const { held } = await mem.server({ gate, maxMessages: 2 })
    const client = await mem.client()
    gate.pause()
    // Each input is too big to share a message with another, so each takes a slot.
    const lines = Array.from({ length: 8 }, (_, i) => `${i}`.padEnd(5000, '.'))
    const sends = lines.map((line) => client.log({ line }))
    await until(() => waitingSends('mem.service') > 0, 'the lane is full and the client waits')
    gate.resume()
    await Promise.all(sends)
    await until(() => held.lines.length === lines.length, 'every call arrived')
    expect(held.lines).toEqual(lines)
  })

  it("replies wait for room in a client's full reply path, within slowReaderMs", async () => {
    await mem.server({ slowReaderMs: 60_000 })
    const gate = new Gate()
    const client = await mem.client({ gate, replyMaxMessages: 2, replyMessageSize: 1024 })
    gate.pause()
    const calls = Array.from({ length: 6 }, () => client.text({ bytes: 900 }))
    await until(() => waitingSends(client.replyQueue) > 0, 'the reply path is full and the server waits')
    gate.resume()
    const replies = await Promise.all(calls)
    expect(replies.every((reply) => reply.length === 900)).toBe(true)
  })
})

describe('a slow reader', () => {
  it('loses its session after slowReaderMs without reading; the server stays free for others', async () => {
    const { server } = await mem.server({ slowReaderMs: 200, heartbeatMs: 100 })
    const ended = new Promise<[SessionInfo, RpcError]>((resolve) => server.once('sessionEnd', (...args) => resolve(args)))
    const gate = new Gate()
    const slow = await mem.client({ gate, reconnect: false, replyMaxMessages: 1, replyMessageSize: 1024 })
    gate.pause()
    const calls = Array.from({ length: 4 }, () => slow.text({ bytes: 900 }))
    const [, reason] = await ended
    expect(reason.code).toBe(Code.RESOURCE_EXHAUSTED)
    expect(reason.message).toContain('slowReaderMs 200: the client is not reading its replies')
    expect(server.sessionCount).toBe(0)
    const other = await mem.client({ principal: 'memory:other' })
    expect(await other.add({ a: 1, b: 2 })).toBe(3)
    // Once it reads again, the slow client learns its session is gone: its calls fail, none hangs.
    gate.resume()
    const outcomes = await Promise.allSettled(calls)
    const failed = outcomes.filter((outcome) => outcome.status === 'rejected')
    expect(failed.length).toBeGreaterThan(0)
    for (const outcome of failed) expect((outcome.reason as RpcError).code).toBe(Code.UNAVAILABLE)
    expect((await rejection(slow.add({ a: 1, b: 1 }))).code).toBe(Code.UNAVAILABLE)
  })
})
