/**
 * Streaming methods over the in-memory transport: each stream kind, credit
 * accounting in both directions, cancel, break, deadline and session end
 * reaching the generator (its finally runs), errors mid-stream, and element
 * validation on both sides.
 */
import { Type } from 'typebox'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type CallLogEntry,
  type Client,
  Code,
  createClient,
  createServer,
  defineService,
  type Interceptor,
  loggingInterceptor,
  MemoryNetwork,
  memoryTransport,
  type Server,
} from '../../src/index.js'
import { FIRST_WINDOW, replyStreamWindow, SMALLEST_WINDOW } from '../../src/rpc/stream-credit.js'
import { DEFAULT_MEMORY_MESSAGE_SIZE } from '../../src/transport/memory/memory-transport.js'
import { RecordingProbe, Streams, streamHandlers } from '../fixtures/stream-service.js'
import { rpcErrorOf } from '../helpers/errors.js'
import { until } from '../helpers/wait.js'

const ADDRESS = 'mem.streams'
// A client's default output window follows its reply path's message size.
const WINDOW = replyStreamWindow(DEFAULT_MEMORY_MESSAGE_SIZE)

let network: MemoryNetwork
let probe: RecordingProbe
let server: Server<typeof Streams>
let client: Client<typeof Streams>
let tagCounter = 0
const tag = () => `t${++tagCounter}`
const tick = () => new Promise((resolve) => setTimeout(resolve, 5))

/** Lets frames travel until nothing changes any more (the memory transport delivers on setImmediate). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await tick()
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of stream) out.push(item)
  return out
}

beforeEach(async () => {
  network = new MemoryNetwork()
  probe = new RecordingProbe()
  server = await createServer(Streams, streamHandlers(probe), {
    queue: ADDRESS,
    transport: memoryTransport({ network }),
    heartbeatMs: 200,
    shutdownGraceMs: 100,
  })
  client = await createClient(Streams, { queue: ADDRESS, transport: memoryTransport({ network }) })
})

afterEach(async () => {
  await client.close()
  await server.close()
  expect(network.addresses).toEqual([])
})

describe('each stream kind', () => {
  it('a server stream yields typed elements in order, then ends normally', async () => {
    const t = tag()
    const items = await collect(client.count({ tag: t, to: 50 }))
    expect(items.map((item) => item.n)).toEqual([...Array(50).keys()])
    await until(() => probe.endingOf(t) !== undefined, 'the generator ended')
    expect(probe.endingOf(t)).toMatchObject({ aborted: false })
  })

  it('a client stream takes an array or an async generator and answers once', async () => {
    expect(await client.sum([{ n: 1 }, { n: 2 }, { n: 3 }])).toEqual({ count: 3, total: 6, bytes: 0 })
    async function* inputs() {
      for (let n = 1; n <= 100; n++) yield { n }
    }
    expect(await client.sum(inputs())).toEqual({ count: 100, total: 5050, bytes: 0 })
    expect(await client.sum([])).toEqual({ count: 0, total: 0, bytes: 0 })
  })

  it('a bidi stream answers each input as it comes', async () => {
    async function* inputs() {
      for (let n = 1; n <= 40; n++) yield { n }
    }
    const out = await collect(client.chat(inputs()))
    expect(out).toEqual([...Array(40).keys()].map((i) => ({ n: i + 1, twice: 2 * (i + 1) })))
    // Interleaved: the next input is written only after its answer arrived.
    const answers: number[] = []
    const queue: ((v: { n: number }) => void)[] = []
    async function* lockstep() {
      for (let n = 0; n < 5; n++) yield await new Promise<{ n: number }>((resolve) => queue.push(resolve))
    }
    const iterator = client.chat(lockstep())[Symbol.asyncIterator]()
    for (let n = 0; n < 5; n++) {
      await until(() => queue.length > 0, 'the input generator asks')
      queue.shift()?.({ n })
      const step = await iterator.next()
      answers.push((step.value as { twice: number }).twice)
    }
    expect((await iterator.next()).done).toBe(true)
    expect(answers).toEqual([0, 2, 4, 6, 8])
  })

  it('streams over the urgent lane work like urgent unary calls', async () => {
    const items = await collect(client.count({ tag: tag(), to: 30 }, { priority: 'urgent' }))
    expect(items).toHaveLength(30)
    expect(await client.sum([{ n: 5 }], { priority: 'urgent' })).toEqual({ count: 1, total: 5, bytes: 0 })
  })

  it('elements larger than a message are fragmented and reassembled, both ways', async () => {
    const items = await collect(client.count({ tag: tag(), to: 5, bytes: 20_000 }))
    expect(items.map((item) => item.pad?.byteLength)).toEqual([20_000, 20_000, 20_000, 20_000, 20_000])
    expect(items[3]?.pad?.every((b) => b === 3)).toBe(true)
    const big = [1, 2, 3].map((n) => ({ n, pad: new Uint8Array(30_000).fill(n) }))
    expect(await client.sum(big)).toEqual({ count: 3, total: 6, bytes: 90_000 })
  })
})

describe('credit', () => {
  it('a server stream runs at most one window ahead of its reader, renewed at half the window', async () => {
    const t = tag()
    const iterator = client.count({ tag: t, to: 10 * WINDOW })[Symbol.asyncIterator]()
    await iterator.next()
    await settle()
    // The reader took 1: no renewal yet, so the generator stopped after the first window.
    expect(probe.producedBy.get(t)).toBe(FIRST_WINDOW)
    for (let i = 1; i < FIRST_WINDOW / 2; i++) await iterator.next()
    // Small elements: the renewal widens the window to the element limit.
    const widened = FIRST_WINDOW / 2 + WINDOW
    await until(() => probe.producedBy.get(t) === widened, 'the renewal let the producer go on')
    await settle()
    expect(probe.producedBy.get(t)).toBe(widened)
    await iterator.return?.()
  })

  it('large elements get a window of about streamWindowBytes, never under the smallest', async () => {
    const t = tag()
    // 2,000-byte elements against a budget of 5,000 bytes: 2 fit, so the window is the smallest, 4.
    const iterator = client.count({ tag: t, to: 1000, bytes: 2000 }, { streamWindowBytes: 5000 })[Symbol.asyncIterator]()
    let consumed = 0
    for (; consumed < 40; consumed++) await iterator.next()
    await settle()
    // Credit granted is never taken back: the window shrank from 16 by withholding renewals.
    expect(probe.producedBy.get(t)).toBe(consumed + SMALLEST_WINDOW)
    await iterator.return?.()
  })

  it("the window is an option: the client's, a call's own, and the server's for inputs", async () => {
    const queue = `${ADDRESS}.windows`
    const windowed = await createServer(Streams, streamHandlers(probe), {
      queue,
      transport: memoryTransport({ network }),
      streamWindow: 3,
    })
    const other = await createClient(Streams, { queue, transport: memoryTransport({ network }), streamWindow: 5 })
    try {
      const byClient = tag()
      const first = other.count({ tag: byClient, to: 1000 })[Symbol.asyncIterator]()
      await first.next()
      await settle()
      expect(probe.producedBy.get(byClient)).toBe(5)
      await first.return?.()

      const byCall = tag()
      const second = other.count({ tag: byCall, to: 1000 }, { streamWindow: 10 })[Symbol.asyncIterator]()
      await second.next()
      await settle()
      expect(probe.producedBy.get(byCall)).toBe(10)
      await second.return?.()

      probe.holdSum()
      let pulled = 0
      const result = other.sum(
        (function* () {
          for (let n = 0; n < 50; n++) {
            pulled++
            yield { n }
          }
        })(),
      )
      await settle()
      expect(pulled).toBe(3)
      probe.releaseSum()
      expect(await result).toMatchObject({ count: 50 })

      await expect(collect(other.count({ tag: tag(), to: 3 }, { streamWindow: 0 }))).rejects.toThrow(
        /streamWindow is 0: it must be an integer from 1 to 65535/,
      )
      await expect(collect(other.count({ tag: tag(), to: 3 }, { streamWindowBytes: 0 }))).rejects.toThrow(
        /streamWindowBytes is 0: it must be a positive integer/,
      )
    } finally {
      await other.close()
      await windowed.close()
    }
    await expect(createClient(Streams, { queue, transport: memoryTransport({ network }), streamWindow: 70_000 })).rejects.toThrow(
      /streamWindow is 70000/,
    )
  })

  it('a client stream is pulled only as far as the server grants', async () => {
    probe.holdSum()
    let pulled = 0
    async function* inputs() {
      for (let n = 0; n < 200; n++) {
        pulled++
        yield { n }
      }
    }
    const result = client.sum(inputs())
    await settle()
    // The handler has not read anything: the client pulled the first window and waits.
    expect(pulled).toBe(FIRST_WINDOW)
    probe.releaseSum()
    expect(await result).toEqual({ count: 200, total: 19_900, bytes: 0 })
    expect(pulled).toBe(200)
  })
})

describe('the end of a stream reaches the generator', () => {
  it('break sends CANCEL: the generator returns with ctx.signal aborted (CANCELLED)', async () => {
    const t = tag()
    const seen: number[] = []
    for await (const item of client.count({ tag: t, to: 1_000_000 })) {
      seen.push(item.n)
      if (seen.length === 5) break
    }
    await until(() => probe.endingOf(t) !== undefined, 'the generator finally ran')
    expect(probe.endingOf(t)).toEqual({ tag: t, aborted: true, code: Code.CANCELLED })
    expect(probe.producedBy.get(t)).toBeLessThanOrEqual(5 + WINDOW)
  })

  it("the caller's signal cancels the call: the iteration throws CANCELLED, the generator ends", async () => {
    const t = tag()
    const controller = new AbortController()
    const error = await rpcErrorOf(async () => {
      for await (const item of client.count({ tag: t, to: 1_000_000 }, { signal: controller.signal })) {
        if (item.n === 3) controller.abort()
      }
    })
    expect(error.code).toBe(Code.CANCELLED)
    await until(() => probe.endingOf(t) !== undefined, 'the generator finally ran')
    expect(probe.endingOf(t)?.aborted).toBe(true)
  })

  it('the deadline ends both sides; a generator awaiting ctx.signal is woken and returns', async () => {
    const t = tag()
    const seen: number[] = []
    const error = await rpcErrorOf(async () => {
      for await (const item of client.count({ tag: t, to: 100, waitAt: 3 }, { timeoutMs: 150 })) seen.push(item.n)
    })
    expect(error.code).toBe(Code.DEADLINE_EXCEEDED)
    expect(seen).toEqual([0, 1, 2])
    await until(() => probe.endingOf(t) !== undefined, 'the generator finally ran')
    expect(probe.endingOf(t)).toEqual({ tag: t, aborted: true, code: Code.DEADLINE_EXCEEDED })
  })

  it("the session's end (client closed) ends the generator", async () => {
    const t = tag()
    const iterator = client.count({ tag: t, to: 1_000_000 })[Symbol.asyncIterator]()
    await iterator.next()
    await client.close()
    await until(() => probe.endingOf(t) !== undefined, 'the generator finally ran')
    expect(probe.endingOf(t)).toMatchObject({ aborted: true, code: Code.CANCELLED })
    const error = await rpcErrorOf(async () => {
      for (;;) if ((await iterator.next()).done === true) return
    })
    expect(error.code).toBe(Code.CANCELLED)
  })

  it('a server shutting down cuts the stream with UNAVAILABLE, distinct from a normal end', async () => {
    const t = tag()
    const seen: number[] = []
    const error = await rpcErrorOf(async () => {
      for await (const item of client.count({ tag: t, to: 1_000_000 })) {
        seen.push(item.n)
        if (seen.length === 3) void server.close()
      }
    })
    expect(error.code).toBe(Code.UNAVAILABLE)
    await until(() => probe.endingOf(t) !== undefined, 'the generator finally ran')
  })
})

describe('errors and validation', () => {
  it("a handler's error mid-stream ends the stream with its code, after the elements before it", async () => {
    const seen: number[] = []
    const error = await rpcErrorOf(async () => {
      for await (const item of client.count({ tag: tag(), to: 100, failAt: 5 })) seen.push(item.n)
    })
    expect(seen).toEqual([0, 1, 2, 3, 4])
    expect(error.code).toBe(Code.FAILED_PRECONDITION)
    expect(error.details).toEqual({ at: 5 })
  })

  it('a bidi handler error ends the stream with its code', async () => {
    const error = await rpcErrorOf(() => collect(client.chat([{ n: 1 }, { n: -1 }, { n: 2 }])))
    expect(error.code).toBe(Code.OUT_OF_RANGE)
    await until(() => probe.endingOf('chat') !== undefined, 'the generator finally ran')
  })

  it('an output element not matching its schema is INTERNAL from the server, naming the path', async () => {
    const t = tag()
    const seen: number[] = []
    const error = await rpcErrorOf(async () => {
      for await (const item of client.count({ tag: t, to: 100, badAt: 2 })) seen.push(item.n)
    })
    expect(seen).toEqual([0, 1])
    expect(error.code).toBe(Code.INTERNAL)
    expect(error.message).toContain('/n')
    await until(() => probe.endingOf(t) !== undefined, 'the generator finally ran')
  })

  it('an input element not matching its schema ends a client stream with INVALID_ARGUMENT naming the path', async () => {
    const inputs = [{ n: 1 }, { n: 'two' as unknown as number }, { n: 3 }]
    const error = await rpcErrorOf(() => client.sum(inputs))
    expect(error.code).toBe(Code.INVALID_ARGUMENT)
    expect(error.message).toContain('/n')
    await until(() => probe.endingOf('sum') !== undefined, 'the reader finally ran')
    expect(probe.endingOf('sum')?.aborted).toBe(true)
  })

  it('the client checks every output element against its own schema', async () => {
    // A client built against a narrower schema (and sending no fingerprint, so the server does not refuse it).
    const Narrow = defineService('streams', {
      methods: {
        count: {
          stream: 'server',
          input: Streams.spec.methods.count.input,
          output: Type.Object({ n: Type.Integer({ maximum: 2 }) }),
        },
      },
    })
    const narrow = await createClient(Narrow, { queue: ADDRESS, transport: memoryTransport({ network }), fingerprint: false })
    try {
      const t = tag()
      const seen: number[] = []
      const error = await rpcErrorOf(async () => {
        for await (const item of narrow.count({ tag: t, to: 10 })) seen.push(item.n)
      })
      expect(seen).toEqual([0, 1, 2])
      expect(error.code).toBe(Code.INTERNAL)
      expect(error.message).toContain("output element of 'count'")
      expect(error.message).toContain('/n')
      // The client cancelled the call: the generator ends.
      await until(() => probe.endingOf(t) !== undefined, 'the generator finally ran')
    } finally {
      await narrow.close()
    }
  })

  it('an error thrown by the input iterable cancels the call and is what the caller sees', async () => {
    async function* inputs() {
      yield { n: 1 }
      throw new Error('source broke')
    }
    const error = await rpcErrorOf(() => client.sum(inputs()))
    expect(error.message).toContain('source broke')
    await until(() => probe.endingOf('sum') !== undefined, 'the reader finally ran')
  })

  it('a unary method of the same service still works alongside streams', async () => {
    const iterator = client.count({ tag: tag(), to: 1000 })[Symbol.asyncIterator]()
    await iterator.next()
    expect(await client.add({ a: 2, b: 3 })).toBe(5)
    await iterator.return?.()
  })
})

describe('server interceptors', () => {
  it('wrap streaming calls like unary ones: they see the kind and the handler still streams', async () => {
    const seen: string[] = []
    const intercepted = await createServer(Streams, streamHandlers(probe), {
      queue: `${ADDRESS}.intercepted`,
      transport: memoryTransport({ network }),
      interceptors: [
        (next) => async (call) => {
          seen.push(`${call.method}:${call.kind}`)
          return next(call)
        },
      ],
    })
    const other = await createClient(Streams, { queue: `${ADDRESS}.intercepted`, transport: memoryTransport({ network }) })
    try {
      const items = await collect(other.count({ tag: tag(), to: 5 }))
      expect(items.map((item) => item.n)).toEqual([0, 1, 2, 3, 4])
      expect(await other.sum([{ n: 2 }, { n: 3 }])).toMatchObject({ total: 5 })
      expect(seen).toEqual(['count:server-stream', 'sum:client-stream'])
    } finally {
      await other.close()
      await intercepted.close()
    }
  })
})

describe('client interceptors', () => {
  it('wrap every stream kind: order, metadata sent, inputs and outputs wrapped, break and deadline kept', async () => {
    const seen: string[] = []
    const serverSaw: string[] = []
    const queue = `${ADDRESS}.client-intercepted`
    const intercepted = await createServer(Streams, streamHandlers(probe), {
      queue,
      transport: memoryTransport({ network }),
      interceptors: [
        (next) => async (call) => {
          serverSaw.push(`${call.method}:${call.metadata.trace}`)
          return next(call)
        },
      ],
    })
    const outer: Interceptor = (next) => async (call) => {
      seen.push(`outer ${call.method} ${call.kind}`)
      call.metadata.trace = `trace-${call.method}`
      return next(call)
    }
    const wrapping: Interceptor = (next) => async (call) => {
      seen.push(`inner ${call.method}`)
      if (call.kind === 'client-stream') {
        const inputs = call.input as AsyncIterable<{ n: number }>
        const doubled = (async function* () {
          for await (const input of inputs) yield { n: input.n * 2 }
        })()
        return next({ ...call, input: doubled })
      }
      const outputs = (await next(call)) as AsyncIterable<unknown>
      return (async function* () {
        let count = 0
        for await (const output of outputs) {
          count++
          yield output
        }
        seen.push(`${call.method} ended after ${count}`)
      })()
    }
    const other = await createClient(Streams, { queue, transport: memoryTransport({ network }), interceptors: [outer, wrapping] })
    try {
      expect((await collect(other.count({ tag: tag(), to: 5 }))).map((item) => item.n)).toEqual([0, 1, 2, 3, 4])
      expect(await other.sum([{ n: 2 }, { n: 3 }])).toMatchObject({ count: 2, total: 10 })
      expect((await collect(other.chat([{ n: 1 }, { n: 2 }]))).map((item) => item.twice)).toEqual([2, 4])
      expect(seen).toEqual([
        'outer count server-stream',
        'inner count',
        'count ended after 5',
        'outer sum client-stream',
        'inner sum',
        'outer chat bidi',
        'inner chat',
        'chat ended after 2',
      ])
      expect(serverSaw).toEqual(['count:trace-count', 'sum:trace-sum', 'chat:trace-chat'])

      const broken = tag()
      for await (const item of other.count({ tag: broken, to: 1_000_000 })) if (item.n === 3) break
      await until(() => probe.endingOf(broken) !== undefined, 'the generator finally ran')
      expect(probe.endingOf(broken)).toEqual({ tag: broken, aborted: true, code: Code.CANCELLED })

      const late = tag()
      const error = await rpcErrorOf(async () => {
        for await (const _ of other.count({ tag: late, to: 100, waitAt: 2 }, { timeoutMs: 150 })) {
          // read until the generator waits for its signal
        }
      })
      expect(error.code).toBe(Code.DEADLINE_EXCEEDED)
      await until(() => probe.endingOf(late) !== undefined, 'the generator finally ran')
      expect(probe.endingOf(late)?.code).toBe(Code.DEADLINE_EXCEEDED)
    } finally {
      await other.close()
      await intercepted.close()
    }
  })

  it('let the logging interceptor record a stream when it ends, on both sides, CANCELLED when its reader breaks', async () => {
    const serverLog: CallLogEntry[] = []
    const clientLog: CallLogEntry[] = []
    const queue = `${ADDRESS}.logged`
    const logged = await createServer(Streams, streamHandlers(probe), {
      queue,
      transport: memoryTransport({ network }),
      interceptors: [loggingInterceptor({ log: (entry) => serverLog.push(entry) })],
    })
    const other = await createClient(Streams, {
      queue,
      transport: memoryTransport({ network }),
      interceptors: [loggingInterceptor({ log: (entry) => clientLog.push(entry) })],
    })
    try {
      const iterator = other.count({ tag: tag(), to: 3 })[Symbol.asyncIterator]()
      await iterator.next()
      // One element read, the stream still open: nothing is logged yet.
      expect(clientLog).toEqual([])
      while (!(await iterator.next()).done) {
        // drain
      }
      expect(clientLog.map((entry) => `${entry.method} ${entry.kind} ${entry.code}`)).toEqual(['count server-stream OK'])
      await until(() => serverLog.length === 1, 'the server logged the stream')
      expect(serverLog[0]).toMatchObject({ side: 'server', method: 'count', code: 'OK' })

      for await (const item of other.count({ tag: tag(), to: 1_000_000 })) if (item.n === 2) break
      expect(clientLog[1]).toMatchObject({ side: 'client', method: 'count', code: 'CANCELLED' })
      await until(() => serverLog.length === 2, 'the server logged the cancelled stream')
      expect(serverLog[1]).toMatchObject({ side: 'server', method: 'count', code: 'CANCELLED' })
    } finally {
      await other.close()
      await logged.close()
    }
  })

  it('fail the iteration with INTERNAL when an interceptor resolves a stream with something not iterable', async () => {
    const other = await createClient(Streams, {
      queue: ADDRESS,
      transport: memoryTransport({ network }),
      interceptors: [() => async () => 42],
    })
    try {
      const error = await rpcErrorOf(() => collect(other.count({ tag: tag(), to: 3 })))
      expect(error.code).toBe(Code.INTERNAL)
      expect(error.message).toMatch(/not an AsyncIterable/)
    } finally {
      await other.close()
    }
  })
})
