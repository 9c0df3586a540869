/**
 * The same service over the local transport (POSIX queues) and over NATS,
 * side by side: median and p99 latency of one call at a time, calls per
 * second with 64 in flight, and elements per second of a server stream of
 * small elements, each with the client's default options (so each
 * transport's default stream window). The server is a child process (this
 * file run with `--serve`), the client this process; NATS runs through a
 * real nats-server on a free loopback port (test/helpers/nats-broker.ts),
 * so each NATS call pays two broker hops.
 *
 *   node --import tsx bench/nats.ts [--quick]
 *
 * Needs `nats-server` (Debian: apt-get install nats-server); fails when it
 * cannot start one.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Type } from 'typebox'
import { type Client, createClient, createServer, defineService } from '../src/index.js'
import { replyStreamWindow } from '../src/rpc/stream-credit.js'
import { DEFAULT_REPLY_MESSAGE_SIZE } from '../src/transport/mq/queue-defaults.js'
import { DEFAULT_MAX_PAYLOAD, natsTransport } from '../src/transport/nats/index.js'
import type { Transport } from '../src/transport/transport.js'
import { type NatsBroker, startNatsBroker } from '../test/helpers/nats-broker.js'
import { readInOrder } from './stream-order.js'

/** A ~64-byte echo, as in bench/rpc.ts, and a server stream of elements about as large. */
const Echo = defineService('bench-echo', {
  methods: {
    echo: { input: Type.Object({ text: Type.String() }), output: Type.Object({ text: Type.String() }) },
    count: {
      stream: 'server',
      input: Type.Object({ n: Type.Integer({ minimum: 0 }) }),
      output: Type.Object({ i: Type.Integer(), text: Type.String() }),
    },
  },
})
const TEXT = 'x'.repeat(48)
const IN_FLIGHT = 64
/** Elements of the timed stream in a full run. */
const STREAM_ELEMENTS = 300_000

type Side = Readonly<{ name: string; address: string; serverArgs: string[]; transport: () => Transport | undefined }>

/** One row of the table: what one transport measured. */
export interface NatsBenchRow {
  readonly transport: string
  readonly p50Us: number
  readonly p99Us: number
  readonly callsPerSecond: number
  readonly streamElementsPerSecond: number
}

function transportFromArgs(args: readonly string[]): (Transport & { close(): Promise<void> }) | undefined {
  const [url, user, pass] = args
  if (url === undefined) return undefined
  return natsTransport({ servers: url, ...(user === undefined ? {} : { user }), ...(pass === undefined ? {} : { pass }) })
}

/** The server side: `nats.ts --serve ADDRESS [URL USER PASS]`; prints "ready", closes on stdin end. */
async function serve(address: string, rest: readonly string[]): Promise<void> {
  const transport = transportFromArgs(rest)
  const server = await createServer(
    Echo,
    {
      echo: ({ text }) => ({ text }),
      count: async function* ({ n }) {
        for (let i = 0; i < n; i++) yield { i, text: TEXT }
      },
    },
    { queue: address, ...(transport ? { transport } : {}) },
  )
  console.log('ready')
  process.stdin.resume()
  process.stdin.on('end', async () => {
    await server.close()
    await transport?.close()
    process.exit(0)
  })
}

function startServer(side: Side): Promise<ChildProcess> {
  const self = fileURLToPath(import.meta.url)
  const child = spawn(process.execPath, ['--import', 'tsx', self, '--serve', side.address, ...side.serverArgs], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${side.name} server exited (${code}) before it was ready`)))
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line === 'ready') resolve(child)
    })
  })
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0

/** Elements per second of one stream of `elements`, after a warm-up stream a fifth as long. */
async function streamRate(client: Client<typeof Echo>, elements: number): Promise<number> {
  const drain = (n: number) => readInOrder(client.count({ n }), n)
  await drain(Math.ceil(elements / 5))
  const began = performance.now()
  await drain(elements)
  return elements / ((performance.now() - began) / 1000)
}

async function measure(side: Side, calls: number, seconds: number, elements: number): Promise<NatsBenchRow> {
  const server = await startServer(side)
  const transport = side.transport()
  const client = await createClient(Echo, { queue: side.address, ...(transport ? { transport } : {}) })
  try {
    for (let i = 0; i < calls / 5; i++) await client.echo({ text: TEXT })
    const times: number[] = []
    for (let i = 0; i < calls; i++) {
      const start = performance.now()
      await client.echo({ text: TEXT })
      times.push((performance.now() - start) * 1000)
    }
    times.sort((a, b) => a - b)
    let done = 0
    const until = performance.now() + seconds * 1000
    const worker = async () => {
      while (performance.now() < until) {
        await client.echo({ text: TEXT })
        done++
      }
    }
    const began = performance.now()
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
    const elapsed = (performance.now() - began) / 1000
    return {
      transport: side.name,
      p50Us: Math.round(percentile(times, 0.5)),
      p99Us: Math.round(percentile(times, 0.99)),
      callsPerSecond: Math.round(done / elapsed),
      streamElementsPerSecond: Math.round(await streamRate(client, elements)),
    }
  } finally {
    await client.close()
    await (transport as { close?: () => Promise<void> } | undefined)?.close?.()
    const exited = new Promise((resolve) => server.once('exit', resolve))
    server.stdin?.end()
    await exited
  }
}

function markdown(rows: readonly NatsBenchRow[], elements: number): string {
  const lines = [
    `| Transport | p50 (µs) | p99 (µs) | calls/s, ${IN_FLIGHT} in flight | server stream, elements/s |`,
    '|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.transport} | ${r.p50Us} | ${r.p99Us} | ${r.callsPerSecond} | ${r.streamElementsPerSecond} |`),
    '',
    `The stream is one server stream of ${elements.toLocaleString('en')} elements \`{ i, text }\` of about 60 bytes (after one a fifth as long), read with \`for await\` by a client with default options: over POSIX queues its reply queue has messages of ${DEFAULT_REPLY_MESSAGE_SIZE} bytes and the stream a window of ${replyStreamWindow(DEFAULT_REPLY_MESSAGE_SIZE)} elements; over NATS messages of up to the broker's \`max_payload\` (${DEFAULT_MAX_PAYLOAD} bytes) and a window of ${replyStreamWindow(DEFAULT_MAX_PAYLOAD)}.`,
  ]
  return lines.join('\n')
}

/** Runs both sides and prints the table; returns it as an extra section of docs/BENCHMARKS.md. */
export default async function run(argv: readonly string[] = []): Promise<{ extra: { title: string; markdown: string }[] }> {
  const quick = argv.includes('--quick')
  const calls = quick ? 300 : 3000
  const seconds = quick ? 0.5 : 3
  const elements = quick ? 20_000 : STREAM_ELEMENTS
  const tag = `${process.pid}`
  let broker: NatsBroker | undefined
  try {
    broker = await startNatsBroker()
    const b = broker
    const sides: Side[] = [
      { name: 'POSIX queues (local)', address: `/mqrpc-bench-nats-${tag}`, serverArgs: [], transport: () => undefined },
      {
        name: 'NATS (loopback broker)',
        address: `bench-echo-${tag}`,
        serverArgs: [b.url, b.users.server.user, b.users.server.pass],
        transport: () => natsTransport({ servers: b.url, ...b.users.alice }),
      },
    ]
    const rows: NatsBenchRow[] = []
    for (const side of sides) {
      console.log(
        `${side.name}: ${calls} calls one at a time, then ${seconds} s with ${IN_FLIGHT} in flight, then a stream of ${elements} elements`,
      )
      rows.push(await measure(side, calls, seconds, elements))
    }
    const table = markdown(rows, elements)
    console.log(table)
    return { extra: [{ title: 'The same service over POSIX queues and NATS', markdown: table }] }
  } finally {
    await broker?.stop()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [, , first, address, ...rest] = process.argv
  if (first === '--serve' && address !== undefined) await serve(address, rest)
  else await run(process.argv.slice(2))
}
