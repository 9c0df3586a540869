/**
 * One RPC suite, run on every transport (test/helpers/transport-cases.ts):
 * POSIX queues and NATS, the latter against a real nats-server started here
 * with a small max_payload so that big bodies are fragmented. The lab server
 * (test/fixtures/rpc-server.ts) runs in a child process, called from this
 * process and from client processes. Every case below runs unchanged on
 * each transport: the semantics are the RPC layer's, not the transport's.
 * Where no broker can start, the NATS half fails (never skips).
 */
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { Code, defineService } from '../../src/index.js'
import { byteSum, pattern, sha256 } from '../fixtures/rpc-service.js'
import { leftoverQueues, trackQueue } from '../helpers/queues.js'
import { PROCESS_TEST_TIMEOUT_MS, type ServerProc } from '../helpers/rpc.js'
import {
  connectLab,
  mqCase,
  natsCase,
  spawnLabClient,
  spawnLabServer,
  spawnSharedLabServer,
  type TransportCase,
  useTransportHarness,
} from '../helpers/transport-cases.js'
import { rejection, until } from '../helpers/wait.js'

useTransportHarness()
vi.setConfig({ testTimeout: PROCESS_TEST_TIMEOUT_MS, hookTimeout: PROCESS_TEST_TIMEOUT_MS })

/** The lab as a client built from a changed schema sees it: `add` takes a string now, `echo` is unchanged. */
const ChangedLab = defineService('lab', {
  methods: {
    add: { input: Type.Object({ a: Type.String(), b: Type.Number() }), output: Type.Number() },
    echo: {
      input: Type.Object({ n: Type.Integer(), delayMs: Type.Integer({ minimum: 0 }) }),
      output: Type.Object({ n: Type.Integer(), session: Type.String() }),
    },
  },
})

let tagCounter = 0
const tag = (what: string) => `${what}-${++tagCounter}`

describe.each([mqCase(), natsCase()])('RPC over $name', (tc: TransportCase) => {
  let shared: ServerProc | undefined
  const server = () => shared as ServerProc
  beforeAll(async () => {
    await tc.setup()
    shared = await spawnSharedLabServer(tc, tc.address('shared', true), { maxBodyBytes: 1024 * 1024 })
  })
  afterAll(async () => {
    try {
      await shared?.close()
    } finally {
      if (tc.name === 'mq' && shared !== undefined) {
        const names = [trackQueue(shared.queue), trackQueue(`${shared.queue}.urgent`)]
        expect(leftoverQueues(names)).toEqual([])
      }
      await tc.teardown()
    }
  })

  it('calls return their typed results, and many in flight each get their own', async () => {
    const client = await connectLab(tc, server().queue)
    expect(await client.add({ a: 1, b: 2 })).toBe(3)
    expect(await client.call('add', { a: 40, b: 2 })).toBe(42)
    const results = await Promise.all(Array.from({ length: 200 }, (_, n) => client.echo({ n, delayMs: n % 5 })))
    expect(results.map((r) => r.n)).toEqual(Array.from({ length: 200 }, (_, n) => n))
    expect(new Set(results.map((r) => r.session)).size).toBe(1)
  })

  it('the server knows the caller by the principal the transport vouches for', async () => {
    const client = await connectLab(tc, server().queue)
    const { session } = await client.echo({ n: 1, delayMs: 0 })
    const opened = await server().waitFor({ event: 'session', id: session })
    expect((opened.peer as { principal: string }).principal).toBe(tc.principal('alice'))
  })

  it('status codes and error details reach the caller', async () => {
    const client = await connectLab(tc, server().queue)
    const notFound = await rejection(client.fail({ kind: 'rpc' }))
    expect(notFound.code).toBe(Code.NOT_FOUND)
    expect(notFound.rawMessage).toBe('no such user')
    expect(notFound.details).toEqual({ user: 'ann', tries: [1, 2] })
    const internal = await rejection(client.fail({ kind: 'plain' }))
    expect(internal.code).toBe(Code.INTERNAL)
    expect(internal.message).toContain('boom in handler')
    expect((await rejection(client.call('nope', {}))).code).toBe(Code.UNIMPLEMENTED)
    const invalid = await rejection(client.call('add', { a: 'x' }))
    expect(invalid.code).toBe(Code.INVALID_ARGUMENT)
    const violations = (invalid.details as { violations: { path: string }[] }).violations
    expect(violations.map((v) => v.path)).toContain('/a')
  })

  it('one-way calls resolve without a reply, and the handler runs', async () => {
    const client = await connectLab(tc, server().queue)
    const line = tag('one-way')
    await expect(client.log({ line })).resolves.toBeUndefined()
    await server().waitFor({ event: 'log', line })
  })

  it('events reach every connected client, in this process and in another', async () => {
    const client = await connectLab(tc, server().queue)
    const other = await spawnLabClient(tc, server().queue)
    const ticks: number[] = []
    client.on('tick', (payload) => ticks.push(payload.n))
    const n = 1000 + ++tagCounter
    server().emit('tick', { n })
    await other.waitFor({ event: 'tick' }, undefined, (line) => (line.payload as { n: number }).n === n)
    await until(() => ticks.includes(n), 'the tick reached this process')
  })

  it('a call past its deadline is DEADLINE_EXCEEDED, and the handler is aborted on the server', async () => {
    const client = await connectLab(tc, server().queue)
    const t = tag('deadline')
    const error = await rejection(client.sleep({ tag: t, ms: 20_000 }, { timeoutMs: 300 }))
    expect(error.code).toBe(Code.DEADLINE_EXCEEDED)
    const aborted = await server().waitFor({ event: 'aborted', tag: t })
    expect([Code.DEADLINE_EXCEEDED, Code.CANCELLED]).toContain(aborted.code)
  })

  it('cancelling a call is CANCELLED on the client and aborts the handler, on either lane', async () => {
    const client = await connectLab(tc, server().queue)
    for (const priority of ['normal', 'urgent'] as const) {
      const t = tag(`cancel-${priority}`)
      const controller = new AbortController()
      const call = rejection(client.sleep({ tag: t, ms: 20_000 }, { signal: controller.signal, priority }))
      await server().waitFor({ event: 'started', tag: t })
      controller.abort()
      expect((await call).code).toBe(Code.CANCELLED)
      expect((await server().waitFor({ event: 'aborted', tag: t })).code).toBe(Code.CANCELLED)
    }
    expect(await client.add({ a: 1, b: 2 }).catch(String)).toBe(3)
  })

  it('bodies many times larger than one message go both ways, from two processes at once', async () => {
    const size = 24 * tc.messageSize
    const client = await connectLab(tc, server().queue)
    const other = await spawnLabClient(tc, server().queue)
    const remote = other.call('blob', { data: { $bytes: size, seed: 5 }, reply: size + 7, seed: 6 })
    const data = pattern(size, 3)
    const local = await client.blob({ data, reply: 2 * size, seed: 4 })
    expect(local.bytes).toBe(size)
    expect(local.sum).toBe(byteSum(data))
    expect(sha256(local.data)).toBe(sha256(pattern(2 * size, 4)))
    const answer = await remote
    expect(answer.ok).toBe(true)
    expect(answer.value).toEqual({
      bytes: size,
      sum: byteSum(pattern(size, 5)),
      data: { $bytes: size + 7, sha256: sha256(pattern(size + 7, 6)) },
    })
  })

  it('$describe and $stats answer with the service and its figures', async () => {
    const client = await connectLab(tc, server().queue)
    await client.add({ a: 2, b: 2 })
    const described = (await client.call('$describe', {})) as { name: string; methods: Record<string, unknown> }
    expect(described.name).toBe('lab')
    expect(Object.keys(described.methods)).toEqual(expect.arrayContaining(['add', 'echo', 'blob', 'ping']))
    const stats = (await client.call('$stats', {})) as {
      name: string
      sessions: number
      methods: Record<string, { served: number }>
    }
    expect(stats.name).toBe('lab')
    expect(stats.sessions).toBeGreaterThanOrEqual(1)
    expect(stats.methods.add?.served).toBeGreaterThanOrEqual(1)
  })

  it('a client of a changed schema learns which methods break and keeps the others', async () => {
    const client = await connectLab(tc, server().queue, {}, 'alice', ChangedLab)
    expect([...client.incompatibleMethods.keys()]).toEqual(['add'])
    const refused = await rejection(client.add({ a: '1', b: 2 }))
    expect(refused.code).toBe(Code.FAILED_PRECONDITION)
    expect((await client.echo({ n: 7, delayMs: 0 })).n).toBe(7)
  })

  it('an urgent call overtakes the bulk backlog', async () => {
    // One bulk handler at a time and one kept for urgent calls: the backlog is real.
    const address = tc.address('urgent')
    await spawnLabServer(tc, address, { concurrency: 2, urgentReserve: 1 })
    const client = await connectLab(tc, address)
    const done: (number | undefined)[] = []
    const pad = new Uint8Array(64)
    // 60 calls of 20 ms: on a loaded machine this process may notice the
    // first answers late (with 40, a CI run once saw only 19 still waiting).
    const bulk = Array.from({ length: 60 }, (_, seq) =>
      client.spin({ seq, ms: 20, pad, replyBytes: 0 }).then((result) => {
        done[seq] = result.done
        return result
      }),
    )
    await until(() => done.filter((d) => d !== undefined).length >= 3, 'bulk calls are flowing')
    const pendingAtUrgent = bulk.map((_, seq) => seq).filter((seq) => done[seq] === undefined)
    const urgentCall = client.ping({ seq: 1 })
    const normalCall = client.ping({ seq: 2 }, { priority: 'normal' })
    const [urgent, normal] = await Promise.all([urgentCall, normalCall])
    await Promise.all(bulk)
    expect(urgent.urgent).toBe(true)
    expect(normal.urgent).toBe(false)
    expect(pendingAtUrgent.length).toBeGreaterThanOrEqual(20)
    // Completion order, not clocks: the urgent call finished before nearly all
    // of the backlog; the same method on the bulk lane after all of it.
    const finishedAfter = (mark: number) => pendingAtUrgent.filter((seq) => (done[seq] as number) > mark).length
    expect(pendingAtUrgent.length - finishedAfter(urgent.done)).toBeLessThanOrEqual(8)
    expect(finishedAfter(normal.done)).toBe(0)
  })
})
