/**
 * Asking a server about its health from any client (the built-ins
 * `$health.check` and `$health.watch`, src/rpc/health.ts).
 * @module
 */
import { Code } from '../protocol/code.js'
import { RpcError } from '../protocol/rpc-error.js'
import type { CallOptions } from './client-options.js'
import type { HealthStatus } from './health.js'

/** Anything that can call a method by name: every client (`client.call`). */
export interface HealthCaller {
  call(method: string, input: unknown, options?: CallOptions): Promise<unknown>
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
 * The server's health status now, then each change, until `signal` aborts
 * (the generator then ends) or the call fails (it throws). Each step is one
 * `$health.watch` long poll; `timeoutMs` bounds each poll, not the watch.
 */
export async function* watchHealth(client: HealthCaller, options: HealthOptions = {}): AsyncGenerator<HealthStatus> {
  let since: HealthStatus | undefined
  for (;;) {
    const input = {
      ...(options.service === undefined ? {} : { service: options.service }),
      ...(since === undefined ? {} : { since }),
    }
    let status: HealthStatus
    try {
      status = statusOf(await client.call('$health.watch', input, callOptions(options)))
    } catch (error) {
      if (options.signal?.aborted === true) return
      throw error
    }
    if (status !== since) yield status
    // Nothing more will ever change for a service the server does not know.
    if (status === 'SERVICE_UNKNOWN') return
    since = status
  }
}
