/**
 * The client and the server in one process over the in-memory transport:
 * calls, one-way calls, events, deadlines, cancellation, the errors a
 * caller sees (UNIMPLEMENTED, INVALID_ARGUMENT, INTERNAL), reconnecting to
 * a new server, and draining. The cross-process suites (rpc-calls,
 * rpc-lifecycle) prove the same over POSIX queues.
 */
import { describe, expect, it } from 'vitest'
import { Code, RpcError } from '../../src/index.js'
import { MEM_ADDRESS, useMemoryHarness } from '../helpers/memory.js'
import { rejection, until } from '../helpers/wait.js'

const mem = useMemoryHarness()

describe('calls', () => {
  it('answers calls, many at once, each with its own result', async () => {
    await mem.server()
    const client = await mem.client()
    expect(client.state).toBe('open')
    expect(await client.add({ a: 2, b: 3 })).toBe(5)
    const sums = await Promise.all(Array.from({ length: 50 }, (_, i) => client.add({ a: i, b: 1 })))
    expect(sums).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
  })

  it('tells the handler its method, lane and session', async () => {
    await mem.server()
    const client = await mem.client()
    const bulk = await client.whoami({})
    expect(bulk).toMatchObject({ method: 'whoami', urgent: false })
    const urgent = await client.whoami({}, { priority: 'urgent' })
    expect(urgent.urgent).toBe(true)
    expect(urgent.sessionId).toBe(bulk.sessionId)
  })

  it('a one-way call resolves once sent, and the handler runs', async () => {
    const { held } = await mem.server()
    const client = await mem.client()
    expect(await client.log({ line: 'first' })).toBeUndefined()
    await client.log({ line: 'second' })
    await until(() => held.lines.length === 2, 'both lines arrived')
    expect(held.lines).toEqual(['first', 'second'])
  })

  it('delivers events to every client, checked against the schema on both sides', async () => {
    const { server } = await mem.server()
    const one = await mem.client()
    const two = await mem.client()
    const heard = Promise.all([one, two].map((client) => new Promise((resolve) => client.once('tick', resolve))))
    server.broadcast('tick', { n: 7 })
    expect(await heard).toEqual([{ n: 7 }, { n: 7 }])
    expect(() => server.broadcast('tick', { n: 'seven' } as never)).toThrow(/payload of event 'tick'/)
  })
})

describe('deadlines and cancellation', () => {
  it('a call past its deadline fails with DEADLINE_EXCEEDED, and the handler is told to stop', async () => {
    const { held } = await mem.server()
    const client = await mem.client()
    const error = await rejection(client.hold({ id: 'slow' }, { timeoutMs: 100 }))
    expect(error).toBeInstanceOf(RpcError)
    expect(error.code).toBe(Code.DEADLINE_EXCEEDED)
    await until(() => held.aborted.has('slow'), 'the handler saw its signal abort')
    expect(held.calls.get('slow')?.ctx.deadline).toBeTypeOf('number')
    // The session is fine afterwards.
    expect(await client.add({ a: 1, b: 1 })).toBe(2)
  })

  it('the client-wide timeoutMs applies to calls that set none', async () => {
    await mem.server()
    const client = await mem.client({ timeoutMs: 100 })
    expect((await rejection(client.hold({ id: 'slow' }))).code).toBe(Code.DEADLINE_EXCEEDED)
  })

  it('an aborted call fails with CANCELLED, and the server aborts the handler', async () => {
    const { held } = await mem.server()
    const client = await mem.client()
    const controller = new AbortController()
    const call = client.hold({ id: 'c' }, { signal: controller.signal })
    await until(() => held.calls.has('c'), 'the handler started')
    controller.abort()
    expect((await rejection(call)).code).toBe(Code.CANCELLED)
    await until(() => held.aborted.has('c'), 'the handler saw its signal abort')
    expect((held.aborted.get('c') as RpcError).code).toBe(Code.CANCELLED)
  })

  it('a call whose signal already aborted is not sent at all', async () => {
    const { held } = await mem.server()
    const client = await mem.client()
    const error = await rejection(client.hold({ id: 'never' }, { signal: AbortSignal.abort() }))
    expect(error.code).toBe(Code.CANCELLED)
    expect(await client.add({ a: 0, b: 0 })).toBe(0)
    expect(held.calls.has('never')).toBe(false)
  })
})

describe('errors a caller sees', () => {
  it('UNIMPLEMENTED for a method the service does not have', async () => {
    await mem.server()
    const client = await mem.client()
    const error = await rejection(client.call('subtract', { a: 1, b: 2 }))
    expect(error.code).toBe(Code.UNIMPLEMENTED)
    expect(error.message).toContain("method 'subtract' is not part of service 'mem'")
  })

  it('INVALID_ARGUMENT naming the field when the input does not match the schema', async () => {
    await mem.server()
    const client = await mem.client()
    const error = await rejection(client.add({ a: 1, b: 'two' } as never))
    expect(error.code).toBe(Code.INVALID_ARGUMENT)
    expect(error.message).toContain('/b')
  })

  it('INVALID_ARGUMENT before sending when the input cannot be encoded', async () => {
    const { held } = await mem.server()
    const client = await mem.client()
    const error = await rejection(client.log({ line: 'x', extra: 2n } as never))
    expect(error.code).toBe(Code.INVALID_ARGUMENT)
    expect(error.message).toContain("input of 'log' cannot be encoded")
    expect(held.lines).toEqual([])
  })

  it('INTERNAL when the handler returns what its output schema forbids, and the server reports it', async () => {
    const { errors } = await mem.server()
    const client = await mem.client()
    const error = await rejection(client.wrong({}))
    expect(error.code).toBe(Code.INTERNAL)
    expect(error.message).toContain('does not match its output schema')
    expect(errors.map((e) => e.message).join()).toContain("handler 'wrong' returned a value")
  })

  it('INTERNAL when the output matches its schema but cannot be encoded, and the server keeps serving', async () => {
    const { errors } = await mem.server({
      // An open object lets an extra field through the schema; msgpack has no encoding for a bigint here.
      handlers: (held) => {
        const handlers = held.handlers()
        const whoami: typeof handlers.whoami = (input, ctx) =>
          ({ ...(handlers.whoami(input, ctx) as object), extra: 2n }) as unknown as ReturnType<typeof handlers.whoami>
        return { ...handlers, whoami }
      },
    })
    const client = await mem.client()
    const error = await rejection(client.whoami({}))
    expect(error.code).toBe(Code.INTERNAL)
    expect(error.message).toContain("output of 'whoami' cannot be encoded")
    expect(errors.map((e) => e.message).join()).toContain("output of 'whoami' cannot be encoded")
    expect(await client.add({ a: 1, b: 1 })).toBe(2)
  })

  it('RESOURCE_EXHAUSTED before sending when the input is larger than the server accepts', async () => {
    await mem.server({ maxBodyBytes: 1024 })
    const client = await mem.client()
    const error = await rejection(client.log({ line: 'y'.repeat(2000) }))
    expect(error.code).toBe(Code.RESOURCE_EXHAUSTED)
    expect(error.message).toContain('maxBodyBytes')
  })
})

describe('losing the server', () => {
  it('reconnects to a new server on the same address after the old one closes', async () => {
    const first = await mem.server()
    const client = await mem.client()
    const before = await client.whoami({})
    const disconnected = new Promise<RpcError>((resolve) => client.once('disconnect', resolve))
    const reconnected = new Promise<void>((resolve) => client.once('reconnect', resolve))
    await first.server.close()
    expect((await disconnected).code).toBe(Code.UNAVAILABLE)
    await mem.server()
    await reconnected
    expect(client.state).toBe('open')
    const after = await client.whoami({})
    expect(after.sessionId).not.toBe(before.sessionId)
  })

  it('with reconnect: false, a lost session fails new calls with UNAVAILABLE', async () => {
    const { server } = await mem.server()
    const client = await mem.client({ reconnect: false })
    const disconnected = new Promise<RpcError>((resolve) => client.once('disconnect', resolve))
    await server.close()
    await disconnected
    const error = await rejection(client.add({ a: 1, b: 2 }))
    expect(error.code).toBe(Code.UNAVAILABLE)
    expect(error.message).toContain('reconnect: false')
  })

  it('fails createClient with UNAVAILABLE when nobody listens', async () => {
    const error = await rejection(mem.client())
    expect(error.code).toBe(Code.UNAVAILABLE)
    expect(error.message).toContain(MEM_ADDRESS)
  })
})

describe('draining', () => {
  it('calls accepted before close() finish; a call made while draining waits for the next server', async () => {
    const old = await mem.server({ shutdownGraceMs: 30_000 })
    const client = await mem.client()
    const accepted = client.hold({ id: 'accepted' })
    await until(() => old.held.calls.has('accepted'), 'the first call runs')
    const closed = old.server.close()
    await until(() => client.state === 'draining', 'the client heard that the server drains')
    const later = client.add({ a: 20, b: 22 })
    old.held.calls.get('accepted')?.release('finished')
    expect(await accepted).toBe('finished')
    await closed
    await mem.server()
    expect(await later).toBe(42)
  })

  it('with reconnect: false, a call made while draining fails with UNAVAILABLE; accepted calls still finish', async () => {
    const old = await mem.server({ shutdownGraceMs: 30_000 })
    const client = await mem.client({ reconnect: false })
    const accepted = client.hold({ id: 'accepted' })
    await until(() => old.held.calls.has('accepted'), 'the first call runs')
    const closed = old.server.close()
    await until(() => client.state === 'draining', 'the client heard that the server drains')
    const error = await rejection(client.add({ a: 1, b: 1 }))
    expect(error.code).toBe(Code.UNAVAILABLE)
    expect(error.message).toContain('reconnect: false')
    old.held.calls.get('accepted')?.release('finished')
    expect(await accepted).toBe('finished')
    await closed
  })

  it('a call still running when the grace period ends fails with UNAVAILABLE', async () => {
    const old = await mem.server({ shutdownGraceMs: 50 })
    const client = await mem.client({ reconnect: false })
    const stuck = client.hold({ id: 'stuck' })
    await until(() => old.held.calls.has('stuck'), 'the call runs')
    await old.server.close()
    const error = await rejection(stuck)
    expect(error.code).toBe(Code.UNAVAILABLE)
    expect(old.held.aborted.has('stuck')).toBe(true)
  })
})
