/**
 * The client's side of interceptors and metadata: builds the call that the
 * chain sees, and turns the metadata the chain ends with into what the
 * REQUEST carries. Kept out of client.ts, which only calls in here.
 * @module
 */
import { Code } from '../protocol/code.js'
import { RpcError } from '../protocol/rpc-error.js'
import type { CallOptions } from './client-options.js'
import { type CallKind, type CallNext, callKind, chainInterceptors, type Interceptor, type RpcCall } from './interceptor.js'
import { checkMetadata, type Metadata, NO_METADATA } from './metadata.js'
import type { AnyService } from './service.js'

/**
 * Runs a client call through `interceptors`; `attempt` sends the call the
 * chain hands it (once per `next`, so a retrying interceptor sends again).
 */
export function interceptClientCall(
  service: AnyService,
  method: string,
  input: unknown,
  options: CallOptions,
  deadline: number | undefined,
  interceptors: readonly Interceptor[],
  attempt: CallNext,
): Promise<unknown> {
  const call = clientCall(service, method, callKind(service.methods.get(method)), input, options, deadline)
  return runChain(interceptors, attempt, call)
}

/**
 * Runs a streaming call through `interceptors`, with the same call shape
 * as {@link interceptClientCall} (its `input` is the inputs' iterable for
 * client and bidi streams, which an interceptor may wrap).
 *
 * A client stream's chain resolves with its answer, like a unary call. For
 * server and bidi streams the chain runs when the caller starts iterating,
 * and `next` resolves with the outputs as an AsyncIterable (the call itself
 * starts when that is iterated): an interceptor that wants each element, or
 * the stream's end, returns a wrapping iterable. `open` starts the call the
 * chain hands it.
 */
export function interceptClientStream(
  service: AnyService,
  method: string,
  input: unknown,
  options: CallOptions,
  deadline: number | undefined,
  interceptors: readonly Interceptor[],
  open: (call: RpcCall) => AsyncIterable<unknown> | Promise<unknown>,
): AsyncIterable<unknown> | Promise<unknown> {
  // A name the schema does not know as a stream is called as a server stream (stream-client.ts).
  const compiled = service.methods.get(method)
  const kind = compiled?.stream === undefined ? 'server-stream' : callKind(compiled)
  const call = clientCall(service, method, kind, input, options, deadline)
  const next: CallNext = (c) => Promise.resolve(open(c))
  if (kind === 'client-stream') return runChain(interceptors, next, call)
  let iterated = false
  return {
    [Symbol.asyncIterator]: () => {
      if (iterated) throw new TypeError(`a stream of '${method}' can be iterated only once; call the method again`)
      iterated = true
      const outputs = runChain(interceptors, next, call).then((result) => outputsOf(method, result))
      // Rejections reach the caller through next(); this branch only keeps an unread failure from going unhandled.
      outputs.catch(() => undefined)
      return {
        next: async () => (await outputs).next(),
        return: async (value?: unknown) => {
          const iterator = await outputs.catch(() => undefined)
          await iterator?.return?.()
          return { done: true, value }
        },
      }
    },
  }
}

function outputsOf(method: string, result: unknown): AsyncIterator<unknown> {
  const iterable = result as AsyncIterable<unknown> | null | undefined
  if (typeof iterable?.[Symbol.asyncIterator] !== 'function') {
    throw new RpcError(
      Code.INTERNAL,
      `an interceptor of the stream '${method}' resolved with ${typeof result}, not an AsyncIterable of outputs: return what next(call) resolves with, or an iterable wrapping it`,
    )
  }
  return iterable[Symbol.asyncIterator]()
}

function clientCall(
  service: AnyService,
  method: string,
  kind: CallKind,
  input: unknown,
  options: CallOptions,
  deadline: number | undefined,
): RpcCall {
  return {
    side: 'client',
    service: service.name,
    method,
    kind,
    input,
    // A fresh, mutable copy: interceptors add entries before it is sent.
    metadata: { ...options.metadata },
    deadline,
    signal: options.signal,
    idempotent: service.methods.get(method)?.spec.idempotent === true,
  }
}

function runChain(interceptors: readonly Interceptor[], innermost: CallNext, call: RpcCall): Promise<unknown> {
  try {
    return chainInterceptors(interceptors, innermost)(call)
  } catch (error) {
    // An interceptor that throws before returning its promise fails the call the same way.
    return Promise.reject(error)
  }
}

/** The metadata a call sends, checked against the bounds; throws INVALID_ARGUMENT naming the limit. */
export function outgoingMetadata(method: string, metadata: Readonly<Record<string, string>> | undefined): Metadata {
  if (metadata === undefined) return NO_METADATA
  return checkMetadata(metadata, method)
}

/** The REQUEST body: three elements without metadata, so that servers older than metadata still understand it. */
export function requestBody(
  method: string,
  input: unknown,
  deadline: number | undefined,
  metadata: Metadata | undefined,
): unknown[] {
  const body: unknown[] = [method, input, deadline ?? null]
  if (metadata !== undefined && Object.keys(metadata).length > 0) body.push(metadata)
  return body
}
