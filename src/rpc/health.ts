/**
 * Health in the spirit of grpc.health.v1: the server's status (SERVING or
 * NOT_SERVING), set by the application and forced to NOT_SERVING while the
 * server drains, answered by the built-ins `$health.check` and
 * `$health.watch` (docs/PROTOCOL.md 13.4).
 *
 * `$health.watch` is a long poll: it answers at once when the status
 * differs from the caller's `since` (or no `since` is given), else when it
 * next changes. A caller that polls again with the status it got sees
 * every change; `watchHealth` (health-client.ts) does that loop.
 * @module
 */
import { Code } from '../protocol/code.js'
import { RpcError } from '../protocol/rpc-error.js'
import type { BuiltinCall } from './server-intercept.js'

/** What `$health.check` answers. SERVICE_UNKNOWN: the server does not serve the service asked about. */
export type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN'

/** The statuses an application may set. */
export type SettableHealthStatus = 'SERVING' | 'NOT_SERVING'

/** Input of `$health.check` and `$health.watch`. */
export interface HealthRequest {
  /** The service asked about; absent or '' means the server as a whole. */
  readonly service?: string
  /** `$health.watch` only: the status the caller knows; the answer waits until it differs. */
  readonly since?: HealthStatus
}

/** Answer of `$health.check` and `$health.watch`. */
export interface HealthAnswer {
  readonly status: HealthStatus
}

const STATUSES: readonly string[] = ['SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN']

function readRequest(input: unknown): HealthRequest {
  if (input === undefined || input === null) return {}
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new RpcError(Code.INVALID_ARGUMENT, 'health input must be a map: { service?: string, since?: status }')
  }
  const { service, since } = input as Record<string, unknown>
  if (service !== undefined && typeof service !== 'string') {
    throw new RpcError(Code.INVALID_ARGUMENT, 'health input: service must be a string')
  }
  if (since !== undefined && (typeof since !== 'string' || !STATUSES.includes(since))) {
    throw new RpcError(Code.INVALID_ARGUMENT, `health input: since must be one of ${STATUSES.join(', ')}`)
  }
  return {
    ...(service === undefined ? {} : { service }),
    ...(since === undefined ? {} : { since: since as HealthStatus }),
  }
}

/** One server's health: its status, who waits for a change, and the drain that ends it. */
export class HealthState {
  private current: SettableHealthStatus = 'SERVING'
  private draining = false
  private readonly waiters = new Set<() => void>()

  constructor(private readonly serviceName: string) {}

  /** The server's status now. */
  get status(): SettableHealthStatus {
    return this.current
  }

  /** Sets the status; ignored once the server drains (it stays NOT_SERVING). */
  set(status: SettableHealthStatus): void {
    if (status !== 'SERVING' && status !== 'NOT_SERVING') {
      throw new RpcError(Code.INVALID_ARGUMENT, `health status must be SERVING or NOT_SERVING, not ${String(status)}`)
    }
    if (this.draining) return
    this.change(status)
  }

  /** The server started to drain: NOT_SERVING from now on, told to every watcher at once. */
  drain(): void {
    this.draining = true
    this.change('NOT_SERVING')
  }

  /** The status of `service` ('' or absent: the server). */
  statusOf(service: string | undefined): HealthStatus {
    if (service === undefined || service === '' || service === this.serviceName) return this.current
    return 'SERVICE_UNKNOWN'
  }

  /** `$health.check`. */
  check(call: BuiltinCall): HealthAnswer {
    return { status: this.statusOf(readRequest(call.input).service) }
  }

  /** `$health.watch`: the status once it differs from `since`; rejects when the call's signal aborts. */
  watch(call: BuiltinCall): HealthAnswer | Promise<HealthAnswer> {
    const { service, since } = readRequest(call.input)
    const now = this.statusOf(service)
    // An unknown service never changes: answered at once rather than held forever.
    if (since === undefined || since !== now || now === 'SERVICE_UNKNOWN') return { status: now }
    const signal = call.signal
    return new Promise<HealthAnswer>((resolve, reject) => {
      const onChange = () => {
        const status = this.statusOf(service)
        if (status === since) return
        finish()
        resolve({ status })
      }
      const onAbort = () => {
        finish()
        reject(RpcError.from(signal.reason, Code.CANCELLED))
      }
      const finish = () => {
        this.waiters.delete(onChange)
        signal.removeEventListener('abort', onAbort)
      }
      if (signal.aborted) {
        onAbort()
        return
      }
      this.waiters.add(onChange)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  private change(status: SettableHealthStatus): void {
    if (status === this.current) return
    this.current = status
    for (const waiter of [...this.waiters]) waiter()
  }
}
