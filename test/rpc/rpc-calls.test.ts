/**
 * Calls across real processes: a lab server (test/fixtures/rpc-server.ts)
 * in a child process, called from this process and from client processes
 * (test/fixtures/rpc-client.ts). Results, errors and their codes, binary
 * fields, one-way methods, concurrency, big bodies, deadlines, cancellation.
 */
import { describe, expect, it, vi } from 'vitest'
import { Code, RpcError } from '../../src/index.js'
import { byteSum, pattern, sha256 } from '../fixtures/rpc-service.js'
import { connect, PROCESS_TEST_TIMEOUT_MS, spawnClient, useRpcHarness, useSharedServer } from '../helpers/rpc.js'
import { rejection, until } from '../helpers/wait.js'

useRpcHarness()
vi.setConfig({ testTimeout: PROCESS_TEST_TIMEOUT_MS, hookTimeout: PROCESS_TEST_TIMEOUT_MS })
const MAX_BODY = 4 * 1024 * 1024
const server = useSharedServer('calls', { maxBodyBytes: MAX_BODY })
const MiB = 1024 * 1024

let tagCounter = 0
const tag = (what: string) => `${what}-${++tagCounter}`

describe('typed calls', () => {
  it('return their typed results', async () => {
    const client = await connect(server().queue)
    expect(await client.add({ a: 1, b: 2 })).toBe(3)
    expect(await client.add({ a: -1.5, b: 0.25 })).toBe(-1.25)
    expect(await client.call('add', { a: 40, b: 2 })).toBe(42)
    expect(await client.whoami({})).toEqual({ uid: 0, gid: 0, pid: process.pid, urgent: false })
  })

  it("a handler's RpcError reaches the caller with its code, message and details", async () => {
    const client = await connect(server().queue)
    const error = await rejection(client.fail({ kind: 'rpc' }))
    expect(error).toBeInstanceOf(RpcError)
    expect(error.code).toBe(Code.NOT_FOUND)
    expect(error.rawMessage).toBe('no such user')
    expect(error.message).toBe('[NOT_FOUND] no such user')
    expect(error.details).toEqual({ user: 'ann', tries: [1, 2] })
  })

  it('any other throw is INTERNAL, with its message but without the stack', async () => {
    const client = await connect(server().queue)
    const error = await rejection(client.fail({ kind: 'plain' }))
    expect(error).toBeInstanceOf(RpcError)
    expect(error.code).toBe(Code.INTERNAL)
    expect(error.message).toContain('boom in handler')
    expect(error.message).not.toMatch(/\bat /)
    expect(error.message).not.toContain('rpc-server.ts')
    expect(error.details).toBeUndefined()
    // The server reports the whole story to itself.
    const report = await server().waitFor({ event: 'error' }, undefined, (line) =>
      String(line.message).includes('boom in handler'),
    )
    expect(report.message).toContain("handler 'fail'")
  })

  it('an unknown method is UNIMPLEMENTED', async () => {
    const client = await connect(server().queue)
    const error = await rejection(client.call('nope', {}))
    expect(error.code).toBe(Code.UNIMPLEMENTED)
    expect(error.message).toContain("'nope'")
    expect(error.message).toContain("'lab'")
  })

  it('input of the wrong type is INVALID_ARGUMENT naming the failing paths', async () => {
    const client = await connect(server().queue)
    const error = await rejection(client.call('add', { a: 'x' }))
    expect(error.code).toBe(Code.INVALID_ARGUMENT)
    expect(error.message).toContain('/a')
    const violations = (error.details as { violations: { path: string; message: string }[] }).violations
    expect(violations.map((v) => v.path)).toContain('/a')
    // The typed method sends what it is given; the server is the judge.
    const typed = await rejection(client.add({ a: 1, b: '2' as unknown as number }))
    expect(typed.code).toBe(Code.INVALID_ARGUMENT)
    expect(typed.message).toContain('/b')
    expect(typed.message).not.toContain('/a ')
  })

  it('a handler that returns the wrong shape is INTERNAL on the client and an error event on the server', async () => {
    const client = await connect(server().queue)
    const error = await rejection(client.fail({ kind: 'shape' }))
    expect(error.code).toBe(Code.INTERNAL)
    expect(error.message).toContain('output schema')
    const report = await server().waitFor({ event: 'error' }, undefined, (line) => String(line.message).includes('output schema'))
    expect(report.message).toContain("handler 'fail'")
    expect(report.message).toContain('/ok')
  })

  it('binary fields travel as Uint8Array both ways', async () => {
    const client = await connect(server().queue)
    const data = pattern(1000, 7)
    const result = await client.blob({ data, reply: 2000, seed: 9 })
    expect(result.bytes).toBe(1000)
    expect(result.sum).toBe(byteSum(data))
    expect(result.data).toBeInstanceOf(Uint8Array)
    expect(result.data).toEqual(pattern(2000, 9))
    // Empty binary, and a Node Buffer (a Uint8Array) as input.
    const empty = await client.blob({ data: new Uint8Array(0), reply: 0, seed: 0 })
    expect(empty.bytes).toBe(0)
    expect(empty.data).toEqual(new Uint8Array(0))
    expect((await client.blob({ data: Buffer.from([1, 2, 3]), reply: 1, seed: 5 })).sum).toBe(6)
  })

  it('binary values keep their bytes while later messages arrive, on both sides', async () => {
    const client = await connect(server().queue)
    // Server side: each handler reads its input 30 ms late, after later calls' messages came in.
    const calls: Promise<{ bytes: number; sum: number; data: Uint8Array }>[] = []
    for (let i = 0; i < 40; i++) {
      calls.push(client.blob({ data: pattern(100, i), reply: 100, seed: i, delayMs: 30 }))
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const results = await Promise.all(calls)
    expect(results.map((r) => r.sum)).toEqual(Array.from({ length: 40 }, (_, i) => byteSum(pattern(100, i))))
    // Client side: results read after later replies came in.
    expect(results.map((result) => result.data)).toEqual(Array.from({ length: 40 }, (_, i) => pattern(100, i)))
  })

  it('a non-binary value where binary is expected is INVALID_ARGUMENT', async () => {
    const client = await connect(server().queue)
    for (const data of ['abc', [1, 2, 3], { 0: 1 }, null]) {
      const error = await rejection(client.call('blob', { data, reply: 0, seed: 0 }))
      expect(error.code, JSON.stringify(data)).toBe(Code.INVALID_ARGUMENT)
      expect(error.message).toContain('/data')
    }
    const error = await rejection(client.call('blob', { data: 'abc', reply: 0, seed: 0 }))
    expect(error.message).toContain('binary')
  })

  it('one-way methods resolve without a reply, and the handler runs', async () => {
    const client = await connect(server().queue)
    const line = tag('one-way')
    await expect(client.log({ line })).resolves.toBeUndefined()
    await server().waitFor({ event: 'log', line })
    // Invalid input to a one-way method is dropped on the server: nobody waits for an answer.
    await expect(client.call('log', { line: 5 })).resolves.toBeUndefined()
    expect(await client.add({ a: 2, b: 2 })).toBe(4)
    expect(
      server()
        .linesWith({ event: 'log' })
        .map((l) => l.line),
    ).not.toContain(5)
  })
})

describe('concurrency', () => {
  it('500 calls in flight from one client each resolve to their own result', async () => {
    const client = await connect(server().queue)
    const calls = Array.from({ length: 500 }, (_, n) => client.echo({ n, delayMs: Math.floor(Math.random() * 20) }))
    const results = await Promise.all(calls)
    expect(results.map((r) => r.n)).toEqual(Array.from({ length: 500 }, (_, n) => n))
    expect(new Set(results.map((r) => r.session)).size).toBe(1)
  })

  it('several client processes at once each get their own results', async () => {
    const procs = await Promise.all(Array.from({ length: 4 }, () => spawnClient(server().queue)))
    const answers = await Promise.all(procs.map((proc) => proc.request({ op: 'flood', count: 300, maxDelayMs: 15 })))
    const sessions = new Set<string>()
    for (const answer of answers) {
      const value = answer.value as { count: number; correct: number; sessions: string[]; errors: unknown[] }
      expect(value.errors).toEqual([])
      expect(value.correct).toBe(300)
      expect(value.sessions).toHaveLength(1)
      sessions.add(value.sessions[0] as string)
    }
    expect(sessions.size).toBe(4)
  })

  it("calls without a deadline wait for room in a busy server's queue as long as it takes", async () => {
    // connectTimeoutMs bounds the handshake only, not how long a call may wait for room in the request queue.
    const client = await connect(server().queue, { connectTimeoutMs: 1000 })
    const pad = new Uint8Array(8192)
    // 30 x 100 ms of CPU: the server's request queue stays full for about 3 s.
    const results = await Promise.all(Array.from({ length: 30 }, (_, seq) => client.spin({ seq, ms: 100, pad, replyBytes: 0 })))
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, seq) => seq))
  })

  it('handlers run concurrently', async () => {
    const client = await connect(server().queue)
    const started = performance.now()
    const tags = Array.from({ length: 20 }, () => tag('parallel'))
    const results = await Promise.all(tags.map((t) => client.sleep({ tag: t, ms: 200 })))
    const elapsed = performance.now() - started
    expect(results.map((r) => r.tag)).toEqual(tags)
    // Run one after another they would take 4000 ms.
    expect(elapsed).toBeLessThan(2000)
  })
})

describe('big bodies', () => {
  it('1 MiB and 3 MiB go both ways while small calls in flight stay right', async () => {
    const client = await connect(server().queue)
    const oneIn = pattern(MiB, 1)
    const threeIn = pattern(3 * MiB, 2)
    const small = (from: number) => Array.from({ length: 40 }, (_, i) => client.add({ a: from + i, b: 1000 }))
    const before = small(0)
    const big1 = client.blob({ data: oneIn, reply: 3 * MiB, seed: 3 })
    const middle = small(100)
    const big3 = client.blob({ data: threeIn, reply: MiB, seed: 4 })
    const after = small(200)
    const [first, second, third] = await Promise.all([Promise.all(before), Promise.all(middle), Promise.all(after)])
    expect(first).toEqual(Array.from({ length: 40 }, (_, i) => i + 1000))
    expect(second).toEqual(Array.from({ length: 40 }, (_, i) => 100 + i + 1000))
    expect(third).toEqual(Array.from({ length: 40 }, (_, i) => 200 + i + 1000))
    const one = await big1
    expect(one.bytes).toBe(MiB)
    expect(one.sum).toBe(byteSum(oneIn))
    expect(one.data.byteLength).toBe(3 * MiB)
    expect(sha256(one.data)).toBe(sha256(pattern(3 * MiB, 3)))
    const three = await big3
    expect(three.bytes).toBe(3 * MiB)
    expect(three.sum).toBe(byteSum(threeIn))
    expect(sha256(three.data)).toBe(sha256(pattern(MiB, 4)))
  })

  it('big bodies from a client process, two at once, with small calls between', async () => {
    const proc = await spawnClient(server().queue)
    const big = [
      proc.call('blob', { data: { $bytes: 3 * MiB, seed: 5 }, reply: 3 * MiB, seed: 6 }),
      proc.call('blob', { data: { $bytes: MiB, seed: 7 }, reply: MiB, seed: 8 }),
    ]
    const small = Array.from({ length: 20 }, (_, i) => proc.call('add', { a: i, b: i }))
    const smallResults = await Promise.all(small)
    expect(smallResults.map((r) => r.value)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i))
    const [three, one] = await Promise.all(big)
    expect(three?.value).toEqual({
      bytes: 3 * MiB,
      sum: byteSum(pattern(3 * MiB, 5)),
      data: { $bytes: 3 * MiB, sha256: sha256(pattern(3 * MiB, 6)) },
    })
    expect(one?.value).toEqual({
      bytes: MiB,
      sum: byteSum(pattern(MiB, 7)),
      data: { $bytes: MiB, sha256: sha256(pattern(MiB, 8)) },
    })
  })

  it("a body over the server's maxBodyBytes is RESOURCE_EXHAUSTED naming maxBodyBytes", async () => {
    const client = await connect(server().queue)
    const error = await rejection(client.blob({ data: new Uint8Array(MAX_BODY + 1), reply: 0, seed: 0 }))
    expect(error.code).toBe(Code.RESOURCE_EXHAUSTED)
    expect(error.message).toContain('maxBodyBytes')
    expect(error.message).toContain(String(MAX_BODY))
    // The session goes on.
    expect(await client.add({ a: 1, b: 1 })).toBe(2)
  })

  it("a reply over the client's maxBodyBytes is RESOURCE_EXHAUSTED, and the session goes on", async () => {
    const client = await connect(server().queue, { maxBodyBytes: 64 * 1024 })
    const error = await rejection(client.blob({ data: new Uint8Array(1), reply: 100_000, seed: 0 }))
    expect(error.code).toBe(Code.RESOURCE_EXHAUSTED)
    expect(error.message).toContain('maxBodyBytes')
    expect(await client.add({ a: 1, b: 1 })).toBe(2)
    expect((await client.blob({ data: new Uint8Array(1), reply: 1000, seed: 1 })).data).toEqual(pattern(1000, 1))
  })
})

describe('deadlines', () => {
  it('a slow handler past timeoutMs is DEADLINE_EXCEEDED, and its ctx.signal aborts on the server', async () => {
    const client = await connect(server().queue)
    const t = tag('deadline')
    const before = Date.now()
    const error = await rejection(client.sleep({ tag: t, ms: 10_000 }, { timeoutMs: 150 }))
    expect(error.code).toBe(Code.DEADLINE_EXCEEDED)
    const aborted = await server().waitFor({ event: 'aborted', tag: t })
    expect([Code.DEADLINE_EXCEEDED, Code.CANCELLED]).toContain(aborted.code)
    const seen = await client.seen({ tag: t })
    expect(seen).toMatchObject({ started: true, aborted: true })
    // The deadline reached the server as an absolute time.
    expect(seen.deadline).toBeGreaterThanOrEqual(before + 150)
    expect(seen.deadline).toBeLessThan(before + 5000)
  })

  it('the server stops the handler at the deadline on its own, even when the caller cannot tell it to', async () => {
    const proc = await spawnClient(server().queue)
    const t = tag('server-deadline')
    // The client process stops itself right after sending the call, so it
    // cannot send CANCEL: only the deadline sent with the call can stop the handler.
    const answer = proc.request({ op: 'callThenStop', method: 'sleep', input: { tag: t, ms: 10_000 }, timeoutMs: 1000 })
    try {
      const aborted = await server().waitFor({ event: 'aborted', tag: t })
      expect(aborted.code).toBe(Code.DEADLINE_EXCEEDED)
      expect(aborted.message).toContain('deadline')
    } finally {
      process.kill(proc.pid, 'SIGCONT')
    }
    expect((await answer).code).toBe(Code.DEADLINE_EXCEEDED)
    expect((await proc.call('add', { a: 1, b: 1 })).value).toBe(2)
  })

  it('a late result is dropped, never delivered to a later call', async () => {
    const client = await connect(server().queue)
    const late = tag('late')
    const next = tag('next')
    // Call 1 ignores its signal and answers after 1000 ms, long past its deadline.
    const first = rejection(client.sleep({ tag: late, ms: 1000, ignoreAbort: true }, { timeoutMs: 100 }))
    const firstError = await first
    expect(firstError.code).toBe(Code.DEADLINE_EXCEEDED)
    // Call 2, made right after, is still running when call 1's handler returns.
    const second = client.sleep({ tag: next, ms: 1500 })
    const adds = Array.from({ length: 10 }, (_, i) => client.add({ a: i, b: 0 }))
    await server().waitFor({ event: 'finished', tag: late })
    expect(await second).toEqual({ tag: next })
    expect(await Promise.all(adds)).toEqual(Array.from({ length: 10 }, (_, i) => i))
    expect(await client.add({ a: 7, b: 8 })).toBe(15)
  })

  it('timeoutMs: 0 fails at once with DEADLINE_EXCEEDED and a client-wide timeoutMs applies to every call', async () => {
    const client = await connect(server().queue, { timeoutMs: 150 })
    const t = tag('client-wide')
    expect((await rejection(client.sleep({ tag: t, ms: 5000 }))).code).toBe(Code.DEADLINE_EXCEEDED)
    expect((await rejection(client.add({ a: 1, b: 1 }, { timeoutMs: 0 }))).code).toBe(Code.DEADLINE_EXCEEDED)
    // A per-call timeout overrides the client's.
    const override = tag('override')
    expect(await client.sleep({ tag: override, ms: 300 }, { timeoutMs: 10_000 })).toEqual({ tag: override })
    await server().waitFor({ event: 'aborted', tag: t })
  })
})

describe('cancellation', () => {
  it('aborting the signal is CANCELLED on the client and aborts ctx.signal on the server', async () => {
    const client = await connect(server().queue)
    const t = tag('cancel')
    const controller = new AbortController()
    const call = rejection(client.sleep({ tag: t, ms: 10_000 }, { signal: controller.signal }))
    await server().waitFor({ event: 'started', tag: t })
    controller.abort()
    const error = await call
    expect(error.code).toBe(Code.CANCELLED)
    const aborted = await server().waitFor({ event: 'aborted', tag: t })
    expect(aborted.code).toBe(Code.CANCELLED)
    expect(await client.add({ a: 1, b: 2 })).toBe(3)
  })

  it('cancelling an urgent call reaches the server too', async () => {
    const client = await connect(server().queue)
    const t = tag('cancel-urgent')
    const controller = new AbortController()
    const call = rejection(client.sleep({ tag: t, ms: 10_000 }, { signal: controller.signal, priority: 'urgent' }))
    await server().waitFor({ event: 'started', tag: t })
    controller.abort(new Error('changed my mind'))
    expect((await call).code).toBe(Code.CANCELLED)
    const aborted = await server().waitFor({ event: 'aborted', tag: t })
    expect(aborted.code).toBe(Code.CANCELLED)
  })

  it('an already-aborted signal rejects at once, and nothing reaches the server', async () => {
    const client = await connect(server().queue)
    const t = tag('pre-aborted')
    const error = await rejection(client.sleep({ tag: t, ms: 10 }, { signal: AbortSignal.abort() }))
    expect(error.code).toBe(Code.CANCELLED)
    expect(await client.seen({ tag: t })).toEqual({ started: false, aborted: false, code: null, deadline: null })
  })

  it('cancelling one of many calls leaves the others to finish', async () => {
    const client = await connect(server().queue)
    const controller = new AbortController()
    const victim = tag('victim')
    const others = Array.from({ length: 5 }, () => tag('bystander'))
    const cancelled = rejection(client.sleep({ tag: victim, ms: 10_000 }, { signal: controller.signal }))
    const running = others.map((t) => client.sleep({ tag: t, ms: 300 }))
    await until(() => server().linesWith({ event: 'started', tag: victim }).length === 1, 'the victim started')
    controller.abort()
    expect((await cancelled).code).toBe(Code.CANCELLED)
    expect(await Promise.all(running)).toEqual(others.map((t) => ({ tag: t })))
  })
})
