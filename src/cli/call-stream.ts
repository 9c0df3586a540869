/**
 * `mqrpc call` on streaming methods. A server or bidi stream prints one JSON
 * value per output element as it arrives (`--json`: one per line) until the
 * stream ends or Ctrl-C, which cancels the call (the server's generator
 * returns) and exits 0. A client stream prints its one answer like a unary
 * call. Client and bidi streams send the lines of an {@link InputLines} as
 * their inputs.
 * @module
 */

import type { CallOptions } from '../index.js'
import { codeName, RpcError } from '../internal.js'
import { errorJson, exitFor, onInterrupt } from './args.js'
import type { InputLines } from './call-inputs.js'
import { Exit } from './cli.js'
import { jsonText, printJson } from './output.js'

/** What streaming needs of the dynamic client. */
interface StreamingClient {
  stream(method: string, input: unknown, options?: CallOptions): AsyncIterable<unknown> | Promise<unknown>
}

/** How the verb was asked to call. */
export type StreamCallOptions = Readonly<{ json: boolean; urgent: boolean; timeoutMs: number | undefined }>

/** Prints a failed call's error (stderr, or with `--json` one object on stdout); returns the exit code. */
export function printCallError(thrown: unknown, json: boolean): number {
  const error = RpcError.from(thrown)
  if (json) printJson(errorJson(error))
  else {
    console.error(`ERROR ${codeName(error.code)} (${error.code}): ${error.rawMessage}`)
    if (error.details !== undefined) console.error(`details: ${jsonText(error.details)}`)
  }
  return exitFor(error)
}

/** Prints a call's one result, as unary calls and client streams do. */
export function printResult(result: unknown, json: boolean): void {
  console.log(json ? jsonText(result) : jsonText(result, 2))
}

function callOptions(options: StreamCallOptions, signal?: AbortSignal): CallOptions {
  return {
    ...(signal === undefined ? {} : { signal }),
    ...(options.urgent ? { priority: 'urgent' as const } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  }
}

/**
 * Prints every output element of server or bidi stream `method`; returns
 * the exit code. `input` is the server stream's argument, or the lines a
 * bidi stream sends; a line that stops them is thrown (the verb reports it).
 */
export async function printOutputStream(
  client: StreamingClient,
  method: string,
  input: unknown,
  options: StreamCallOptions,
  inputs?: InputLines,
): Promise<number> {
  const stop = new AbortController()
  const restore = onInterrupt(() => stop.abort())
  try {
    const elements = client.stream(method, input, callOptions(options, stop.signal)) as AsyncIterable<unknown>
    for await (const element of elements) {
      if (options.json) printJson(element)
      else console.log(jsonText(element, 2))
    }
    return Exit.OK
  } catch (thrown) {
    if (inputs?.failure !== undefined) throw inputs.failure
    // Ctrl-C: the user ended the stream; the CANCEL has gone to the server.
    if (stop.signal.aborted) return Exit.OK
    return printCallError(thrown, options.json)
  } finally {
    restore()
    inputs?.close()
  }
}

/**
 * Calls client stream `method` with `inputs` and prints its one answer;
 * returns the exit code. Ctrl-C keeps the default (exit 130): the call is
 * cancelled as the verb removes its reply queue.
 */
export async function printClientStream(
  client: StreamingClient,
  method: string,
  inputs: InputLines,
  options: StreamCallOptions,
): Promise<number> {
  let result: unknown
  try {
    result = await client.stream(method, inputs, callOptions(options))
  } catch (thrown) {
    if (inputs.failure !== undefined) throw inputs.failure
    return printCallError(thrown, options.json)
  } finally {
    inputs.close()
  }
  printResult(result, options.json)
  return Exit.OK
}
