/**
 * `mqrpc stats /queue`: the live figures of a server (the built-in `$stats`).
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Code, RpcError } from '../internal.js'
import { expectPositionals, intOption, onInterrupt, optionalValue, parseVerbArgs, verbRunner } from './args.js'
import { Exit } from './cli.js'
import { connectBare } from './dynamic-service.js'
import { NATS_HELP, NATS_OPTIONS, targetOf } from './nats-options.js'
import { printJson, table } from './output.js'

const HELP = `Usage: mqrpc stats /queue [--watch [ms]] [--count N] [--json]

Prints the live figures of the server on /queue (the built-in $stats call):
sessions open (this one included), calls in flight, calls running and
waiting in the scheduler, frames dropped (malformed, unknown session, over a
limit), and per method: calls served and failed, and latency percentiles
(p50, p90, p99, in ms, over the last 1024 calls).

Options:
  --watch [ms]      refresh every ms (default 1000) until Ctrl-C
  --count N         with --watch, stop after N refreshes
  --json            one JSON object per refresh: the raw figures
  --timeout ms      how long to wait for the server (default 5000)
  --service name    the service's name, when known (saves one handshake)
${NATS_HELP}
  --help            this text

Exit codes: 0 printed; 1 failed; 2 bad usage; 3 no server answers on /queue.`

/** What `$stats` returns. */
interface Figures {
  name?: string
  sessions?: number
  inFlight?: number
  running?: number
  waiting?: number
  dropped?: { malformed?: number; unknownSession?: number; overLimit?: number }
  methods?: Record<string, { served?: number; failed?: number; latencyMs?: { p50: number; p90: number; p99: number } }>
}

const num = (value: unknown) => (typeof value === 'number' ? String(value) : '?')

function figureLines(queue: string, figures: Figures): string[] {
  const dropped = figures.dropped ?? {}
  const lines = [
    `service ${figures.name ?? '?'} on ${queue}`,
    `  sessions   ${num(figures.sessions)} (this one included)`,
    `  in flight  ${num(figures.inFlight)} (running ${num(figures.running)}, waiting ${num(figures.waiting)})`,
    `  dropped    malformed ${num(dropped.malformed)}, unknown session ${num(dropped.unknownSession)}, over a limit ${num(dropped.overLimit)}`,
    '',
  ]
  const methods = Object.entries(figures.methods ?? {})
  if (methods.length === 0) return [...lines, 'no calls yet']
  const rows = methods.map(([name, m]) => [
    name,
    num(m.served),
    num(m.failed),
    m.latencyMs === undefined ? '-' : String(m.latencyMs.p50),
    m.latencyMs === undefined ? '-' : String(m.latencyMs.p90),
    m.latencyMs === undefined ? '-' : String(m.latencyMs.p99),
  ])
  return [...lines, ...table(['METHOD', 'SERVED', 'FAILED', 'P50 MS', 'P90 MS', 'P99 MS'], rows)]
}

async function body(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(optionalValue(args, 'watch'), {
    watch: { type: 'string' },
    count: { type: 'string' },
    json: { type: 'boolean', default: false },
    timeout: { type: 'string' },
    service: { type: 'string' },
    ...NATS_OPTIONS,
  })
  expectPositionals(positionals, 1, 1, ['the queue'], '`mqrpc stats /calc`')
  const target = await targetOf(positionals[0] as string, values)
  const queue = target.address
  try {
    const watch = values.watch === undefined ? undefined : (intOption(values.watch || '1000', 'watch', 10) as number)
    const count = intOption(values.count, 'count', 1)
    const timeoutMs = intOption(values.timeout, 'timeout', 1) ?? 5000
    const client = await connectBare(queue, {
      timeoutMs,
      ...(values.service === undefined ? {} : { service: values.service }),
      transport: target.transport,
    })
    let stopped = false
    const controller = new AbortController()
    const restore = onInterrupt(() => {
      stopped = true
      controller.abort()
    })
    try {
      for (let round = 1; ; round++) {
        const figures = (await client.call('$stats', {}, { timeoutMs })) as Figures
        if (values.json) printJson(figures)
        else {
          // Redraw in place on a terminal; a pipe gets one block per refresh.
          if (watch !== undefined && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J')
          for (const line of figureLines(queue, figures)) console.log(line)
          if (watch !== undefined && !process.stdout.isTTY) console.log('')
        }
        if (watch === undefined || stopped || (count !== undefined && round >= count)) break
        try {
          await sleep(watch, undefined, { signal: controller.signal })
        } catch {
          break // interrupted
        }
      }
    } catch (error) {
      if (!(stopped && error instanceof RpcError && error.code === Code.CANCELLED)) throw error
    } finally {
      restore()
      await client.close()
    }
    return Exit.OK
  } finally {
    await target.transport?.close()
  }
}

/** The verb's `--help` text. */
export const help = HELP

/** Runs `mqrpc stats`. */
export const run = verbRunner('stats', body)
