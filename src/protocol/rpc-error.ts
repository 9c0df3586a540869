/**
 * RpcError: the one error type of a call. A handler throws it to choose the
 * code the caller sees; anything else a handler throws reaches the caller as
 * INTERNAL, without its stack.
 * @module
 */
import { Code, codeName, isCode } from './code.js'

export class RpcError extends Error {
  override readonly name = 'RpcError'
  /** The status code (gRPC numbering). */
  readonly code: Code
  /** The message without the `[CODE]` prefix. */
  readonly rawMessage: string
  /** Structured, msgpack-encodable details chosen by the thrower. */
  readonly details: unknown

  constructor(code: Code, message: string, details?: unknown, options?: Readonly<{ cause?: unknown }>) {
    super(`[${codeName(code)}] ${message}`, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.rawMessage = message
    this.details = details
  }

  /**
   * Turns anything thrown into an RpcError: an RpcError stays as it is, and
   * anything else becomes `fallback` (INTERNAL unless said otherwise) with
   * the original as `cause`. Transport errors are mapped by their transport
   * first (see `src/rpc/transport-errors.ts`).
   */
  static from(reason: unknown, fallback: Code = Code.INTERNAL): RpcError {
    if (reason instanceof RpcError) return reason
    if (reason instanceof Error && reason.name === 'AbortError') {
      return new RpcError(Code.CANCELLED, reason.message || 'operation was aborted', undefined, { cause: reason })
    }
    const message = reason instanceof Error ? reason.message : String(reason)
    return new RpcError(fallback, message, undefined, { cause: reason })
  }
}

/** Reads a wire error body back into an RpcError; a malformed one is still an error, never a crash. */
export function rpcErrorFromWire(body: unknown): RpcError {
  const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  const code = isCode(record.code) ? record.code : Code.UNKNOWN
  const message = typeof record.message === 'string' ? record.message : 'the peer sent an error without a message'
  return new RpcError(code, message, record.details)
}

/** What goes on the wire for an error: code, message, details; never a stack. */
export function rpcErrorToWire(error: RpcError): { code: number; message: string; details?: unknown } {
  return error.details === undefined
    ? { code: error.code, message: error.rawMessage }
    : { code: error.code, message: error.rawMessage, details: error.details }
}
