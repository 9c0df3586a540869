/**
 * `mqrpc describe /queue`: the service behind a queue, read from the live
 * server through the built-in `$describe`.
 * @module
 */
import { expectPositionals, intOption, parseVerbArgs, verbRunner } from './args.js'
import { Exit } from './cli.js'
import { fetchDescription, type ServiceDescription } from './dynamic-service.js'
import { NATS_HELP, NATS_OPTIONS, targetOf } from './nats-options.js'
import { printJson } from './output.js'
import { schemaText } from './schema-text.js'

const HELP = `Usage: mqrpc describe /queue [--json] [--timeout ms] [--service name]

Asks the server on /queue for its description (the built-in $describe call)
and prints the service's name, version (when it declares one), schema
fingerprint, methods (lane, one-way, input and output with their JSON
Schemas, descriptions) and events.

Each schema is shown twice: as a short type (\`{ a: number; b?: string }\`,
\`integer\`, \`string<email>\`, \`Uint8Array\` for binary fields) and as the
JSON Schema the server validates with.

Options:
  --json            print the raw description as one JSON object
  --timeout ms      how long to wait for the server (default 5000)
  --service name    the service's name, when known (saves one handshake)
${NATS_HELP}
  --help            this text

Exit codes: 0 described; 1 failed; 2 bad usage; 3 no server answers on /queue.`

/** The description as text lines, shared with `mqrpc call` for its hints. */
export function describeLines(description: ServiceDescription): string[] {
  const lines = [
    `service ${description.name}`,
    ...(description.version === undefined ? [] : [`  version      ${description.version}`]),
    `  queue        ${description.queue} (urgent lane ${description.urgentLane})`,
    `  fingerprint  ${description.fingerprint}`,
    `  protocol     ${description.protocol}`,
    '',
  ]
  const methods = Object.entries(description.methods)
  lines.push(methods.length === 0 ? 'methods: none' : `methods (${methods.length}):`)
  for (const [name, method] of methods) {
    const traits = [
      method.priority === 'urgent' ? 'urgent' : 'normal',
      ...(method.oneWay ? ['one-way'] : []),
      ...(method.stream === undefined ? [] : [`${method.stream} stream`]),
    ]
    const output = method.oneWay || method.output === null ? 'void' : schemaText(method.output)
    lines.push('', `  ${name}(${schemaText(method.input)}): ${output}    [${traits.join(', ')}]`)
    if (method.description !== undefined) lines.push(`    ${method.description}`)
    lines.push(`    input   ${JSON.stringify(method.input)}`)
    if (method.output !== null && !method.oneWay) lines.push(`    output  ${JSON.stringify(method.output)}`)
  }
  const events = Object.entries(description.events)
  lines.push('', events.length === 0 ? 'events: none' : `events (${events.length}):`)
  for (const [name, schema] of events) {
    lines.push('', `  ${name}: ${schemaText(schema)}`)
    if (typeof schema.description === 'string') lines.push(`    ${schema.description}`)
    lines.push(`    payload ${JSON.stringify(schema)}`)
  }
  return lines
}

async function body(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(args, {
    json: { type: 'boolean', default: false },
    timeout: { type: 'string' },
    service: { type: 'string' },
    ...NATS_OPTIONS,
  })
  expectPositionals(positionals, 1, 1, ['the queue to describe'], '`mqrpc describe /calc`')
  const target = await targetOf(positionals[0] as string, values)
  const queue = target.address
  try {
    const timeoutMs = intOption(values.timeout, 'timeout', 1)
    const description = await fetchDescription(queue, {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(values.service === undefined ? {} : { service: values.service }),
      transport: target.transport,
    })
    if (values.json) printJson(description)
    else for (const line of describeLines(description)) console.log(line)
    return Exit.OK
  } finally {
    await target.transport?.close()
  }
}

/** The verb's `--help` text. */
export const help = HELP

/** Runs `mqrpc describe`. */
export const run = verbRunner('describe', body)
