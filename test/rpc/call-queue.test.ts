/**
 * The client's call queue on its own (no transport): ids, calls in flight,
 * calls waiting under the server's maxInFlight (one-way calls take no
 * slot), abandoning, and failing what is left when the session goes.
 */
import { describe, expect, it } from 'vitest'
import { Code, RpcError } from '../../src/index.js'
import { CallQueue } from '../../src/rpc/call-queue.js'
import { PendingCall } from '../../src/rpc/pending-call.js'

interface Made {
  readonly call: PendingCall
  readonly outcome: () => { value?: unknown; error?: RpcError } | undefined
  readonly gaveUp: () => boolean
}

/** A pending call that records how it ended. */
function makeCall(options: { oneWay?: boolean; signal?: AbortSignal; method?: string } = {}): Made {
  let outcome: { value?: unknown; error?: RpcError } | undefined
  let gaveUp = false
  const call = new PendingCall(
    {
      method: options.method ?? 'm',
      input: {},
      deadline: undefined,
      urgent: false,
      oneWay: options.oneWay ?? false,
      signal: options.signal,
      resolve: (value) => {
        outcome = { value }
      },
      reject: (error) => {
        outcome = { error }
      },
    },
    () => {
      gaveUp = true
    },
  )
  return { call, outcome: () => outcome, gaveUp: () => gaveUp }
}

describe('CallQueue', () => {
  it('gives each started call a fresh non-zero id and counts two-way calls in flight', () => {
    const queue = new CallQueue()
    const a = makeCall()
    const b = makeCall()
    const oneWay = makeCall({ oneWay: true })
    const ids = [queue.start(a.call), queue.start(b.call), queue.start(oneWay.call)]
    expect(ids).toEqual([1, 2, 3])
    expect(a.call.id).toBe(1)
    expect(queue.inFlightCount).toBe(2)
    expect(queue.get(2)).toBe(b.call)
    expect(queue.get(3)).toBeUndefined()
  })

  it('finish() hands the call back once and stops counting it', () => {
    const queue = new CallQueue()
    const a = makeCall()
    const id = queue.start(a.call)
    expect(queue.finish(id)).toBe(a.call)
    expect(queue.finish(id)).toBeUndefined()
    expect(queue.inFlightCount).toBe(0)
  })

  it('under maxInFlight, calls past it wait and come out in order as room is made; one-way calls always fit', () => {
    const queue = new CallQueue()
    queue.maxInFlight = 1
    const first = makeCall()
    const second = makeCall()
    const third = makeCall()
    queue.start(first.call)
    expect(queue.hasRoomFor(second.call)).toBe(false)
    expect(queue.hasRoomFor(makeCall({ oneWay: true }).call)).toBe(true)
    queue.wait(second.call)
    queue.wait(third.call)
    expect(queue.waitingCount).toBe(2)
    expect(queue.nextReady()).toBeUndefined()
    queue.finish(first.call.id)
    expect(queue.nextReady()).toBe(second.call)
    queue.start(second.call)
    expect(queue.nextReady()).toBeUndefined()
    queue.finish(second.call.id)
    expect(queue.nextReady()).toBe(third.call)
  })

  it('nextReady() skips waiting calls that already ended', () => {
    const queue = new CallQueue()
    const controller = new AbortController()
    const gone = makeCall({ signal: controller.signal })
    const kept = makeCall()
    queue.wait(gone.call)
    queue.wait(kept.call)
    controller.abort()
    expect(gone.outcome()?.error?.code).toBe(Code.CANCELLED)
    expect(queue.nextReady()).toBe(kept.call)
    expect(queue.waitingCount).toBe(0)
  })

  it('abandon() says whether the server must be told: only for a call in flight', () => {
    const queue = new CallQueue()
    queue.maxInFlight = 1
    const sent = makeCall()
    const waiting = makeCall()
    queue.start(sent.call)
    queue.wait(waiting.call)
    expect(queue.abandon(waiting.call)).toBe(false)
    expect(queue.waitingCount).toBe(0)
    expect(queue.abandon(sent.call)).toBe(true)
    expect(queue.abandon(sent.call)).toBe(false)
    expect(queue.inFlightCount).toBe(0)
  })

  it('ids wrap from 2^32-1 to 1, never 0', () => {
    const queue = new CallQueue()
    ;(queue as unknown as { lastId: number }).lastId = 0xfffffffe
    expect(queue.start(makeCall().call)).toBe(0xffffffff)
    expect(queue.start(makeCall().call)).toBe(1)
  })

  it('failInFlight() fails calls in flight and keeps the waiting ones; failAll() fails both', () => {
    const queue = new CallQueue()
    queue.maxInFlight = 1
    const sent = makeCall()
    const waiting = makeCall()
    queue.start(sent.call)
    queue.wait(waiting.call)
    const lost = new RpcError(Code.UNAVAILABLE, 'gone')
    queue.failInFlight(lost)
    expect(sent.outcome()?.error).toBe(lost)
    expect(waiting.outcome()).toBeUndefined()
    expect(queue.waitingCount).toBe(1)
    const closed = new RpcError(Code.CANCELLED, 'closed')
    queue.failAll(closed)
    expect(waiting.outcome()?.error).toBe(closed)
    expect(queue.inFlightCount + queue.waitingCount).toBe(0)
  })

  it('a call given up by its signal reports itself once (the client then abandons it)', () => {
    const controller = new AbortController()
    const made = makeCall({ signal: controller.signal })
    controller.abort()
    controller.abort()
    expect(made.gaveUp()).toBe(true)
    expect(made.outcome()?.error?.message).toContain("call to 'm' was cancelled")
  })
})
