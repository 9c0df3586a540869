/**
 * One call on the client side, from the moment it is made until it ends,
 * exactly once, with a result or an RpcError.
 * @module
 */
import { Code } from '../protocol/code.js'
import { RpcError } from '../protocol/rpc-error.js'
import { SettleOnce } from '../util/settle-once.js'
import type { Metadata } from './metadata.js'

/** What a call is, as its caller made it. */
export type CallRequest = Readonly<{
  method: string
  input: unknown
  /** Absolute, in epoch ms; undefined waits as long as it takes. */
  deadline: number | undefined
  urgent: boolean
  oneWay: boolean
  /** Sent with the REQUEST; checked against the bounds already. */
  metadata?: Metadata
  signal: AbortSignal | undefined
  resolve: (value: unknown) => void
  reject: (error: RpcError) => void
}>

export class PendingCall extends SettleOnce<unknown, RpcError> {
  /** Set once the REQUEST is handed to the transport; 0 before. */
  id = 0
  readonly method: string
  readonly input: unknown
  readonly deadline: number | undefined
  readonly urgent: boolean
  readonly oneWay: boolean
  readonly metadata: Metadata | undefined

  /**
   * `onGiveUp` is told when the call ends early (deadline, abort), so the
   * client can stop tracking it and tell the server; `onSettled` once it
   * ends, however it ends.
   */
  constructor(
    request: CallRequest,
    onGiveUp: (call: PendingCall) => void,
    private readonly onSettled?: () => void,
  ) {
    super(request.resolve, request.reject)
    this.method = request.method
    this.input = request.input
    this.deadline = request.deadline
    this.urgent = request.urgent
    this.oneWay = request.oneWay
    this.metadata = request.metadata
    const { method, signal, deadline } = request
    // Most calls have neither: no closure for them.
    if (deadline === undefined && signal === undefined) return
    this.arm(deadline === undefined ? undefined : deadline - Date.now(), signal, (reason) => {
      if (this.settled) return
      this.reject(
        reason === 'timeout'
          ? new RpcError(Code.DEADLINE_EXCEEDED, `call to '${method}' did not finish within its deadline`)
          : new RpcError(Code.CANCELLED, `call to '${method}' was cancelled by its signal`, undefined, { cause: signal?.reason }),
      )
      onGiveUp(this)
    })
  }

  protected override ended(): void {
    this.onSettled?.()
  }
}
