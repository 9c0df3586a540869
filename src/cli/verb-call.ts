/**
 * `mqrpc call /queue method '<json>'`: like grpcurl. The input is checked
 * against the live server's schema before anything is sent.
 * @module
 */
import { readFileSync } from 'node:fs'
import { codeName, RpcError } from '../internal.js'
import { CliFailure, errorJson, exitFor, expectPositionals, intOption, parseVerbArgs, UsageError, verbRunner } from './args.js'
import { printServerStream } from './call-stream.js'
import { Exit } from './cli.js'
import { connectDynamic } from './dynamic-service.js'
import { NATS_HELP, NATS_OPTIONS, targetOf } from './nats-options.js'
import { fromJsonValue, jsonText, printJson } from './output.js'
import { schemaText } from './schema-text.js'

const HELP = `Usage: mqrpc call /queue method ['<json>' | -] [--urgent] [--timeout ms] [--json]

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
stream ends or Ctrl-C, which cancels the call and exits 0. A failed call prints
  ERROR <CODE_NAME> (<code>): <message>
on stderr (and its details, if any), with the gRPC-numbered code.

Options:
  --urgent          send through the service's urgent lane
  --timeout ms      deadline of the call, and of connecting (default: none for
                    the call, 5000 ms to connect)
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
    const input = readInput(inputText)
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
      if (!method.input.check(input)) {
        const violations = method.input.violations(input)
        const lines = violations.map((v) => `  ${v.path}  ${v.message}`)
        throw new CliFailure(
          [
            `input of '${methodName}' does not match the live schema of ${description.name} on ${queue}, so nothing was sent:`,
            ...(lines.length > 0 ? lines : ['  (value rejected)']),
            `expected: ${schemaText(description.methods[methodName]?.input)}`,
            ...(lines.some((line) => line.includes('binary data'))
              ? ['write binary data as {"$binary": "<base64>"}, e.g. {"data": {"$binary": "AQID"}}']
              : []),
          ].join('\n'),
          Exit.FAILURE,
          { code: 'INVALID_ARGUMENT', details: { violations: violations.map(({ path, message }) => ({ path, message })) } },
        )
      }
      if (method.stream === 'server') {
        return await printServerStream(client, methodName, input, { json: values.json, urgent: values.urgent, timeoutMs })
      }
      if (method.stream !== undefined) {
        throw new CliFailure(
          `'${methodName}' is a ${method.stream} stream; mqrpc call calls unary methods and server streams`,
          Exit.FAILURE,
          { code: 'UNIMPLEMENTED' },
        )
      }
      let result: unknown
      try {
        result = await client.call(methodName, input, {
          ...(values.urgent ? { priority: 'urgent' as const } : {}),
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
        })
      } catch (thrown) {
        const error = RpcError.from(thrown)
        if (values.json) {
          printJson(errorJson(error))
        } else {
          console.error(`ERROR ${codeName(error.code)} (${error.code}): ${error.rawMessage}`)
          if (error.details !== undefined) console.error(`details: ${jsonText(error.details)}`)
        }
        return exitFor(error)
      }
      if (method.oneWay) {
        if (values.json) printJson(null)
        else console.error(`sent; '${methodName}' is one-way, so there is no reply`)
      } else {
        console.log(values.json ? jsonText(result) : jsonText(result, 2))
      }
      return Exit.OK
    } finally {
      await client.close()
    }
  } finally {
    await target.transport?.close()
  }
}

/** The verb's `--help` text. */
export const help = HELP

/** Runs `mqrpc call`. */
export const run = verbRunner('call', body)
