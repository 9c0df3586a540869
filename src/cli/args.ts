/**
 * Command-line plumbing shared by the verbs: parsing with `node:util`
 * parseArgs, number options, and one place that turns whatever a verb
 * throws into a plain-words message and an exit code.
 * @module
 */
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { Code, codeName, queueNameProblem, RpcError } from '../internal.js'
import { Exit } from './cli.js'
import { printJson, toJsonValue } from './output.js'

/** The command line itself is wrong: the verb prints the message and exits with USAGE. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** How a {@link CliFailure} shows under `--json`. */
export type FailureJson = Readonly<{
  /** A gRPC code name where one fits (NOT_FOUND, INVALID_ARGUMENT, ...); FAILED otherwise. */
  code?: string
  /** Anything a script may want beside the message (e.g. the failing fields). */
  details?: unknown
}>

/** A failure the verb has already explained; `exitCode` says which kind. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure'
  readonly code: string
  readonly details: unknown
  constructor(
    message: string,
    readonly exitCode: number = Exit.FAILURE,
    json: FailureJson = {},
  ) {
    super(message)
    this.code = json.code ?? 'FAILED'
    this.details = json.details
  }
}

type Options = NonNullable<ParseArgsConfig['options']>

type VerbConfig<O extends Options> = { args: string[]; options: O; allowPositionals: true; strict: true }

/** What {@link parseVerbArgs} returns: typed values and the positionals. */
export type ParsedVerbArgs<O extends Options> = ReturnType<typeof parseArgs<VerbConfig<O>>>

/** Parses a verb's arguments strictly; unknown options and missing values are usage errors. */
export function parseVerbArgs<const O extends Options>(args: readonly string[], options: O): ParsedVerbArgs<O> {
  try {
    return parseArgs<VerbConfig<O>>({ args: [...args], options, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''))
  }
}

/** Reads a whole-number option; undefined when absent. Throws UsageError when it is not a number in range. */
export function intOption(value: string | undefined, option: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`--${option} takes a whole number, got '${value}'`)
  const n = Number(value)
  if (n < min || n > max) throw new UsageError(`--${option} must be between ${min} and ${max}, got ${n}`)
  return n
}

/**
 * Rewrites `--name N` (N a number) into `--name=N`, so that an option whose
 * value may be left out (`--watch` or `--watch 500`) parses as a string
 * option; a bare `--name` becomes `--name=` (empty value).
 */
export function optionalValue(args: readonly string[], name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === `--${name}`) {
      const next = args[i + 1]
      if (next !== undefined && /^\d+$/.test(next)) {
        out.push(`--${name}=${next}`)
        i++
      } else {
        out.push(`--${name}=`)
      }
    } else {
      out.push(arg)
    }
  }
  return out
}

/**
 * Checks the number of positionals. `required` names the first `min` of
 * them in order (the message says which are missing); `example` follows.
 */
export function expectPositionals(
  positionals: readonly string[],
  min: number,
  max: number,
  required: readonly string[] = [],
  example = '',
): void {
  if (positionals.length < min) {
    const missing = required.slice(positionals.length, min)
    const what = missing.length > 0 ? missing.join(' and ') : `${min - positionals.length} argument(s)`
    throw new UsageError(`missing ${what}${example === '' ? '' : `, e.g. ${example}`}`)
  }
  if (positionals.length > max) {
    throw new UsageError(`unexpected argument${positionals.length - max > 1 ? 's' : ''}: ${positionals.slice(max).join(' ')}`)
  }
}

/** Checks a queue name given on the command line; a malformed one is a usage error. */
export function queueArg(name: string): string {
  const problem = queueNameProblem(name)
  if (problem !== undefined) throw new UsageError(problem)
  return name
}

/** The exit code for an RPC error: could not reach the server, or the call failed. */
export function exitFor(error: RpcError): number {
  return error.code === Code.UNAVAILABLE ? Exit.UNAVAILABLE : Exit.FAILURE
}

const cleanups = new Set<() => Promise<void> | void>()
let interruptHandler: ((signal: NodeJS.Signals) => void) | undefined

/**
 * Registers something to undo when the verb is interrupted (a client whose
 * reply queue must be removed). Returns a function that unregisters it.
 */
export function addCleanup(cleanup: () => Promise<void> | void): () => void {
  cleanups.add(cleanup)
  return () => cleanups.delete(cleanup)
}

/**
 * Replaces the default SIGINT/SIGTERM behaviour (run the cleanups, exit
 * 130/143) for verbs that end cleanly on a signal (`watch`, `stats --watch`).
 * Returns a function that restores the default.
 */
export function onInterrupt(handler: (signal: NodeJS.Signals) => void): () => void {
  interruptHandler = handler
  return () => {
    if (interruptHandler === handler) interruptHandler = undefined
  }
}

async function defaultInterrupt(signal: NodeJS.Signals): Promise<void> {
  await Promise.allSettled([...cleanups].map(async (cleanup) => cleanup()))
  process.exit(signal === 'SIGINT' ? 130 : 143)
}

/**
 * Wraps a verb's body: what it throws is printed as `mqrpc <verb>: <message>`
 * on stderr and mapped to an exit code, so each verb only throws. While it
 * runs, SIGINT and SIGTERM remove what the verb made (its reply queues).
 */
export function verbRunner(
  verb: string,
  body: (args: readonly string[]) => Promise<number>,
): (args: readonly string[]) => Promise<number> {
  return async (args) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (interruptHandler !== undefined) interruptHandler(signal)
      else void defaultInterrupt(signal)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    try {
      return await body(args)
    } catch (error) {
      // With --json, a script reads stdout: the failure is one JSON value there too.
      if (args.includes('--json')) printJson(errorJson(error))
      return report(verb, error)
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
}

/** What a failure prints on stdout under `--json`. */
export interface ErrorJson {
  readonly error: {
    /** USAGE for a wrong command line; a gRPC code name (UNAVAILABLE, NOT_FOUND, ...); FAILED otherwise. */
    readonly code: string
    /** For an error the server (or the client library) reported: its gRPC-numbered code. */
    readonly codeNumber?: number
    readonly message: string
    readonly details?: unknown
  }
}

/** The JSON form of whatever a verb threw: `{"error": {"code", "message", ...}}`. */
export function errorJson(error: unknown): ErrorJson {
  if (error instanceof UsageError) return { error: { code: 'USAGE', message: error.message } }
  if (error instanceof CliFailure) {
    return {
      error: {
        code: error.code,
        message: error.message,
        ...(error.details === undefined ? {} : { details: toJsonValue(error.details) }),
      },
    }
  }
  if (error instanceof RpcError) {
    return {
      error: {
        code: codeName(error.code),
        codeNumber: error.code,
        message: error.rawMessage,
        ...(error.details === undefined ? {} : { details: toJsonValue(error.details) }),
      },
    }
  }
  return { error: { code: 'FAILED', message: error instanceof Error ? error.message : String(error) } }
}

function report(verb: string, error: unknown): number {
  if (error instanceof UsageError) {
    console.error(`mqrpc ${verb}: ${error.message}\nRun \`mqrpc ${verb} --help\` for the usage.`)
    return Exit.USAGE
  }
  if (error instanceof CliFailure) {
    console.error(`mqrpc ${verb}: ${error.message}`)
    return error.exitCode
  }
  if (error instanceof RpcError) {
    console.error(`mqrpc ${verb}: ${error.rawMessage} (${codeName(error.code)})`)
    return exitFor(error)
  }
  console.error(`mqrpc ${verb}: ${error instanceof Error ? error.message : String(error)}`)
  return Exit.FAILURE
}
