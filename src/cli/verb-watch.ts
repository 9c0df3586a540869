/**
 * `mqrpc watch /queue [event]`: prints the events the server pushes, as
 * they come.
 * @module
 */

import type { RpcError } from '../internal.js'
import { codeName } from '../internal.js'
import { CliFailure, errorJson, expectPositionals, intOption, onInterrupt, parseVerbArgs, verbRunner } from './args.js'
import { Exit } from './cli.js'
import { connectDynamic } from './dynamic-service.js'
import { NATS_HELP, NATS_OPTIONS, targetOf } from './nats-options.js'
import { jsonText, printJson } from './output.js'

const HELP = `Usage: mqrpc watch /queue [event] [--json] [--count N] [--timeout ms]

Connects to the server on /queue and prints each event it pushes, one line
per event, as it arrives: all of the service's events, or only \`event\`.
The client is built from the server's live description, so payloads are
checked against the schemas the server really has. Binary fields print as
{"$binary": "<base64>"}.

  tick {"n":1}

Ends on Ctrl-C (SIGINT) or SIGTERM, removing its reply queue, or when the
server goes away.

Options:
  --json            NDJSON: one {"event", "payload", "at"} object per line
                    (at: ISO time of arrival)
  --count N         exit after N events
  --timeout ms      how long to wait for the server when connecting (default 5000)
  --service name    the service's name, when known (saves one handshake)
${NATS_HELP}
  --help            this text

Exit codes: 0 interrupted, or --count events seen; 1 failed; 2 bad usage;
3 no server answers on /queue, or it went away.`

async function body(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(args, {
    json: { type: 'boolean', default: false },
    count: { type: 'string' },
    timeout: { type: 'string' },
    service: { type: 'string' },
    ...NATS_OPTIONS,
  })
  expectPositionals(positionals, 1, 2, ['the queue to watch'], '`mqrpc watch /calc`')
  const [name, only] = positionals as [string, string | undefined]
  const target = await targetOf(name, values)
  const queue = target.address
  try {
    const count = intOption(values.count, 'count', 1)
    const timeoutMs = intOption(values.timeout, 'timeout', 1)
    const { description, client } = await connectDynamic(queue, {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(values.service === undefined ? {} : { service: values.service }),
      transport: target.transport,
    })
    const names = Object.keys(description.events)
    if (only !== undefined && !names.includes(only)) {
      await client.close()
      throw new CliFailure(
        `service '${description.name}' on ${queue} has no event '${only}'; its events: ${names.join(', ') || 'none'}`,
        Exit.FAILURE,
        { code: 'NOT_FOUND', details: { events: names } },
      )
    }
    const watched = only === undefined ? names : [only]
    let seen = 0
    const code = await new Promise<number>((resolve) => {
      const restore = onInterrupt(() => finish(Exit.OK))
      function finish(exitCode: number): void {
        restore()
        resolve(exitCode)
      }
      for (const name of watched) {
        client.on(
          name as never,
          ((payload: unknown) => {
            if (count !== undefined && seen >= count) return
            seen++
            if (values.json) printJson({ event: name, payload, at: new Date().toISOString() })
            else process.stdout.write(`${name} ${jsonText(payload)}\n`)
            if (count !== undefined && seen >= count) finish(Exit.OK)
          }) as never,
        )
      }
      client.on('disconnect', (reason: RpcError) => {
        console.error(`mqrpc watch: the server on ${queue} went away: ${reason.rawMessage} (${codeName(reason.code)})`)
        if (values.json) printJson(errorJson(reason))
        finish(Exit.UNAVAILABLE)
      })
      client.on('error', (error: Error) => console.error(`mqrpc watch: ${error.message}`))
      if (!values.json) {
        const what =
          only === undefined ? `events of ${description.name} (${names.join(', ') || 'it has none'})` : `'${only}' events`
        console.error(`watching ${what} on ${queue}; Ctrl-C to stop`)
      }
    })
    await client.close()
    return code
  } finally {
    await target.transport?.close()
  }
}

/** The verb's `--help` text. */
export const help = HELP

/** Runs `mqrpc watch`. */
export const run = verbRunner('watch', body)
