/**
 * `mqrpc call /queue method '<json>'`: like grpcurl. The input is checked
 * against the live server's schema before anything is sent.
 * @module
 */
import { readFileSync } from 'node:fs'
import { CliFailure, expectPositionals, intOption, parseVerbArgs, UsageError, verbRunner } from './args.js'
import { InputLines, inputSource } from './call-inputs.js'
import { printCallError, printClientStream, printOutputStream, printResult } from './call-stream.js'
import { Exit } from './cli.js'
import { connectDynamic } from './dynamic-service.js'
import { NATS_HELP, NATS_OPTIONS, targetOf } from './nats-options.js'
import { fromJsonValue, printJson } from './output.js'
import { schemaText } from './schema-text.js'

const HELP = `Usage: mqrpc call /queue method ['<json>' | -] [--urgent] [--timeout ms] [--json]
       mqrpc call /queue stream-method [- | --inputs FILE] [options]   (client and bidi streams)

Calls one method of the server on /queue, like grpcurl. The server's live
schema is fetched first ($describe) and the input is checked against it;
when it does not match, the failing fields are listed and nothing is sent.

The input is one JSON value (default {}); '-' reads it from stdin. Binary
fields (Uint8Array) are written as {"$binary": "<base64>"}, and binary data
in results prints the same way:

  mqrpc call /calc add '{"a": 1, "b": 2}'
  mqrpc call /calc checksum '{"data": {"$binary": "AQID"}}'

The result prints as JSON. A server-streaming method prints one JSON value
per element as it comes (with --json, one per line: JSON lines) until the
stream ends or Ctrl-C, which cancels the call and exits 0.

A client or bidi stream reads its input elements one JSON value per line
(blank lines skipped) from stdin, or from --inputs FILE, each checked
against the method's input schema and sent as the server grants credit;
the end of the input ends the stream's inputs. A client stream prints its
one answer; a bidi stream prints each output element like a server stream.
A line that is not JSON, or does not match, stops the call (exit 1):

  printf '{"n": 1}\n{"n": 2}\n' | mqrpc call /streams sum
  mqrpc call /streams chat --inputs elements.jsonl --json

A failed call prints
  ERROR <CODE_NAME> (<code>): <message>
on stderr (and its details, if any), with the gRPC-numbered code.

Options:
  --inputs FILE     a client or bidi stream's input lines from FILE ('-': stdin,
                    the default)
  --urgent          send through the service's urgent lane
  --timeout ms      deadline of the call, and of connecting (default: none for
                    the call or the whole stream, 5000 ms to connect)
  --json            one-line output; any failure (the call's error, input that
                    does not match, an unknown method, no server) prints
                    {"error": {"code", "message", ...}} on stdout too
  --service name    the service's name, when known (saves one handshake)
${NATS_HELP}
  --help            this text

Exit codes: 0 the call succeeded; 1 the call failed or the input does not
match the schema; 2 bad usage; 3 no server answers on /queue (or it answered
UNAVAILABLE).`

function readInput(text: string | undefined): unknown {
  const source = text === '-' ? readFileSync(0, 'utf8') : (text ?? '{}')
  try {
    return fromJsonValue(JSON.parse(source))
  } catch (error) {
    throw new UsageError(`the input is not valid JSON (${(error as Error).message}); quote it for the shell, e.g. '{"a": 1}'`)
  }
}

async function body(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(args, {
    urgent: { type: 'boolean', default: false },
    timeout: { type: 'string' },
    json: { type: 'boolean', default: false },
    service: { type: 'string' },
    inputs: { type: 'string' },
    ...NATS_OPTIONS,
  })
  const example =
    positionals.length === 1
      ? `\`mqrpc call ${positionals[0]} <method> '<json>'\` (\`mqrpc describe ${positionals[0]}\` lists its methods)`
      : `\`mqrpc call /calc add '{"a":1,"b":2}'\``
  expectPositionals(positionals, 2, 3, ['the queue', 'the method'], example)
  const [name, methodName, inputText] = positionals as [string, string, string | undefined]
  const target = await targetOf(name, values)
  const queue = target.address
  try {
    const timeoutMs = intOption(values.timeout, 'timeout', 1)
    if (values.inputs !== undefined && inputText !== undefined) {
      throw new UsageError(`give the input as an argument or with --inputs, not both`)
    }
    // '-' may be a stream's lines, read as they are sent: it waits for the method's kind.
    let input = inputText === '-' ? undefined : readInput(inputText)
    const source = values.inputs === undefined ? undefined : inputSource(values.inputs)
    try {
      const { description, service, client } = await connectDynamic(queue, {
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        ...(values.service === undefined ? {} : { service: values.service }),
        transport: target.transport,
      })
      try {
        const method = service.methods.get(methodName)
        if (method === undefined) {
          const known = Object.keys(description.methods).join(', ') || 'none'
          throw new CliFailure(
            `service '${description.name}' on ${queue} has no method '${methodName}'; its methods: ${known}`,
            Exit.FAILURE,
            { code: 'UNIMPLEMENTED', details: { service: description.name, methods: Object.keys(description.methods) } },
          )
        }
        const how = { json: values.json, urgent: values.urgent, timeoutMs }
        const expected = schemaText(description.methods[methodName]?.input)
        if (method.stream === 'client' || method.stream === 'bidi') {
          if (inputText !== undefined && inputText !== '-') {
            throw new UsageError(
              `'${methodName}' is a ${method.stream} stream: its inputs are read one JSON value per line (each ${expected}) from stdin or --inputs FILE, not from the command line, e.g. \`echo '<json>' | mqrpc call ${name} ${methodName}\``,
            )
          }
          const from = source ?? inputSource('-')
          if (from.label === 'stdin' && process.stdin.isTTY) {
            console.error(`reading the inputs of '${methodName}' from the terminal, one JSON value per line; Ctrl-D ends them`)
          }
          const lines = new InputLines(from, methodName, method.input, expected)
          return method.stream === 'client'
            ? await printClientStream(client, methodName, lines, how)
            : await printOutputStream(client, methodName, lines, how, lines)
        }
        if (source !== undefined) {
          throw new UsageError(
            `--inputs is for client and bidi streams; '${methodName}' takes one JSON value, as an argument or '-' for stdin`,
          )
        }
        if (inputText === '-') input = readInput('-')
        if (!method.input.check(input)) {
          const violations = method.input.violations(input)
          const lines = violations.map((v) => `  ${v.path}  ${v.message}`)
          throw new CliFailure(
            [
              `input of '${methodName}' does not match the live schema of ${description.name} on ${queue}, so nothing was sent:`,
              ...(lines.length > 0 ? lines : ['  (value rejected)']),
              `expected: ${expected}`,
              ...(lines.some((line) => line.includes('binary data'))
                ? ['write binary data as {"$binary": "<base64>"}, e.g. {"data": {"$binary": "AQID"}}']
                : []),
            ].join('\n'),
            Exit.FAILURE,
            { code: 'INVALID_ARGUMENT', details: { violations: violations.map(({ path, message }) => ({ path, message })) } },
          )
        }
        if (method.stream === 'server') return await printOutputStream(client, methodName, input, how)
        let result: unknown
        try {
          result = await client.call(methodName, input, {
            ...(values.urgent ? { priority: 'urgent' as const } : {}),
            ...(timeoutMs === undefined ? {} : { timeoutMs }),
          })
        } catch (thrown) {
          return printCallError(thrown, values.json)
        }
        if (method.oneWay) {
          if (values.json) printJson(null)
          else console.error(`sent; '${methodName}' is one-way, so there is no reply`)
        } else {
          printResult(result, values.json)
        }
        return Exit.OK
      } finally {
        await client.close()
      }
    } finally {
      source?.discard()
    }
  } finally {
    await target.transport?.close()
  }
}

/** The verb's `--help` text. */
export const help = HELP

/** Runs `mqrpc call`. */
export const run = verbRunner('call', body)
