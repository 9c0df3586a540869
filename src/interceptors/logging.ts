/**
 * `loggingInterceptor`: one structured record per call, on either side.
 * @module
 */
import { codeName } from '../protocol/code.js'
import { RpcError } from '../protocol/rpc-error.js'
import { type CallKind, type Interceptor, whenCallEnds } from '../rpc/interceptor.js'
import { performance } from '../util/clock.js'

/** What the logging interceptor records of one call. */
export interface CallLogEntry {
  readonly side: 'client' | 'server'
  readonly service: string
  readonly method: string
  readonly kind: CallKind
  /** The status code's name: 'OK', or the failure's ('UNAVAILABLE', 'INTERNAL', ...). */
  readonly code: string
  /** From the interceptor's start to the result (for server and bidi streams, to the stream's end), in milliseconds. */
  readonly durationMs: number
  /** Server side: the caller's principal as the transport vouches for it ('unix:1000:1000'). */
  readonly principal?: string
  /** The failure's message, when the call failed. */
  readonly error?: string
}

/** Options of {@link loggingInterceptor}. */
export type LoggingOptions = Readonly<{
  /** Where each record goes. Defaults to one JSON line on stderr. */
  log?: (entry: CallLogEntry) => void
}>

const jsonLine = (entry: CallLogEntry) => process.stderr.write(`${JSON.stringify(entry)}\n`)

/** Logs every call once it ends (a stream when its outputs end): service, method, code name, duration and (on the server) the caller's principal. */
export function loggingInterceptor(options: LoggingOptions = {}): Interceptor {
  const log = options.log ?? jsonLine
  return (next) => async (call) => {
    const started = performance.now()
    const base = {
      side: call.side,
      service: call.service,
      method: call.method,
      kind: call.kind,
      ...(call.peer === undefined ? {} : { principal: call.peer.principal }),
    }
    const finish = (error?: unknown) => {
      const durationMs = performance.now() - started
      if (error === undefined) {
        log({ ...base, code: 'OK', durationMs })
        return
      }
      const failure = RpcError.from(error)
      log({ ...base, code: codeName(failure.code), durationMs, error: failure.rawMessage })
    }
    let result: unknown
    try {
      result = await next(call)
    } catch (error) {
      finish(error)
      throw error
    }
    return whenCallEnds(call, result, finish)
  }
}
