/**
 * One call on the client side, from the moment it is made until it ends,
 * exactly once, with a result or an RpcError.
 * @module
 */
import { Code } from './code.js'
import { RpcError } from './rpc-error.js'

// setTimeout fires at once for delays past 2^31-1 ms; clamp where timers are set.
const MAX_TIMER_MS = 0x7fffffff

export class PendingCall {
  /** Set once the REQUEST has been handed to the queue. */
  id = 0
  private done = false
  private timer: NodeJS.Timeout | undefined
  private readonly onAbort: (() => void) | undefined

  constructor(
    readonly method: string,
    readonly input: unknown,
    readonly deadline: number | undefined,
    readonly urgent: boolean,
    readonly oneWay: boolean,
    private readonly signal: AbortSignal | undefined,
    private readonly resolveFn: (value: unknown) => void,
    private readonly rejectFn: (error: RpcError) => void,
    /** Told when the call ends early (deadline, abort), so the client can forget it and tell the server. */
    private readonly onGiveUp: (call: PendingCall) => void,
  ) {
    if (deadline !== undefined) {
      const timeoutMs = deadline - Date.now()
      this.timer = setTimeout(
        () => this.giveUp(new RpcError(Code.DEADLINE_EXCEEDED, `call to '${method}' did not finish within its deadline`)),
        Math.min(MAX_TIMER_MS, Math.max(0, timeoutMs)),
      )
    }
    if (signal !== undefined) {
      this.onAbort = () =>
        this.giveUp(
          new RpcError(Code.CANCELLED, `call to '${method}' was cancelled by its signal`, undefined, { cause: signal.reason }),
        )
      signal.addEventListener('abort', this.onAbort, { once: true })
    }
  }

  get settled(): boolean {
    return this.done
  }

  resolve(value: unknown): void {
    if (this.finish()) this.resolveFn(value)
  }

  reject(error: RpcError): void {
    if (this.finish()) this.rejectFn(error)
  }

  private giveUp(error: RpcError): void {
    if (this.done) return
    this.reject(error)
    this.onGiveUp(this)
  }

  private finish(): boolean {
    if (this.done) return false
    this.done = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.onAbort !== undefined) this.signal?.removeEventListener('abort', this.onAbort)
    return true
  }
}
