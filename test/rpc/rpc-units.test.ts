/**
 * Pure units of the RPC layer: codes, error mapping, service definitions,
 * schema differences and queue names.
 */
import { Type } from 'typebox'
import { describe, expect, it } from 'vitest'
import { Binary, Code, codeName, defineService, MqError, RpcError } from '../../src/index.js'
import { rpcErrorFromWire, rpcErrorToWire } from '../../src/protocol/rpc-error.js'
import { diffServiceShapes } from '../../src/rpc/schema-diff.js'
import { serviceShape } from '../../src/rpc/service.js'
import { CreditGate } from '../../src/rpc/stream-credit.js'
import { toRpcError } from '../../src/rpc/transport-errors.js'
import { mqTransport } from '../../src/transport/mq/mq-transport.js'
import { pidOfReplyQueue, replyQueueName, urgentLaneName } from '../../src/transport/mq/queue-naming.js'

describe('Code', () => {
  it("uses gRPC's numbering", () => {
    expect([
      Code.OK,
      Code.CANCELLED,
      Code.INVALID_ARGUMENT,
      Code.DEADLINE_EXCEEDED,
      Code.UNIMPLEMENTED,
      Code.UNAVAILABLE,
      Code.UNAUTHENTICATED,
    ]).toEqual([0, 1, 3, 4, 12, 14, 16])
    expect(codeName(5)).toBe('NOT_FOUND')
    expect(codeName(99)).toBe('UNKNOWN')
  })
})

describe('RpcError', () => {
  it('keeps code, raw message and details, and prefixes the code name', () => {
    const error = new RpcError(Code.NOT_FOUND, 'no such user', { id: 7 })
    expect(error.message).toBe('[NOT_FOUND] no such user')
    expect(error.rawMessage).toBe('no such user')
    expect(rpcErrorToWire(error)).toEqual({ code: 5, message: 'no such user', details: { id: 7 } })
  })

  it('from() keeps RpcErrors, maps queue errors, and makes anything else INTERNAL with a cause', () => {
    const original = new RpcError(Code.ABORTED, 'x')
    expect(RpcError.from(original)).toBe(original)
    const plain = new Error('boom')
    const internal = RpcError.from(plain)
    expect(internal.code).toBe(Code.INTERNAL)
    expect(internal.cause).toBe(plain)
    expect(RpcError.from('text', Code.UNAVAILABLE).code).toBe(Code.UNAVAILABLE)
  })

  it('maps every POSIX-queue error in one place, beside its transport', () => {
    const map = (code: string) => toRpcError(mqTransport(), new MqError('m', { code })).code
    expect(map('ETIMEDOUT')).toBe(Code.DEADLINE_EXCEEDED)
    expect(map('ABORT_ERR')).toBe(Code.CANCELLED)
    expect(map('ENOENT')).toBe(Code.UNAVAILABLE)
    expect(map('ERR_QUEUE_CLOSED')).toBe(Code.UNAVAILABLE)
    expect(map('EACCES')).toBe(Code.PERMISSION_DENIED)
    expect(map('EMFILE')).toBe(Code.RESOURCE_EXHAUSTED)
    expect(map('EMSGSIZE')).toBe(Code.INVALID_ARGUMENT)
  })

  it('reads a malformed wire error as an error, never a crash', () => {
    expect(rpcErrorFromWire('nonsense').code).toBe(Code.UNKNOWN)
    expect(rpcErrorFromWire({ code: 99, message: 5 }).rawMessage).toMatch(/without a message/)
  })
})

describe('defineService', () => {
  it('refuses names that would clash with the client or lifecycle events', () => {
    const input = Type.Object({})
    expect(() => defineService('s', { methods: { close: { input, output: Type.Null() } } })).toThrow(/reserved by the client/)
    // biome-ignore lint/suspicious/noThenProperty: the point is that defineService refuses it
    expect(() => defineService('s', { methods: { then: { input, output: Type.Null() } } })).toThrow(/reserved/)
    expect(() => defineService('s', { methods: { $x: { input, output: Type.Null() } } })).toThrow(/identifier/)
    expect(() => defineService('s', { methods: {}, events: { error: input } })).toThrow(/lifecycle/)
    expect(() => defineService('s', { methods: { m: { input } } })).toThrow(/output schema/)
    expect(() => defineService('bad name', { methods: {} })).toThrow(/service name/)
  })

  it('compiles checks that name failing paths, binary included', () => {
    const S = defineService('s', {
      methods: { put: { input: Type.Object({ key: Type.String(), data: Binary({ maxBytes: 4 }) }), output: Type.Null() } },
    })
    const check = S.methods.get('put')?.input
    expect(check?.check({ key: 'k', data: new Uint8Array(4) })).toBe(true)
    expect(check?.violations({ key: 1, data: 'not bytes' }).map((v) => v.path)).toEqual(['/key', '/data'])
    expect(check?.check({ key: 'k', data: new Uint8Array(5) })).toBe(false)
  })

  it('gives equal schemas equal fingerprints and different ones different', () => {
    const make = (b: ReturnType<typeof Type.Number> | ReturnType<typeof Type.String>) =>
      defineService('s', { methods: { add: { input: Type.Object({ a: Type.Number(), b }), output: Type.Number() } } })
    expect(make(Type.Number()).fingerprint).toBe(make(Type.Number()).fingerprint)
    expect(make(Type.Number()).fingerprint).not.toBe(make(Type.String()).fingerprint)
  })
})

describe('diffServiceShapes', () => {
  it('names methods on one side only and the fields that differ', () => {
    const a = defineService('s', {
      methods: {
        add: { input: Type.Object({ a: Type.Number() }), output: Type.Number() },
        old: { input: Type.Object({}), output: Type.Null() },
      },
    })
    const b = defineService('s', {
      methods: {
        add: { input: Type.Object({ a: Type.String() }), output: Type.Number() },
        fresh: { input: Type.Object({}), output: Type.Null() },
      },
    })
    expect(diffServiceShapes(serviceShape(a), serviceShape(b))).toEqual([
      "method 'old' exists only in the client",
      'method \'add\' differs at /input/properties/a/type: client "number", server "string"',
      "method 'fresh' exists only on the server",
    ])
  })
})

describe('queue names', () => {
  it('puts the urgent lane beside the request queue and the pid in reply queue names', () => {
    expect(urgentLaneName('/calc')).toBe('/calc.urgent')
    const name = replyQueueName(1234)
    expect(name).toMatch(/^\/mqrpc\.reply\.1234\.[0-9a-f]{24}$/)
    expect(pidOfReplyQueue(name)).toBe(1234)
    expect(pidOfReplyQueue('/calc')).toBeUndefined()
    expect(replyQueueName(1)).not.toBe(replyQueueName(1))
  })
})

describe('CreditGate', () => {
  it('tryTake takes granted units one by one, never past the grant, and none once closed', async () => {
    const gate = new CreditGate()
    expect(gate.tryTake()).toBe(false)
    gate.grant(2)
    expect([gate.tryTake(), gate.tryTake(), gate.tryTake()]).toEqual([true, true, false])
    const waiting = gate.take()
    gate.grant(1)
    expect(await waiting).toBe(true)
    expect(gate.credit).toBe(0)
    gate.grant(1)
    gate.close()
    expect(gate.tryTake()).toBe(false)
    expect(await gate.take()).toBe(false)
  })
})
