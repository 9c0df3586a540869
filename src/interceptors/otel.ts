/**
 * `otelInterceptor`: OpenTelemetry metrics and spans per the RPC semantic
 * conventions: histograms `rpc.server.call.duration` and
 * `rpc.client.call.duration` in seconds, and a span per call, with
 * `rpc.system.name` ('mqrpc'), `rpc.method` ('Service/Method') and
 * `rpc.status_code` (the code's name). Trace context rides in the call's
 * metadata (`traceparent`, through the global propagator).
 *
 * `@opentelemetry/api` is an optional peer dependency, loaded on the first
 * call: without it, and without providers given here, the interceptor
 * passes calls through and warns once.
 * @module
 */
import { codeName } from '../protocol/code.js'
import { RpcError } from '../protocol/rpc-error.js'
import { fullMethodName, type Interceptor, whenCallEnds } from '../rpc/interceptor.js'
import { performance } from '../util/clock.js'

type Attributes = Record<string, string | number | boolean>

/** The part of an OpenTelemetry `MeterProvider` this uses (the SDK's and the API's fit). */
export interface MeterProviderLike {
  getMeter(
    name: string,
    version?: string,
  ): {
    createHistogram(
      name: string,
      options?: { description?: string; unit?: string; advice?: { explicitBucketBoundaries?: number[] } },
    ): { record(value: number, attributes?: Attributes): void }
  }
}

/** The part of an OpenTelemetry span this uses. */
export interface SpanLike {
  setAttribute(key: string, value: string): unknown
  setStatus(status: { code: number; message?: string }): unknown
  end(): void
}

/** The part of an OpenTelemetry `TracerProvider` this uses. */
export interface TracerProviderLike {
  getTracer(
    name: string,
    version?: string,
  ): {
    // biome-ignore lint/suspicious/noExplicitAny: the parent context is the API's opaque Context
    startSpan(name: string, options?: { kind?: number; attributes?: Attributes }, context?: any): SpanLike
  }
}

/** Options of {@link otelInterceptor}. */
export type OtelOptions = Readonly<{
  /** Where the histograms go. Defaults to the global one (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProviderLike
  /** Where the spans go. Defaults to the global one (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProviderLike
}>

type Api = typeof import('@opentelemetry/api')

// The API's enums, stable since 1.0: written out so that given providers work without the API installed.
const SPAN_KIND_SERVER = 1
const SPAN_KIND_CLIENT = 2
const STATUS_ERROR = 2
// The semantic conventions' advice for RPC durations, in seconds.
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

interface Instruments {
  readonly api: Api | undefined
  readonly tracer: ReturnType<TracerProviderLike['getTracer']> | undefined
  readonly server: { record(value: number, attributes?: Attributes): void } | undefined
  readonly client: { record(value: number, attributes?: Attributes): void } | undefined
}

async function loadApi(): Promise<Api | undefined> {
  // A name in a variable: bundlers leave the optional dependency alone.
  const name = '@opentelemetry/api'
  try {
    return (await import(name)) as Api
  } catch {
    return undefined
  }
}

async function instruments(options: OtelOptions): Promise<Instruments | undefined> {
  const api = await loadApi()
  const meterProvider = options.meterProvider ?? (api?.metrics.getMeterProvider() as MeterProviderLike | undefined)
  const tracerProvider = options.tracerProvider ?? (api?.trace.getTracerProvider() as TracerProviderLike | undefined)
  if (meterProvider === undefined && tracerProvider === undefined) {
    process.emitWarning(
      'otelInterceptor: @opentelemetry/api is not installed and no providers were given; calls are not measured',
      'MqrpcWarning',
    )
    return undefined
  }
  const meter = meterProvider?.getMeter('mqrpc')
  const histogram = (side: 'server' | 'client') =>
    meter?.createHistogram(`rpc.${side}.call.duration`, {
      description: `Duration of RPCs measured on the ${side} side`,
      unit: 's',
      advice: { explicitBucketBoundaries: BUCKETS },
    })
  return { api, tracer: tracerProvider?.getTracer('mqrpc'), server: histogram('server'), client: histogram('client') }
}

/** Measures every call (a duration histogram) and traces it (a span), on the side it is installed on; a stream until its outputs end. */
export function otelInterceptor(options: OtelOptions = {}): Interceptor {
  let loading: Promise<Instruments | undefined> | undefined
  return (next) => async (call) => {
    loading ??= instruments(options)
    const otel = await loading
    if (otel === undefined) return next(call)
    const { api } = otel
    const server = call.side === 'server'
    const name = fullMethodName(call)
    const attributes: Attributes = { 'rpc.system.name': 'mqrpc', 'rpc.method': name }
    const parent =
      api === undefined ? undefined : server ? api.propagation.extract(api.context.active(), call.metadata) : api.context.active()
    const span = otel.tracer?.startSpan(name, { kind: server ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT, attributes }, parent)
    const active =
      api !== undefined && span !== undefined && parent !== undefined ? api.trace.setSpan(parent, span as never) : undefined
    // The client's span becomes the server span's parent.
    if (!server && api !== undefined && active !== undefined) api.propagation.inject(active, call.metadata)
    const started = performance.now()
    const finish = (error?: unknown) => {
      let code = 'OK'
      if (error !== undefined) {
        const failure = RpcError.from(error)
        code = codeName(failure.code)
        span?.setStatus({ code: STATUS_ERROR, message: failure.rawMessage })
      }
      const seconds = (performance.now() - started) / 1000
      span?.setAttribute('rpc.status_code', code)
      span?.end()
      ;(server ? otel.server : otel.client)?.record(seconds, { ...attributes, 'rpc.status_code': code })
    }
    let result: unknown
    try {
      result = await (api !== undefined && active !== undefined ? api.context.with(active, () => next(call)) : next(call))
    } catch (error) {
      finish(error)
      throw error
    }
    return whenCallEnds(call, result, finish)
  }
}
