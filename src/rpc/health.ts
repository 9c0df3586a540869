/**
 * Health in the spirit of grpc.health.v1: the server's status (SERVING or
 * NOT_SERVING), set by the application and forced to NOT_SERVING while the
 * server drains, answered by the built-ins `$health.check` (the status now)
 * and `$health.watch`, a server stream of the status now and then each
 * change (docs/PROTOCOL.md 13.4).
 * @module
 */
import { Type } from 'typebox'
import { Code } from '../protocol/code.js'
import { RpcError } from '../protocol/rpc-error.js'
import type { BuiltinCall } from './server-intercept.js'
import { compileMethod } from './service.js'

/** What `$health.check` answers. SERVICE_UNKNOWN: the server does not serve the service asked about. */
export type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN'

/** The statuses an application may set. */
export type SettableHealthStatus = 'SERVING' | 'NOT_SERVING'

/** Input of `$health.check` and `$health.watch` (nil means `{}`). */
export interface HealthRequest {
  /** The service asked about; absent or '' means the server as a whole. */
  readonly service?: string
}

/** Answer of `$health.check`, and each element of `$health.watch`. */
export interface HealthAnswer {
  readonly status: HealthStatus
}

const HealthInput = Type.Union([Type.Null(), Type.Object({ service: Type.Optional(Type.String()) })])
const HealthOutput = Type.Object({
  status: Type.Union([Type.Literal('SERVING'), Type.Literal('NOT_SERVING'), Type.Literal('SERVICE_UNKNOWN')]),
})

/** `$health.watch` as a method: served by the stream machinery like any server stream, with credit and cancel. */
export const HEALTH_WATCH = compileMethod('$health.watch', { input: HealthInput, output: HealthOutput, stream: 'server' })

function readRequest(input: unknown): HealthRequest {
  if (input === undefined || input === null) return {}
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new RpcError(Code.INVALID_ARGUMENT, 'health input must be a map: { service?: string }')
  }
  const { service } = input as Record<string, unknown>
  if (service !== undefined && typeof service !== 'string') {
    throw new RpcError(Code.INVALID_ARGUMENT, 'health input: service must be a string')
  }
  return service === undefined ? {} : { service }
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

  /**
   * `$health.watch`: the status now, then each change, until `signal`
   * aborts. A flap that comes and goes while the reader is behind is not
   * repeated: what it gets is always the status at the time, never a stale one.
   */
  async *watch(input: unknown, signal: AbortSignal): AsyncGenerator<HealthAnswer> {
    const { service } = readRequest(input)
    let last = this.statusOf(service)
    yield { status: last }
    // An unknown service never changes: the stream ends rather than idles forever.
    if (last === 'SERVICE_UNKNOWN') return
    for (;;) {
      await this.nextChange(signal)
      const now = this.statusOf(service)
      if (now === last) continue
      last = now
      yield { status: now }
    }
  }

  /** Resolves at the next change of status; rejects with the reason when `signal` aborts. */
  private nextChange(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onChange = () => {
        finish()
        resolve()
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
