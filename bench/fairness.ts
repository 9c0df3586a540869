/**
 * Fairness under floods (issue 12, item 4): the p50 round trip of a polite
 * client (one call at a time) alone with a server, and again beside two
 * flooding client processes that each keep many calls in flight on the same
 * server. The goal is a ratio within 2x. Every side is its own process.
 *
 *   node --import tsx bench/fairness.ts [--quick] [--seconds S] [--in-flight N] [--rounds R] [--flooders spin]
 *
 * `--flooders spin` replaces the flooders by two processes that only keep
 * the CPUs busy (a control). FAIR_TRACE=1 splits the polite call's time:
 * send to the server's read, read to handler, handler to client
 * (bench/fairness-trace.ts).
 *
 * Each round measures "alone" and then "beside two flooders"; the figures
 * reported are the medians over rounds, so a burst of other load on the
 * machine moves one round, not the result. Registered in bench/run.ts as
 * `fairness`; it also runs alone as above.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Type } from 'typebox'
import { createClient, createServer, defineService } from '../src/index.js'
import { politePayload, traceServer } from './fairness-trace.js'

const Svc = defineService('bench.fair', {
  methods: { echo: { input: Type.Object({ s: Type.String() }), output: Type.String() } },
})

const PAYLOAD = 'x'.repeat(48)
/** What the polite client measured, in milliseconds. */
interface Polite {
  readonly calls: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  /** Traced runs: from the handler running to the client holding the answer. */
  readonly handlerToClientP50?: number
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  )
}

/** Resolves on the stdin line `line`. */
function lineFromParent(line: string): Promise<void> {
  return new Promise((resolve) => {
    const input = createInterface({ input: process.stdin })
    input.on('line', (got) => {
      if (got.trim() === line) {
        input.close()
        resolve()
      }
    })
  })
}

// ---- roles, each in a process of its own ----

async function serveRole(queue: string): Promise<void> {
  let crowded = () => false
  const seen = process.env.FAIR_TRACE === '1' ? traceServer(() => crowded()) : undefined
  const echo = ({ s }: { s: string }) => {
    if (seen === undefined) return s
    seen(s)
    // Traced: the answer carries when the handler ran, for the client to time the way back.
    return `${s}@${process.hrtime.bigint()}`
  }
  const server = await createServer(Svc, { echo }, { queue })
  crowded = () => server.sessionCount > 1
  console.log('ready')
  await lineFromParent('close')
  await server.close()
}

async function politeRole(queue: string, seconds: number): Promise<void> {
  const client = await createClient(Svc, { queue })
  for (let i = 0; i < 200; i++) await client.echo({ s: politePayload() })
  const times: number[] = []
  const back: number[] = []
  const until = performance.now() + seconds * 1000
  while (performance.now() < until) {
    const started = performance.now()
    const answer = await client.echo({ s: politePayload() })
    times.push(performance.now() - started)
    const ranAt = answer.split('@')[1]
    if (ranAt !== undefined) back.push(Number(process.hrtime.bigint() - BigInt(ranAt)) / 1e6)
  }
  await client.close()
  times.sort((a, b) => a - b)
  const result: Polite = {
    calls: times.length,
    p50: percentile(times, 50),
    p90: percentile(times, 90),
    p99: percentile(times, 99),
    ...(back.length > 0 ? { handlerToClientP50: median(back) } : {}),
  }
  console.log(JSON.stringify(result))
}

/** A control: a process that only keeps a CPU busy, to show what sharing the CPUs alone costs the polite client. */
async function spinRole(): Promise<void> {
  let stopped = false
  void lineFromParent('stop').then(() => {
    stopped = true
  })
  console.log('flooding')
  const started = performance.now()
  while (!stopped) {
    const until = performance.now() + 5
    while (performance.now() < until) {
      // busy
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
  console.log(JSON.stringify({ calls: 0, callsPerSecond: 0, seconds: (performance.now() - started) / 1000 }))
}

async function floodRole(queue: string, inFlight: number): Promise<void> {
  const client = await createClient(Svc, { queue })
  let stopped = false
  let calls = 0
  let announced = false
  const lane = async () => {
    while (!stopped) {
      await client.echo({ s: PAYLOAD })
      calls++
      if (!announced && calls >= inFlight * 4) {
        announced = true
        console.log('flooding')
      }
    }
  }
  const started = performance.now()
  const lanes = Array.from({ length: inFlight }, lane)
  await lineFromParent('stop')
  stopped = true
  await Promise.all(lanes)
  const seconds = (performance.now() - started) / 1000
  await client.close()
  console.log(JSON.stringify({ calls, callsPerSecond: Math.round(calls / seconds) }))
}

// ---- the orchestrator ----

class Role {
  readonly child: ChildProcess
  private readonly lines: string[] = []
  private readonly waiters: (() => void)[] = []
  private stderr = ''

  constructor(args: readonly string[]) {
    const self = fileURLToPath(import.meta.url)
    this.child = spawn(process.execPath, ['--import', 'tsx', self, 'role', ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    // A role that exited early: its exit (and stderr) tells, not an EPIPE here.
    this.child.stdin?.on('error', () => undefined)
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk
    })
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      this.lines.push(line)
      for (const wake of this.waiters.splice(0)) wake()
    })
    this.child.once('close', () => {
      for (const wake of this.waiters.splice(0)) wake()
    })
  }

  /** The first line matching `test`, waiting for it; rejects if the process exits first. */
  async line(test: (line: string) => boolean): Promise<string> {
    for (;;) {
      const found = this.lines.find(test)
      if (found !== undefined) return found
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`${this.child.spawnargs.slice(3).join(' ')} exited (${this.child.exitCode}): ${this.stderr}`)
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
  }

  /** The last line, parsed, once the process has printed its JSON result. */
  async json<T>(): Promise<T> {
    return JSON.parse(await this.line((line) => line.startsWith('{'))) as T
  }

  tell(line: string): void {
    this.child.stdin?.write(`${line}\n`)
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise((resolve) => this.child.once('close', resolve))
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 15_000)
    await exited
    clearTimeout(killer)
    for (const line of this.stderr.split('\n')) if (line.startsWith('trace ')) console.log(`  server ${line}`)
  }
}

interface Round {
  readonly alone: Polite
  readonly beside: Polite
  readonly flooders: readonly { calls: number; callsPerSecond: number }[]
}

async function round(seconds: number, inFlight: number, kind: string): Promise<Round> {
  const queue = `/mqrpc-bench-fair-${process.pid}-${randomBytes(4).toString('hex')}`
  const server = new Role(['serve', queue])
  const roles: Role[] = [server]
  try {
    await server.line((line) => line === 'ready')
    const aloneClient = new Role(['polite', queue, String(seconds)])
    roles.push(aloneClient)
    const alone = await aloneClient.json<Polite>()
    const flooders = [new Role([kind, queue, String(inFlight)]), new Role([kind, queue, String(inFlight)])]
    roles.push(...flooders)
    await Promise.all(flooders.map((f) => f.line((line) => line === 'flooding')))
    const besideClient = new Role(['polite', queue, String(seconds)])
    roles.push(besideClient)
    const beside = await besideClient.json<Polite>()
    for (const f of flooders) f.tell('stop')
    const flooded = await Promise.all(flooders.map((f) => f.json<{ calls: number; callsPerSecond: number }>()))
    return { alone, beside, flooders: flooded }
  } finally {
    for (const role of roles.slice(1)) {
      role.tell('stop')
      if (role.child.exitCode === null) role.child.kill('SIGTERM')
    }
    server.tell('close')
    await Promise.all(roles.map((role) => role.exit()))
  }
}

const ms = (value: number) => value.toFixed(3)

/** Runs the rounds and prints the figures; returns them as a section of docs/BENCHMARKS.md. */
export default async function fairness(argv: readonly string[] = []): Promise<{ extra: { title: string; markdown: string }[] }> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      'in-flight': { type: 'string', default: '128' },
      rounds: { type: 'string' },
      // 'spin': the two flooders only keep the CPUs busy (a control: the cost of sharing two cores, not of the server).
      flooders: { type: 'string', default: 'flood' },
    },
  })
  const seconds = Number(values.seconds ?? (values.quick ? 2 : 5))
  const rounds = Number(values.rounds ?? (values.quick ? 1 : 3))
  const inFlight = Number(values['in-flight'])
  console.log(`fairness: ${rounds} round(s) of ${seconds} s alone + ${seconds} s beside 2 flooders x ${inFlight} in flight`)
  const results: Round[] = []
  for (let i = 0; i < rounds; i++) {
    const r = await round(seconds, inFlight, values.flooders === 'spin' ? 'spin' : 'flood')
    results.push(r)
    const flood = r.flooders.map((f) => f.callsPerSecond).join(' + ')
    console.log(
      `  round ${i + 1}: alone p50 ${ms(r.alone.p50)} ms (${r.alone.calls} calls), beside p50 ${ms(r.beside.p50)} ms (${r.beside.calls} calls, p99 ${ms(r.beside.p99)}), flooders ${flood} calls/s, ratio ${(r.beside.p50 / r.alone.p50).toFixed(2)}${
        r.beside.handlerToClientP50 === undefined ? '' : `; handler to client p50 ${ms(r.beside.handlerToClientP50)} ms`
      }`,
    )
  }
  const alone = median(results.map((r) => r.alone.p50))
  const beside = median(results.map((r) => r.beside.p50))
  const ratio = beside / alone
  const verdict = ratio <= 2 ? 'within the 2x goal' : 'MISSES the 2x goal'
  console.log(
    `fairness: polite p50 alone ${ms(alone)} ms, beside two flooders ${ms(beside)} ms: ${ratio.toFixed(2)}x, ${verdict}`,
  )
  const markdown = [
    `A polite client (one call at a time) alone with a server, then beside two client processes each keeping ${inFlight} calls in flight on the same server; medians over ${rounds} round(s) of ${seconds} s each.`,
    '',
    '| | polite p50 | polite p99 | flooders |',
    '| --- | ---: | ---: | ---: |',
    `| alone | ${ms(alone)} ms | ${ms(median(results.map((r) => r.alone.p99)))} ms | |`,
    `| beside two flooders | ${ms(beside)} ms | ${ms(median(results.map((r) => r.beside.p99)))} ms | ${median(results.map((r) => r.flooders.reduce((sum, f) => sum + f.callsPerSecond, 0)))} calls/s |`,
    '',
    `Ratio of p50s: **${ratio.toFixed(2)}x** (goal: within 2x; ${verdict}).`,
  ].join('\n')
  return { extra: [{ title: 'Fairness under floods', markdown }] }
}

const [first, role, ...rest] = process.argv.slice(2)
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (first === 'role') {
    const [queue = '', arg = ''] = rest
    const run =
      role === 'serve'
        ? serveRole(queue)
        : role === 'polite'
          ? politeRole(queue, Number(arg))
          : role === 'spin'
            ? spinRole()
            : floodRole(queue, Number(arg))
    run.then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error)
        process.exit(1)
      },
    )
  } else {
    await fairness(process.argv.slice(2))
  }
}
