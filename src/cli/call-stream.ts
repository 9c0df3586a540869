/**
 * `mqrpc call` on a server-streaming method: one JSON value per element as
 * it arrives (`--json`: one per line) until the stream ends or Ctrl-C, which
 * cancels the call (the server's generator returns) and exits 0.
 * @module
 */

import type { CallOptions } from '../index.js'
import { codeName, RpcError } from '../internal.js'
import { errorJson, exitFor, onInterrupt } from './args.js'
import { Exit } from './cli.js'
import { jsonText, printJson } from './output.js'

/** What streaming needs of the dynamic client. */
interface StreamingClient {
  stream(method: string, input: unknown, options?: CallOptions): AsyncIterable<unknown> | Promise<unknown>
}

/** Prints every element of server stream `method`; returns the exit code. */
export async function printServerStream(
  client: StreamingClient,
  method: string,
  input: unknown,
  options: Readonly<{ json: boolean; urgent: boolean; timeoutMs: number | undefined }>,
): Promise<number> {
  const stop = new AbortController()
  const restore = onInterrupt(() => stop.abort())
  try {
    const elements = client.stream(method, input, {
      signal: stop.signal,
      ...(options.urgent ? { priority: 'urgent' as const } : {}),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    }) as AsyncIterable<unknown>
    for await (const element of elements) {
      if (options.json) printJson(element)
      else console.log(jsonText(element, 2))
    }
    return Exit.OK
  } catch (thrown) {
    // Ctrl-C: the user ended the stream; the CANCEL has gone to the server.
    if (stop.signal.aborted) return Exit.OK
    const error = RpcError.from(thrown)
    if (options.json) printJson(errorJson(error))
    else {
      console.error(`ERROR ${codeName(error.code)} (${error.code}): ${error.rawMessage}`)
      if (error.details !== undefined) console.error(`details: ${jsonText(error.details)}`)
    }
    return exitFor(error)
  } finally {
    restore()
  }
}
