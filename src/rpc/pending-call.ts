/**
 * One call on the client side, from the moment it is made until it ends,
 * exactly once, with a result or an RpcError.
 * @module
 */

import { SettleOnce } from '../util/settle-once.js'
import { Code } from '../protocol/code.js'
import { RpcError } from './rpc-error.js'

export class PendingCall extends SettleOnce<unknown, RpcError> {
  /** Set once the REQUEST has been handed to the queue. */
  id = 0

  constructor(
    readonly method: string,
    readonly input: unknown,
    readonly deadline: number | undefined,
    readonly urgent: boolean,
    readonly oneWay: boolean,
    signal: AbortSignal | undefined,
    resolve: (value: unknown) => void,
    reject: (error: RpcError) => void,
    /** Told when the call ends early (deadline, abort), so the client can forget it and tell the server. */
    onGiveUp: (call: PendingCall) => void,
  ) {
    super(resolve, reject)
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
}
