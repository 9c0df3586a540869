/**
 * Asking a server about its health from any client (the built-ins
 * `$health.check` and `$health.watch`, src/rpc/health.ts).
 * @module
 */
import { Code } from '../protocol/code.js'
import { RpcError } from '../protocol/rpc-error.js'
import type { CallOptions } from './client-options.js'
import type { HealthStatus } from './health.js'

/** Anything that can call a method by name: every client (`client.call`, `client.stream`). */
export interface HealthCaller {
  call(method: string, input: unknown, options?: CallOptions): Promise<unknown>
  stream(method: string, input: unknown, options?: CallOptions): AsyncIterable<unknown> | Promise<unknown>
}

/** Options of {@link checkHealth} and {@link watchHealth}. */
export type HealthOptions = CallOptions &
  Readonly<{
    /** The service asked about. Defaults to the server as a whole. */
    service?: string
  }>

function statusOf(answer: unknown): HealthStatus {
  const status = (answer as { status?: unknown } | null)?.status
  if (status === 'SERVING' || status === 'NOT_SERVING' || status === 'SERVICE_UNKNOWN') return status
  throw new RpcError(Code.INTERNAL, `the server answered a health call with ${JSON.stringify(answer)}, not a status`)
}

function callOptions(options: HealthOptions): CallOptions {
  const { service: _service, ...rest } = options
  return rest
}

/** The server's health status now (`$health.check`). */
export async function checkHealth(client: HealthCaller, options: HealthOptions = {}): Promise<HealthStatus> {
  const input = options.service === undefined ? {} : { service: options.service }
  return statusOf(await client.call('$health.check', input, callOptions(options)))
}

/**
 * The server's health status now, then each change (one `$health.watch`
 * stream), until `signal` aborts (the generator then ends), the caller
 * stops iterating (the stream is cancelled), or the call fails (it throws,
 * e.g. UNAVAILABLE when the server goes away). `timeoutMs`, or the client's
 * default, bounds the whole watch: leave both unset to watch for as long as
 * the server lives.
 */
export async function* watchHealth(client: HealthCaller, options: HealthOptions = {}): AsyncGenerator<HealthStatus> {
  const input = options.service === undefined ? {} : { service: options.service }
  const answers = client.stream('$health.watch', input, callOptions(options)) as AsyncIterable<unknown>
  try {
    for await (const answer of answers) yield statusOf(answer)
  } catch (error) {
    if (options.signal?.aborted === true) return
    throw error
  }
}
