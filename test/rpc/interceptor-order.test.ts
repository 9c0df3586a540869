/**
 * Interceptors and metadata over the in-memory transport: the order on both
 * sides (first in the array outermost), what each side's call carries,
 * results replaced, errors caught and thrown, and metadata end to end with
 * its bounds.
 */
import { Type } from 'typebox'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type CallContext,
  type ClientOptions,
  Code,
  createClient,
  createServer,
  defineService,
  type Handlers,
  type Interceptor,
  MAX_METADATA_BYTES,
  MAX_METADATA_ENTRIES,
  MemoryNetwork,
  memoryTransport,
  type RpcCall,
  RpcError,
  type ServerOptions,
} from '../../src/index.js'
import { readRequest } from '../../src/protocol/wire.js'
import { checkMetadata } from '../../src/rpc/metadata.js'
import { rpcErrorOf } from '../helpers/errors.js'

const Svc = defineService('svc', {
  methods: {
    echo: {
      input: Type.Object({ text: Type.String() }),
      output: Type.Object({ text: Type.String() }),
      idempotent: true,
    },
    fail: { input: Type.Object({ code: Type.Integer() }), output: Type.Null() },
    note: { input: Type.Object({ text: Type.String() }), oneWay: true },
  },
})

const ADDRESS = 'mem.interceptors'
let network: MemoryNetwork
let log: string[]
let seen: { input: unknown; ctx: CallContext }[]
const closers: (() => Promise<void>)[] = []

beforeEach(() => {
  network = new MemoryNetwork()
  log = []
  seen = []
})

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
  expect(network.addresses).toEqual([])
})

const handlers: Handlers<typeof Svc> = {
  echo: (input, ctx) => {
    log.push('handler')
    seen.push({ input, ctx })
    return { text: input.text }
  },
  fail: ({ code }) => {
    log.push('handler')
    throw new RpcError(code as Code, `failed with ${code}`)
  },
  note: (input, ctx) => {
    log.push('handler')
    seen.push({ input, ctx })
  },
}

/** An interceptor that logs `<name>:in` and `<name>:out` (or `<name>:threw`) around the rest. */
const tracing =
  (name: string, calls?: RpcCall[]): Interceptor =>
  (next) =>
  async (call) => {
    log.push(`${name}:in`)
    calls?.push(call)
    try {
      const result = await next(call)
      log.push(`${name}:out`)
      return result
    } catch (error) {
      log.push(`${name}:threw`)
      throw error
    }
  }

async function start(server: Partial<ServerOptions> = {}, client: Partial<ClientOptions> = {}) {
  const srv = await createServer(Svc, handlers, {
    ...server,
    queue: ADDRESS,
    transport: memoryTransport({ network, principal: 'memory:server' }),
  })
  closers.push(() => srv.close())
  const cli = await createClient(Svc, {
    ...client,
    queue: ADDRESS,
    transport: memoryTransport({ network, principal: 'memory:alice' }),
  })
  closers.push(() => cli.close())
  return { server: srv, client: cli }
}

describe('order', () => {
  it('runs the first interceptor of each array outermost, client around server around handler', async () => {
    const { client } = await start(
      { interceptors: [tracing('s1'), tracing('s2')] },
      { interceptors: [tracing('c1'), tracing('c2')] },
    )
    expect(await client.echo({ text: 'hi' })).toEqual({ text: 'hi' })
    expect(log).toEqual(['c1:in', 'c2:in', 's1:in', 's2:in', 'handler', 's2:out', 's1:out', 'c2:out', 'c1:out'])
  })

  it('unwinds in the same order when the handler fails', async () => {
    const { client } = await start({ interceptors: [tracing('s1'), tracing('s2')] }, { interceptors: [tracing('c1')] })
    const error = await rpcErrorOf(client.fail({ code: Code.NOT_FOUND }))
    expect(error.code).toBe(Code.NOT_FOUND)
    expect(log).toEqual(['c1:in', 's1:in', 's2:in', 'handler', 's2:threw', 's1:threw', 'c1:threw'])
  })

  it('does not run server interceptors for input that fails validation', async () => {
    const { client } = await start({ interceptors: [tracing('s1')] })
    const error = await rpcErrorOf(client.call('echo', { text: 42 }))
    expect(error.code).toBe(Code.INVALID_ARGUMENT)
    expect(log).toEqual([])
  })
})

describe('what a call carries', () => {
  it('tells each side its side, service, method, kind, input, deadline and idempotence; the server its ctx and peer', async () => {
    const serverCalls: RpcCall[] = []
    const clientCalls: RpcCall[] = []
    const { client } = await start({ interceptors: [tracing('s', serverCalls)] }, { interceptors: [tracing('c', clientCalls)] })
    await client.echo({ text: 'x' }, { timeoutMs: 60_000 })
    await client.note({ text: 'n' })
    await client.fail({ code: Code.ABORTED }).catch(() => undefined)
    const [echo, note, fail] = clientCalls
    expect(echo).toMatchObject({
      side: 'client',
      service: 'svc',
      method: 'echo',
      kind: 'unary',
      input: { text: 'x' },
      idempotent: true,
    })
    expect(echo?.deadline).toBeGreaterThan(Date.now())
    expect(echo?.ctx).toBeUndefined()
    expect(note).toMatchObject({ side: 'client', method: 'note', kind: 'one-way', deadline: undefined })
    expect(fail).toMatchObject({ method: 'fail', kind: 'unary', idempotent: false })
    const [serverEcho] = serverCalls
    expect(serverEcho).toMatchObject({ side: 'server', service: 'svc', method: 'echo', kind: 'unary', input: { text: 'x' } })
    expect(serverEcho?.peer?.principal).toBe('memory:alice')
    expect(serverEcho?.ctx?.method).toBe('echo')
    expect(serverEcho?.deadline).toBe(echo?.deadline)
    expect(serverEcho?.signal).toBeInstanceOf(AbortSignal)
  })
})

describe('results and errors', () => {
  it('lets interceptors replace results on both sides; the server checks a replaced result against the output schema', async () => {
    const upper: Interceptor = (next) => async (call) => {
      const result = (await next(call)) as { text: string }
      return { text: result.text.toUpperCase() }
    }
    const exclaim: Interceptor = (next) => async (call) => `${((await next(call)) as { text: string }).text}!`
    const { client } = await start({ interceptors: [upper] }, { interceptors: [exclaim] })
    expect(await client.echo({ text: 'abc' })).toBe('ABC!')

    const wrong: Interceptor = () => async () => ({ text: 7 })
    const other = await createServer(Svc, handlers, {
      queue: `${ADDRESS}.wrong`,
      interceptors: [wrong],
      transport: memoryTransport({ network }),
    })
    closers.push(() => other.close())
    const otherClient = await createClient(Svc, { queue: `${ADDRESS}.wrong`, transport: memoryTransport({ network }) })
    closers.push(() => otherClient.close())
    const error = await rpcErrorOf(otherClient.echo({ text: 'abc' }))
    expect(error.code).toBe(Code.INTERNAL)
    expect(error.message).toContain('does not match its output schema')
  })

  it('lets interceptors catch errors and answer instead, on either side', async () => {
    const rescueServer: Interceptor = (next) => async (call) => {
      try {
        return await next(call)
      } catch (error) {
        if (error instanceof RpcError && error.code === Code.NOT_FOUND) return null
        throw error
      }
    }
    const rescueClient: Interceptor = (next) => async (call) => {
      try {
        return await next(call)
      } catch (error) {
        return `caught ${(error as RpcError).code}`
      }
    }
    const { client } = await start({ interceptors: [rescueServer] }, { interceptors: [rescueClient] })
    expect(await client.fail({ code: Code.NOT_FOUND })).toBeNull()
    expect(await client.fail({ code: Code.ABORTED })).toBe(`caught ${Code.ABORTED}`)
  })

  it('sends what a server interceptor throws: an RpcError as it is, anything else as INTERNAL; the handler never runs', async () => {
    const guard: Interceptor = (next) => async (call) => {
      if (call.metadata.authorization !== 'Bearer ok') throw new RpcError(Code.UNAUTHENTICATED, 'no token')
      if (call.metadata.crash === 'yes') throw new Error('interceptor bug')
      return next(call)
    }
    const { client } = await start({ interceptors: [guard] })
    expect((await rpcErrorOf(client.echo({ text: 'a' }))).code).toBe(Code.UNAUTHENTICATED)
    const crashed = await rpcErrorOf(client.echo({ text: 'a' }, { metadata: { authorization: 'Bearer ok', crash: 'yes' } }))
    expect(crashed.code).toBe(Code.INTERNAL)
    expect(crashed.message).toContain('interceptor bug')
    expect(log).toEqual([])
    expect(await client.echo({ text: 'a' }, { metadata: { authorization: 'Bearer ok' } })).toEqual({ text: 'a' })
    expect(log).toEqual(['handler'])
  })

  it('fails the call when a client interceptor throws before sending, and sends nothing', async () => {
    const refuse: Interceptor = () => () => {
      throw new RpcError(Code.FAILED_PRECONDITION, 'not now')
    }
    const { client } = await start({}, { interceptors: [refuse] })
    expect((await rpcErrorOf(client.echo({ text: 'a' }))).code).toBe(Code.FAILED_PRECONDITION)
    expect(log).toEqual([])
  })
})

describe('metadata', () => {
  it('carries call metadata and what client interceptors add to ctx.metadata and server interceptors, frozen', async () => {
    const serverCalls: RpcCall[] = []
    const addToken: Interceptor = (next) => (call) => {
      call.metadata.authorization = 'Bearer t0k3n'
      return next(call)
    }
    const { client } = await start({ interceptors: [tracing('s', serverCalls)] }, { interceptors: [addToken] })
    await client.echo({ text: 'a' }, { metadata: { 'x-request-id': 'r-1', 'x-ünïcode': 'välue' } })
    const ctx = seen[0]?.ctx
    expect({ ...ctx?.metadata }).toEqual({ 'x-request-id': 'r-1', 'x-ünïcode': 'välue', authorization: 'Bearer t0k3n' })
    expect(Object.isFrozen(ctx?.metadata)).toBe(true)
    expect(serverCalls[0]?.metadata).toBe(ctx?.metadata)
  })

  it('gives an empty ctx.metadata to a call that sends none (a 3-element REQUEST)', async () => {
    const { client } = await start()
    await client.echo({ text: 'a' })
    expect({ ...seen[0]?.ctx.metadata }).toEqual({})
  })

  it('refuses metadata over the bounds with INVALID_ARGUMENT naming the limit, before sending', async () => {
    const { client } = await start()
    const many = Object.fromEntries(Array.from({ length: MAX_METADATA_ENTRIES + 1 }, (_, i) => [`k${i}`, 'v']))
    const tooMany = await rpcErrorOf(client.echo({ text: 'a' }, { metadata: many }))
    expect(tooMany.code).toBe(Code.INVALID_ARGUMENT)
    expect(tooMany.message).toContain(`at most ${MAX_METADATA_ENTRIES}`)
    expect(tooMany.message).toContain('MAX_METADATA_ENTRIES')
    const big = await rpcErrorOf(client.echo({ text: 'a' }, { metadata: { k: 'x'.repeat(MAX_METADATA_BYTES) } }))
    expect(big.code).toBe(Code.INVALID_ARGUMENT)
    expect(big.message).toContain('MAX_METADATA_BYTES')
    const notString = await rpcErrorOf(client.echo({ text: 'a' }, { metadata: { k: 1 as unknown as string } }))
    expect(notString.message).toContain("value of 'k' must be a string")
    expect(log).toEqual([])
    // Exactly at the bounds is fine.
    const full = Object.fromEntries(
      Array.from({ length: MAX_METADATA_ENTRIES }, (_, i) => [`k${i}`.padEnd(8, '_'), 'v'.repeat(100)]),
    )
    await client.echo({ text: 'a' }, { metadata: full })
    expect(Object.keys(seen[0]?.ctx.metadata ?? {})).toHaveLength(MAX_METADATA_ENTRIES)
  })

  it('checks the same bounds on what a peer sends (the server side of the check)', () => {
    expect(() => checkMetadata({ k: 'x'.repeat(MAX_METADATA_BYTES) })).toThrow(/MAX_METADATA_BYTES/)
    expect(() => checkMetadata(Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, ''])))).toThrow(
      /MAX_METADATA_ENTRIES/,
    )
    expect(() => checkMetadata({ k: new Uint8Array(1) })).toThrow(RpcError)
    const copy = checkMetadata({ toString: 'a', __proto__x: 'b' })
    expect(copy.toString).toBe('a')
    expect(Object.getPrototypeOf(copy)).toBeNull()
  })

  it('reads REQUEST bodies of 3 elements and of 4 with a map or nil; refuses a 4th element that is not a map', () => {
    expect(readRequest(['m', 1, null])).toEqual(['m', 1, null, undefined])
    expect(readRequest(['m', 1, 5, { a: 'b' }])).toEqual(['m', 1, 5, { a: 'b' }])
    expect(readRequest(['m', 1, null, null])).toEqual(['m', 1, null, null])
    expect(() => readRequest(['m', 1, null, 'x'])).toThrow(/metadata a map or nil/)
    expect(() => readRequest(['m', 1, null, [1]])).toThrow(/expected \[method, input, deadline\]/)
    expect(() => readRequest(['m', 1, null, {}, 5])).toThrow(RpcError)
  })
})
