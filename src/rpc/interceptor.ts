/**
 * Interceptors: one onion signature for both sides and every kind of call,
 * as in Connect. An interceptor wraps the next step; it may look at the
 * call, change what it passes on (`next({ ...call, input })`, or
 * `call.metadata` on the client before sending), inspect or replace the
 * result, and catch or throw errors.
 *
 * Order: the first interceptor of the array is the outermost. On the client
 * it sees the call first and the result last; on the server likewise, with
 * the handler in the middle. Server interceptors run after the input has
 * been validated (and the limits, authorisation and scheduler slot passed),
 * and their result is checked against the output schema like a handler's.
 * Built-in methods (`$describe`, `$stats`, `$health.*`) are not intercepted.
 *
 * Streams: `call.input` of a client or bidi stream is the inputs' iterable,
 * and `next` of a server or bidi stream resolves with the outputs as an
 * iterable, before any element has gone; an interceptor wraps either to see
 * the elements, and {@link whenCallEnds} tells when the stream is over.
 * @module
 */
import { Code } from '../protocol/code.js'
import { RpcError } from '../protocol/rpc-error.js'
import type { CallContext, Peer } from './context.js'
import type { CompiledMethod } from './service.js'

/** What kind of call: one request and one reply, a stream in either or both directions, or no reply at all. */
export type CallKind = 'unary' | 'server-stream' | 'client-stream' | 'bidi' | 'one-way'

/** One call as interceptors see it. */
export interface RpcCall {
  /** Which side runs the interceptor. */
  readonly side: 'client' | 'server'
  /** The service's name. */
  readonly service: string
  /** The method's name. */
  readonly method: string
  readonly kind: CallKind
  /** The input: the validated value on the server; for input streams, the stream. */
  readonly input: unknown
  /**
   * String pairs sent with the call (bounded: see src/rpc/metadata.ts). On
   * the client, interceptors may add or change entries before the call is
   * sent; on the server it is the frozen `ctx.metadata`.
   */
  readonly metadata: Record<string, string>
  /** Absolute deadline in epoch ms, or undefined when the call has none. */
  readonly deadline: number | undefined
  /** The caller's signal on the client; `ctx.signal` on the server. */
  readonly signal: AbortSignal | undefined
  /** The schema marks the method `idempotent: true` (safe to send again). */
  readonly idempotent: boolean
  /** Server side only: what the handler gets as its second argument. */
  readonly ctx?: CallContext
  /** Server side only: the caller, as the transport vouches for it (`ctx.peer`). */
  readonly peer?: Peer
}

/** The rest of the chain: resolves with the call's result, or rejects with its error. */
export type CallNext = (call: RpcCall) => Promise<unknown>

/** Wraps the next step of a call: `(next) => async (call) => { ...; return next(call) }`. */
export type Interceptor = (next: CallNext) => CallNext

/**
 * Composes `interceptors` around `innermost`: the first of the array ends
 * up outermost. With no interceptors, `innermost` itself.
 */
export function chainInterceptors(interceptors: readonly Interceptor[], innermost: CallNext): CallNext {
  let next = innermost
  for (let i = interceptors.length - 1; i >= 0; i--) next = (interceptors[i] as Interceptor)(next)
  return next
}

/** The kind of a call to `method`; names the schema does not know are unary. */
export function callKind(method: CompiledMethod | undefined): CallKind {
  if (method === undefined) return 'unary'
  if (method.oneWay) return 'one-way'
  // `stream` is read from the spec so that this stays right whichever way the compiled method carries it.
  const stream = (method.spec as { stream?: string }).stream
  if (stream === 'server') return 'server-stream'
  if (stream === 'client') return 'client-stream'
  if (stream === 'bidi') return 'bidi'
  return 'unary'
}

/** `Service/Method`, as logs and OpenTelemetry name a call. */
export function fullMethodName(call: Pick<RpcCall, 'service' | 'method'>): string {
  return `${call.service}/${call.method}`
}

/**
 * Calls `done` once the call that `next` answered with `result` is over, and
 * returns what the interceptor should return. Unary, one-way and
 * client-stream calls are over now. Server and bidi streams are over when
 * their outputs end (`done()`), fail (`done(error)`) or are abandoned by
 * their reader (`done` with CANCELLED), so an interceptor that measures or
 * logs a call covers the whole stream.
 */
export function whenCallEnds(call: RpcCall, result: unknown, done: (error?: unknown) => void): unknown {
  if (call.kind !== 'server-stream' && call.kind !== 'bidi') {
    done()
    return result
  }
  return watchOutputs(call, result as AsyncIterable<unknown>, done)
}

async function* watchOutputs(call: RpcCall, outputs: AsyncIterable<unknown>, done: (error?: unknown) => void) {
  let failure: unknown
  let finished = false
  try {
    yield* outputs
    finished = true
  } catch (error) {
    failure = error
    throw error
  } finally {
    done(finished ? undefined : (failure ?? new RpcError(Code.CANCELLED, `the reader of '${fullMethodName(call)}' stopped`)))
  }
}
