/**
 * `mqrpc health /queue`: the server's health status (the built-ins
 * `$health.check` and `$health.watch`), with exit codes a supervisor can use.
 * @module
 */
import type { HealthStatus } from '../index.js'
import { checkHealth, watchHealth } from '../index.js'
import type { Transport } from '../internal.js'
import { expectPositionals, intOption, onInterrupt, parseVerbArgs, verbRunner } from './args.js'
import { Exit } from './cli.js'
import { connectBare } from './dynamic-service.js'
import { NATS_HELP, NATS_OPTIONS, targetOf } from './nats-options.js'
import { printJson } from './output.js'

const HELP = `Usage: mqrpc health /queue [service] [--watch] [--count N] [--json] [--timeout ms]

Prints the health status of the server on /queue, in the spirit of
grpc.health.v1: SERVING, NOT_SERVING (set by the application, or the server
is shutting down), or SERVICE_UNKNOWN (the server does not serve \`service\`;
without it, the server as a whole is asked).

Options:
  --watch           print the status, then every change, until Ctrl-C or until
                    the server goes away
  --count N         with --watch, stop after N statuses
  --json            one {"queue", "status", "at"} object per line ("queue": the
                    service's name with --nats)
  --timeout ms      how long to wait for the server (default 5000)
  --service name    the service's name, when known (saves one handshake)
${NATS_HELP}
  --help            this text

Exit codes: 0 SERVING; 1 NOT_SERVING or SERVICE_UNKNOWN (or the call failed);
2 bad usage; 3 no server answers on /queue, or (--watch) it went away.`

const exitOf = (status: HealthStatus | undefined) => (status === 'SERVING' ? Exit.OK : Exit.FAILURE)

async function body(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(args, {
    watch: { type: 'boolean', default: false },
    count: { type: 'string' },
    json: { type: 'boolean', default: false },
    timeout: { type: 'string' },
    service: { type: 'string' },
    ...NATS_OPTIONS,
  })
  expectPositionals(positionals, 1, 2, ['the queue'], '`mqrpc health /calc`')
  const [name, asked] = positionals as [string, string | undefined]
  const target = await targetOf(name, values)
  try {
    return await healthOf(target.address, asked, values, target.transport)
  } finally {
    await target.transport?.close()
  }
}

async function healthOf(
  queue: string,
  asked: string | undefined,
  values: Readonly<{
    watch: boolean
    count?: string | undefined
    json: boolean
    timeout?: string | undefined
    service?: string | undefined
  }>,
  transport: Transport | undefined,
): Promise<number> {
  const count = intOption(values.count, 'count', 1)
  const timeoutMs = intOption(values.timeout, 'timeout', 1) ?? 5000
  const print = (status: HealthStatus) => {
    if (values.json)
      printJson({ queue, ...(asked === undefined ? {} : { service: asked }), status, at: new Date().toISOString() })
    else console.log(status)
  }
  const client = await connectBare(queue, {
    timeoutMs,
    ...(values.service === undefined ? {} : { service: values.service }),
    transport,
  })
  const about = asked === undefined ? {} : { service: asked }
  try {
    if (!values.watch) {
      const status = await checkHealth(client, { ...about, timeoutMs })
      print(status)
      return exitOf(status)
    }
    const controller = new AbortController()
    const restore = onInterrupt(() => controller.abort())
    let last: HealthStatus | undefined
    let seen = 0
    try {
      for await (const status of watchHealth(client, { ...about, signal: controller.signal })) {
        print(status)
        last = status
        seen++
        if (count !== undefined && seen >= count) break
      }
    } finally {
      restore()
    }
    return exitOf(last)
  } finally {
    await client.close()
  }
}

/** The verb's `--help` text. */
export const help = HELP

/** Runs `mqrpc health`. */
export const run = verbRunner('health', body)
