/**
 * The client's side of interceptors and metadata: builds the call that the
 * chain sees, and turns the metadata the chain ends with into what the
 * REQUEST carries. Kept out of client.ts, which only calls in here.
 * @module
 */
import type { CallOptions } from './client-options.js'
import { type CallNext, callKind, chainInterceptors, type Interceptor, type RpcCall } from './interceptor.js'
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
  const compiled = service.methods.get(method)
  const call: RpcCall = {
    side: 'client',
    service: service.name,
    method,
    kind: callKind(compiled),
    input,
    // A fresh, mutable copy: interceptors add entries before it is sent.
    metadata: { ...options.metadata },
    deadline,
    signal: options.signal,
    idempotent: compiled?.spec.idempotent === true,
  }
  try {
    return chainInterceptors(interceptors, attempt)(call)
  } catch (error) {
    // An interceptor that throws before returning its promise fails the call the same way.
    return Promise.reject(error)
  }
}

/** The metadata a call sends, checked against the bounds; throws INVALID_ARGUMENT naming the limit. */
export function outgoingMetadata(method: string, metadata: Readonly<Record<string, string>> | undefined): Metadata {
  if (metadata === undefined) return NO_METADATA
  return checkMetadata(metadata, `metadata of the call to '${method}'`)
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
