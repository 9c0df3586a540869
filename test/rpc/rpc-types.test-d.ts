/**
 * Type-level tests of the inferred API (vitest typecheck): client methods,
 * handler parameters and results, and event payloads all follow the
 * schemas, and getting any of them wrong is a compile error.
 */
import { Type } from 'typebox'
import { describe, expectTypeOf, it } from 'vitest'
import {
  Binary,
  type CallContext,
  type CallOptions,
  type Client,
  createClient,
  createServer,
  defineService,
  type Handlers,
  type MethodInput,
  type MethodOutput,
  type RpcError,
  type Server,
} from '../../src/index.js'

const Shop = defineService('shop', {
  methods: {
    add: { input: Type.Object({ a: Type.Number(), b: Type.Number() }), output: Type.Number() },
    find: {
      input: Type.Object({ name: Type.String(), limit: Type.Optional(Type.Integer()) }),
      output: Type.Array(Type.Object({ id: Type.Integer(), name: Type.String() })),
    },
    upload: {
      input: Type.Object({ name: Type.String(), data: Binary() }),
      output: Type.Object({ bytes: Type.Integer(), digest: Binary() }),
    },
    log: { input: Type.Object({ line: Type.String() }), oneWay: true },
    stop: { input: Type.Object({}), output: Type.Null(), priority: 'urgent' },
  },
  events: {
    tick: Type.Object({ n: Type.Integer() }),
    frame: Type.Object({ data: Binary(), at: Type.Number() }),
  },
})
type Shop = typeof Shop

declare const client: Client<Shop>
declare const server: Server<Shop>

const handlers = {
  add: ({ a, b }) => a + b,
  find: async ({ name }) => [{ id: 1, name }],
  upload: ({ data }) => ({ bytes: data.byteLength, digest: data.subarray(0, 4) }),
  log: () => undefined,
  stop: async () => null,
} satisfies Handlers<Shop>

describe('client methods', () => {
  it('take the input type and resolve to the output type', () => {
    expectTypeOf(client.add).parameter(0).toEqualTypeOf<{ a: number; b: number }>()
    expectTypeOf(client.add).parameter(1).toEqualTypeOf<CallOptions | undefined>()
    expectTypeOf(client.add).returns.toEqualTypeOf<Promise<number>>()
    expectTypeOf(client.find).returns.toEqualTypeOf<Promise<{ id: number; name: string }[]>>()
    expectTypeOf(client.stop).returns.toEqualTypeOf<Promise<null>>()
    expectTypeOf<MethodInput<Shop, 'add'>>().toEqualTypeOf<{ a: number; b: number }>()
    expectTypeOf<MethodOutput<Shop, 'find'>>().toEqualTypeOf<{ id: number; name: string }[]>()
  })

  it('an optional field may be left out', () => {
    expectTypeOf(client.find).toBeCallableWith({ name: 'x' })
    expectTypeOf(client.find).toBeCallableWith({ name: 'x', limit: 3 }, { timeoutMs: 50, priority: 'urgent' })
  })

  it('one-way methods return Promise<void>', () => {
    expectTypeOf(client.log).returns.toEqualTypeOf<Promise<void>>()
    expectTypeOf<MethodOutput<Shop, 'log'>>().toEqualTypeOf<void>()
  })

  it('binary fields are Uint8Array both ways', () => {
    expectTypeOf(client.upload).parameter(0).toEqualTypeOf<{ name: string; data: Uint8Array }>()
    expectTypeOf(client.upload).returns.resolves.toEqualTypeOf<{ bytes: number; digest: Uint8Array }>()
    expectTypeOf(client.upload).toBeCallableWith({ name: 'a', data: Buffer.from('x') })
  })

  it('createClient resolves to the typed client', () => {
    expectTypeOf(createClient(Shop, { queue: '/shop' })).resolves.toEqualTypeOf<Client<Shop>>()
    expectTypeOf(client.call).returns.toEqualTypeOf<Promise<unknown>>()
  })

  it('wrong arguments, fields and methods do not compile', () => {
    // @ts-expect-error: b must be a number
    void client.add({ a: 1, b: '2' })
    // @ts-expect-error: c is not a field of add's input (and b is missing)
    void client.add({ a: 1, c: 2 })
    // @ts-expect-error: an extra field
    void client.add({ a: 1, b: 2, extra: true })
    // @ts-expect-error: b is missing
    void client.add({ a: 1 })
    // @ts-expect-error: a string is not binary
    void client.upload({ name: 'a', data: 'bytes' })
    // @ts-expect-error: number[] is not binary
    void client.upload({ name: 'a', data: [1, 2, 3] })
    // @ts-expect-error: no such method
    void client.remove({ id: 1 })
    // @ts-expect-error: no such priority
    void client.add({ a: 1, b: 2 }, { priority: 'high' })
    // @ts-expect-error: the result of add is a number
    const text: Promise<string> = client.add({ a: 1, b: 2 })
    void text
  })
})

describe('handlers', () => {
  it('infer their parameters from the schemas', () => {
    void createServer(
      Shop,
      {
        add: (input, ctx) => {
          expectTypeOf(input).toEqualTypeOf<{ a: number; b: number }>()
          expectTypeOf(ctx).toEqualTypeOf<CallContext>()
          expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>()
          expectTypeOf(ctx.deadline).toEqualTypeOf<number | undefined>()
          expectTypeOf(ctx.peer.principal).toEqualTypeOf<string>()
          expectTypeOf(ctx.peer.uid).toEqualTypeOf<number | undefined>()
          return input.a + input.b
        },
        find: async (input) => {
          expectTypeOf(input.limit).toEqualTypeOf<number | undefined>()
          return []
        },
        upload: (input) => {
          expectTypeOf(input.data).toEqualTypeOf<Uint8Array>()
          return { bytes: input.data.byteLength, digest: new Uint8Array(32) }
        },
        log: (input) => {
          expectTypeOf(input).toEqualTypeOf<{ line: string }>()
        },
        stop: () => null,
      },
      { queue: '/shop' },
    )
    expectTypeOf(createServer(Shop, handlers, { queue: '/shop' })).resolves.toEqualTypeOf<Server<Shop>>()
    expectTypeOf<Handlers<Shop>['add']>().returns.toEqualTypeOf<number | Promise<number>>()
  })

  it('a missing handler does not compile', () => {
    const { stop: _stop, ...withoutStop } = handlers
    // @ts-expect-error: no handler for stop
    void createServer(Shop, withoutStop, { queue: '/shop' })
  })

  it('a handler that returns the wrong type does not compile', () => {
    // @ts-expect-error: add must return a number
    void createServer(Shop, { ...handlers, add: () => 'three' }, { queue: '/shop' })
    // @ts-expect-error: digest must be binary
    void createServer(Shop, { ...handlers, upload: () => ({ bytes: 1, digest: 'abc' }) }, { queue: '/shop' })
    // @ts-expect-error: find must resolve to an array of items
    void createServer(Shop, { ...handlers, find: async () => [{ id: 'x', name: 'y' }] }, { queue: '/shop' })
  })

  it('a handler that takes the wrong input does not compile', () => {
    // @ts-expect-error: add's input has no field c
    void createServer(Shop, { ...handlers, add: (input: { c: string }) => input.c.length }, { queue: '/shop' })
  })
})

describe('events', () => {
  it('payloads are typed on the client and checked at server.emit', () => {
    client.on('tick', (payload) => {
      expectTypeOf(payload).toEqualTypeOf<{ n: number }>()
    })
    client.on('frame', (payload) => {
      expectTypeOf(payload.data).toEqualTypeOf<Uint8Array>()
      expectTypeOf(payload.at).toEqualTypeOf<number>()
    })
    client.once('tick', ({ n }) => expectTypeOf(n).toEqualTypeOf<number>())
    server.emit('tick', { n: 1 })
    server.emit('frame', { data: new Uint8Array(1), at: 0 })
  })

  it('lifecycle events are typed', () => {
    client.on('connect', () => undefined)
    client.on('reconnect', () => undefined)
    client.on('disconnect', (reason) => expectTypeOf(reason).toEqualTypeOf<RpcError>())
    client.on('error', (error) => expectTypeOf(error).toEqualTypeOf<Error>())
    server.on('session', (info) => expectTypeOf(info.peer.gid).toEqualTypeOf<number | undefined>())
    server.on('sessionEnd', (info, reason) => {
      expectTypeOf(info.id).toEqualTypeOf<string>()
      expectTypeOf(reason).toEqualTypeOf<RpcError>()
    })
  })

  it('unknown events and wrong payloads do not compile', () => {
    // @ts-expect-error: no such event
    client.on('tock', () => undefined)
    // @ts-expect-error: no such event
    server.emit('tock', { n: 1 })
    // @ts-expect-error: n must be a number
    server.emit('tick', { n: 'one' })
    // @ts-expect-error: data must be binary
    server.emit('frame', { data: 'x', at: 0 })
    // @ts-expect-error: the payload has no field m
    client.on('tick', (payload) => payload.m)
    // @ts-expect-error: no such server event
    server.on('tick', () => undefined)
  })
})

const Feed = defineService('feed', {
  methods: {
    watch: { stream: 'server', input: Type.Object({ topic: Type.String() }), output: Type.Object({ seq: Type.Integer() }) },
    upload: { stream: 'client', input: Type.Object({ chunk: Binary() }), output: Type.Object({ bytes: Type.Integer() }) },
    chat: { stream: 'bidi', input: Type.Object({ text: Type.String() }), output: Type.Object({ reply: Type.String() }) },
    plain: { input: Type.Object({}), output: Type.Boolean() },
  },
})
type Feed = typeof Feed
declare const feed: Client<Feed>

describe('streaming methods', () => {
  it('client side: a server stream is an AsyncIterable of elements, a client stream takes an iterable', () => {
    expectTypeOf(feed.watch).parameter(0).toEqualTypeOf<{ topic: string }>()
    expectTypeOf(feed.watch).parameter(1).toEqualTypeOf<CallOptions | undefined>()
    expectTypeOf(feed.watch).returns.toEqualTypeOf<AsyncIterable<{ seq: number }>>()
    expectTypeOf(feed.upload).returns.toEqualTypeOf<Promise<{ bytes: number }>>()
    expectTypeOf(feed.upload).toBeCallableWith([{ chunk: new Uint8Array(1) }])
    expectTypeOf(feed.upload).toBeCallableWith(
      (async function* () {
        yield { chunk: new Uint8Array(1) }
      })(),
    )
    expectTypeOf(feed.chat).returns.toEqualTypeOf<AsyncIterable<{ reply: string }>>()
    expectTypeOf(feed.plain).returns.toEqualTypeOf<Promise<boolean>>()
    expectTypeOf<MethodOutput<Feed, 'watch'>>().toEqualTypeOf<{ seq: number }>()
    // @ts-expect-error: a server stream is not a promise
    feed.watch({ topic: 't' }).then
    // @ts-expect-error: a client stream takes an iterable of elements, not one element
    feed.upload({ chunk: new Uint8Array(1) })
    // @ts-expect-error: elements must match the element schema
    feed.upload([{ chunk: 'x' }])
  })

  it('server side: handlers are async generators and readers of async iterables', () => {
    const feedHandlers = {
      async *watch({ topic }, ctx) {
        expectTypeOf(topic).toEqualTypeOf<string>()
        expectTypeOf(ctx).toEqualTypeOf<CallContext>()
        yield { seq: 1 }
      },
      async upload(inputs) {
        expectTypeOf(inputs).toEqualTypeOf<AsyncIterable<{ chunk: Uint8Array }>>()
        let bytes = 0
        for await (const { chunk } of inputs) bytes += chunk.byteLength
        return { bytes }
      },
      async *chat(inputs) {
        for await (const { text } of inputs) yield { reply: text }
      },
      plain: () => true,
    } satisfies Handlers<Feed>
    expectTypeOf(feedHandlers.watch).returns.toExtend<AsyncIterable<{ seq: number }>>()
    const wrong = {
      // @ts-expect-error: a server stream yields its output elements
      async *watch() {
        yield { seq: 'one' }
      },
      upload: async () => ({ bytes: 0 }),
      async *chat() {},
      plain: () => true,
    } satisfies Handlers<Feed>
    void wrong
  })
})
