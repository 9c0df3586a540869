/**
 * The input elements of a client or bidi stream for `mqrpc call`: one JSON
 * value per line, from stdin or a file, read only as the stream pulls them
 * (the client library pulls the next element once the server has granted
 * credit for it), so a long or endless input never sits in memory.
 * @module
 */
import { closeSync, createReadStream, openSync } from 'node:fs'
import type { Readable } from 'node:stream'
import type { Violation } from '../index.js'
import { CliFailure, UsageError } from './args.js'
import { Exit } from './cli.js'
import { fromJsonValue } from './output.js'

/** What a line is checked against: the method's input schema (of one element). */
export interface ElementChecker {
  check(value: unknown): boolean
  violations(value: unknown): readonly Violation[]
}

/** Where the lines come from: stdin, or a file opened before anything is sent. */
export interface InputSource {
  /** `stdin` or the file's name, for messages. */
  readonly label: string
  /** The stream of lines; opened when first asked for. */
  open(): Readable
  /** Releases the source (a file's descriptor) if it was never read. */
  discard(): void
}

/**
 * The source `--inputs` names: `-` (or no option) is stdin. A file is
 * opened at once, so that a wrong name is a usage error before connecting.
 */
export function inputSource(path: string | undefined): InputSource {
  if (path === undefined || path === '-') {
    return { label: 'stdin', open: () => process.stdin, discard: () => {} }
  }
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
  } catch (error) {
    throw new UsageError(`cannot read --inputs ${path}: ${(error as Error).message}`)
  }
  let opened: Readable | undefined
  return {
    label: path,
    open: () => {
      opened ??= createReadStream('', { fd: fd as number })
      return opened
    },
    discard: () => {
      if (opened === undefined && fd !== undefined) closeSync(fd)
      fd = undefined
    },
  }
}

/**
 * The lines of a source as stream elements: each non-blank line parsed as
 * JSON (`{"$binary": "<base64>"}` read as binary data) and checked against
 * the method's input schema. A line that fails stops the inputs: the
 * failure is kept in {@link failure}, for the verb to report instead of the
 * CANCELLED that stopping causes.
 */
export class InputLines implements AsyncIterable<unknown> {
  /** Why the inputs stopped before their end, if they did. */
  failure: CliFailure | undefined
  /** Elements handed to the stream so far. */
  sent = 0
  private source: Readable | undefined
  private closed = false

  constructor(
    private readonly from: InputSource,
    private readonly method: string,
    private readonly checker: ElementChecker,
    /** The element's type, as `describe` shows it, for messages. */
    private readonly expected: string,
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<unknown> {
    for await (const [number, text] of this.lines()) {
      if (text.trim() === '') continue
      const value = this.parse(number, text)
      this.sent++
      yield value
    }
  }

  /** Stops reading (the call is over): an input still pending would keep the process alive. */
  close(): void {
    this.closed = true
    if (this.source !== undefined) this.source.destroy()
    else this.from.discard()
  }

  private async *lines(): AsyncGenerator<[number, string]> {
    const source = this.from.open()
    this.source = source
    source.setEncoding('utf8')
    let number = 0
    let rest = ''
    try {
      for await (const chunk of source as AsyncIterable<string>) {
        const parts = (rest + chunk).split('\n')
        rest = parts.pop() as string
        for (const part of parts) yield [++number, part.endsWith('\r') ? part.slice(0, -1) : part]
      }
    } catch (error) {
      if (this.closed) return
      throw this.stop(`could not read ${this.where()} (${(error as Error).message})`, [], { line: number + 1 })
    }
    if (rest !== '') yield [++number, rest]
  }

  private parse(number: number, text: string): unknown {
    let value: unknown
    try {
      value = fromJsonValue(JSON.parse(text))
    } catch (error) {
      throw this.stop(
        `line ${number} of ${this.where()} is not JSON (${(error as Error).message})`,
        [`give one JSON value per line, each ${this.expected}, and fix that line`],
        { line: number },
      )
    }
    if (this.checker.check(value)) return value
    const violations = this.checker.violations(value).map(({ path, message }) => ({ path, message }))
    throw this.stop(
      `line ${number} of ${this.where()} does not match the input schema of '${this.method}' (one element per line)`,
      [
        ...(violations.length > 0 ? violations.map((v) => `  ${v.path}  ${v.message}`) : ['  (value rejected)']),
        `expected: ${this.expected}`,
      ],
      { line: number, violations },
    )
  }

  private where(): string {
    return this.from.label === 'stdin' ? 'stdin' : `--inputs ${this.from.label}`
  }

  /** Keeps the failure: `headline` and what was sent on the first line, then `more`. */
  private stop(headline: string, more: readonly string[], details: Readonly<Record<string, unknown>>): CliFailure {
    const sent =
      this.sent === 0
        ? 'nothing was sent'
        : `the ${this.sent === 1 ? 'element' : `${this.sent} elements`} before it ${this.sent === 1 ? 'was' : 'were'} sent`
    this.failure = new CliFailure(
      [`${headline}; ${sent} and the call was cancelled${more.length > 0 ? ':' : ''}`, ...more].join('\n'),
      Exit.FAILURE,
      {
        code: 'INVALID_ARGUMENT',
        details: { ...details, sent: this.sent },
      },
    )
    return this.failure
  }
}
