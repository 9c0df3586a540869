/**
 * The built-in interceptors over the in-memory transport: structured
 * logging, OpenTelemetry metrics and spans (the SDK's in-memory exporters),
 * and retries (only idempotent methods, only UNAVAILABLE, within the
 * deadline).
 */
import {
  AggregationTemporality,
  DataPointType,
  type HistogramMetricData,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { Type } from 'typebox'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { emitService } from '../../src/codegen/emit-service.js'
import { serviceModel } from '../../src/codegen/service-model.js'
import {
  type CallLogEntry,
  type ClientOptions,
  Code,
  createClient,
  createServer,
  defineService,
  type Interceptor,
  loggingInterceptor,
  MemoryNetwork,
  memoryTransport,
  otelInterceptor,
  RpcError,
  retryInterceptor,
  type ServerOptions,
} from '../../src/index.js'
import { rpcErrorOf } from '../helpers/errors.js'

const Svc = defineService('shop', {
  methods: {
    price: { input: Type.Object({ item: Type.String() }), output: Type.Number(), idempotent: true },
    buy: { input: Type.Object({ item: Type.String() }), output: Type.Number() },
    fail: { input: Type.Object({ code: Type.Integer() }), output: Type.Null(), idempotent: true },
  },
})

const ADDRESS = 'mem.builtins'
let network: MemoryNetwork
const closers: (() => Promise<void>)[] = []
/** Attempts per method the server saw, and how many of the next ones fail UNAVAILABLE. */
let attempts: Record<string, number>
let failNext: number

beforeEach(() => {
  network = new MemoryNetwork()
  attempts = { price: 0, buy: 0, fail: 0 }
  failNext = 0
})

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
  expect(network.addresses).toEqual([])
})

const unavailableFirst = (method: 'price' | 'buy', value: number) => {
  attempts[method] = (attempts[method] ?? 0) + 1
  if (failNext > 0) {
    failNext--
    throw new RpcError(Code.UNAVAILABLE, 'try again')
  }
  return value
}

async function start(server: Partial<ServerOptions> = {}, client: Partial<ClientOptions> = {}) {
  const srv = await createServer(
    Svc,
    {
      price: () => unavailableFirst('price', 10),
      buy: () => unavailableFirst('buy', 1),
      fail: ({ code }) => {
        attempts.fail = (attempts.fail ?? 0) + 1
        throw new RpcError(code as Code, `failed with ${code}`)
      },
    },
    { ...server, queue: ADDRESS, transport: memoryTransport({ network }) },
  )
  closers.push(() => srv.close())
  // The principal the server's interceptors see is the one the client's transport vouches for.
  const cli = await createClient(Svc, {
    ...client,
    queue: ADDRESS,
    transport: memoryTransport({ network, principal: 'unix:1000:1000' }),
  })
  closers.push(() => cli.close())
  return cli
}

describe('loggingInterceptor', () => {
  it('logs one structured record per call on each side: service, method, code name, duration, principal', async () => {
    const entries: CallLogEntry[] = []
    const log = (entry: CallLogEntry) => entries.push(entry)
    const client = await start({ interceptors: [loggingInterceptor({ log })] }, { interceptors: [loggingInterceptor({ log })] })
    await client.price({ item: 'tea' })
    await rpcErrorOf(client.fail({ code: Code.NOT_FOUND }))
    expect(entries.map((e) => `${e.side} ${e.service}/${e.method} ${e.code}`)).toEqual([
      'server shop/price OK',
      'client shop/price OK',
      'server shop/fail NOT_FOUND',
      'client shop/fail NOT_FOUND',
    ])
    for (const entry of entries) {
      expect(entry.durationMs).toBeGreaterThanOrEqual(0)
      expect(entry.kind).toBe('unary')
    }
    expect(entries.filter((e) => e.side === 'server').map((e) => e.principal)).toEqual(['unix:1000:1000', 'unix:1000:1000'])
    expect(entries.filter((e) => e.side === 'client').every((e) => e.principal === undefined)).toBe(true)
    expect(entries[2]?.error).toBe('failed with 5')
    expect(entries[0]).not.toHaveProperty('error')
  })
})

describe('otelInterceptor', () => {
  it('records rpc.server.call.duration and rpc.client.call.duration in seconds, and a span per call, with the RPC attributes', async () => {
    const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 })
    const meterProvider = new MeterProvider({ readers: [reader] })
    const spans = new InMemorySpanExporter()
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
    closers.push(async () => {
      await meterProvider.shutdown()
      await tracerProvider.shutdown()
    })
    const otel = otelInterceptor({ meterProvider, tracerProvider })
    const client = await start({ interceptors: [otel] }, { interceptors: [otel] })
    await client.price({ item: 'tea' })
    await client.price({ item: 'milk' })
    await rpcErrorOf(client.fail({ code: Code.PERMISSION_DENIED }))
    await reader.forceFlush()

    const exported =
      metrics
        .getMetrics()
        .at(-1)
        ?.scopeMetrics.flatMap((scope) => scope.metrics) ?? []
    const byName = new Map(exported.map((metric) => [metric.descriptor.name, metric]))
    expect([...byName.keys()].sort()).toEqual(['rpc.client.call.duration', 'rpc.server.call.duration'])
    for (const name of ['rpc.client.call.duration', 'rpc.server.call.duration']) {
      const metric = byName.get(name) as HistogramMetricData
      expect(metric.descriptor.unit).toBe('s')
      expect(metric.dataPointType).toBe(DataPointType.HISTOGRAM)
      const points = metric.dataPoints.map((point) => ({ attributes: point.attributes, count: point.value.count }))
      expect(points).toEqual(
        expect.arrayContaining([
          { attributes: { 'rpc.system.name': 'mqrpc', 'rpc.method': 'shop/price', 'rpc.status_code': 'OK' }, count: 2 },
          {
            attributes: { 'rpc.system.name': 'mqrpc', 'rpc.method': 'shop/fail', 'rpc.status_code': 'PERMISSION_DENIED' },
            count: 1,
          },
        ]),
      )
      expect(points).toHaveLength(2)
      // Seconds, not milliseconds: an in-process call takes far less than a second.
      for (const point of metric.dataPoints) expect(point.value.sum).toBeLessThan(point.value.count * 5)
    }

    const finished = spans.getFinishedSpans()
    expect(finished).toHaveLength(6)
    const summary = finished.map((span) => [span.name, span.kind, span.attributes['rpc.status_code'], span.status.code])
    // SpanKind SERVER 1, CLIENT 2; SpanStatusCode UNSET 0, ERROR 2.
    expect(summary).toEqual(
      expect.arrayContaining([
        ['shop/price', 1, 'OK', 0],
        ['shop/price', 2, 'OK', 0],
        ['shop/fail', 1, 'PERMISSION_DENIED', 2],
        ['shop/fail', 2, 'PERMISSION_DENIED', 2],
      ]),
    )
    for (const span of finished) {
      expect(span.attributes['rpc.system.name']).toBe('mqrpc')
      expect(span.attributes['rpc.method']).toBe(span.name)
    }
  })
})

describe('retryInterceptor', () => {
  const quick = retryInterceptor({ maxAttempts: 4, backoff: { initialMs: 1, maxMs: 5 } })

  it('retries an idempotent method that failed UNAVAILABLE, up to maxAttempts', async () => {
    const client = await start({}, { interceptors: [quick] })
    failNext = 2
    expect(await client.price({ item: 'tea' })).toBe(10)
    expect(attempts.price).toBe(3)
    failNext = 10
    expect((await rpcErrorOf(client.price({ item: 'tea' }))).code).toBe(Code.UNAVAILABLE)
    expect(attempts.price).toBe(3 + 4)
  })

  it('reads idempotence from the schema, which $describe and generated stubs carry', async () => {
    const client = await start()
    const description = (await client.call('$describe', {})) as { methods: Record<string, Record<string, unknown>> }
    expect(description.methods.price?.idempotent).toBe(true)
    expect(description.methods.buy).not.toHaveProperty('idempotent')
    const stub = emitService(serviceModel(Svc), '', 'mqrpc')
    expect(stub.match(/idempotent: true/g)).toHaveLength(2)
  })

  it('does not retry a method the schema does not mark idempotent', async () => {
    const client = await start({}, { interceptors: [quick] })
    failNext = 1
    expect((await rpcErrorOf(client.buy({ item: 'tea' }))).code).toBe(Code.UNAVAILABLE)
    expect(attempts.buy).toBe(1)
  })

  it('does not retry codes other than UNAVAILABLE', async () => {
    const client = await start({}, { interceptors: [quick] })
    for (const code of [Code.INTERNAL, Code.DEADLINE_EXCEEDED, Code.RESOURCE_EXHAUSTED, Code.ABORTED]) {
      attempts.fail = 0
      expect((await rpcErrorOf(client.fail({ code }))).code).toBe(code)
      expect(attempts.fail).toBe(1)
    }
    attempts.fail = 0
    await rpcErrorOf(client.fail({ code: Code.UNAVAILABLE }))
    expect(attempts.fail).toBe(4)
  })

  it('stops when the next pause would pass the deadline, with the last error', async () => {
    const slow = retryInterceptor({ maxAttempts: 10, backoff: () => 60_000 })
    const client = await start({}, { interceptors: [slow] })
    failNext = 10
    const error = await rpcErrorOf(client.price({ item: 'tea' }, { timeoutMs: 30_000 }))
    expect(error.code).toBe(Code.UNAVAILABLE)
    expect(attempts.price).toBe(1)
  })

  it('stops pausing when the call is cancelled', async () => {
    const slow = retryInterceptor({ maxAttempts: 10, backoff: () => 60_000 })
    const client = await start({}, { interceptors: [slow] })
    failNext = 10
    const controller = new AbortController()
    const call = client.price({ item: 'tea' }, { signal: controller.signal })
    while (attempts.price === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    controller.abort()
    expect((await rpcErrorOf(call)).code).toBe(Code.CANCELLED)
    expect(attempts.price).toBe(1)
  })

  it('sends the metadata again with each attempt, and leaves server-side calls alone', async () => {
    const tokens: (string | undefined)[] = []
    const see: Interceptor = (next) => (call) => {
      tokens.push(call.metadata.token)
      return next(call)
    }
    const client = await start({ interceptors: [quick, see] }, { interceptors: [quick] })
    failNext = 1
    expect(await client.price({ item: 'tea' }, { metadata: { token: 't' } })).toBe(10)
    // The server-side retry interceptor does not send again: the client's does.
    expect(tokens).toEqual(['t', 't'])
  })
})
