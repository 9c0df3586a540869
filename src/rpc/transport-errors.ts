/**
 * A transport's errors as RpcErrors: the transport names the status (its own
 * mapping, beside it), this layer turns the name into a `Code`.
 * @module
 */
import { Code } from '../protocol/code.js'
import { RpcError } from '../protocol/rpc-error.js'
import type { Transport, TransportStatus } from '../transport/transport.js'

/** Whether `error` is one the transport maps to `status`. */
export function hasStatus(transport: Transport, error: unknown, status: TransportStatus): boolean {
  return transport.statusOf(error) === status
}

/**
 * Turns anything thrown into an RpcError: the transport's errors keep their
 * message (it says what to do) under the code the transport names; anything
 * else goes through `RpcError.from` with `fallback`.
 */
export function toRpcError(transport: Transport, error: unknown, fallback: Code = Code.INTERNAL): RpcError {
  if (error instanceof RpcError) return error
  const status = transport.statusOf(error)
  if (status === undefined) return RpcError.from(error, fallback)
  return new RpcError(Code[status], (error as Error).message, undefined, { cause: error })
}
