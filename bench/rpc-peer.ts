/**
 * One process of bench/rpc.ts. Usage: `rpc-peer.ts <role> '<json config>'`.
 *
 *   server  {impl: 'mqrpc', queue, concurrency?} | {impl: 'socket', path}
 *           serves the echo service, prints "ready", closes cleanly on SIGTERM.
 *   client  {impl, address, warmup, calls, inFlight, warmupSeconds, seconds}
 *           `calls` echo calls one at a time (after `warmup`), then `inFlight`
 *           at once for `seconds`; prints {median_us, p99_us, calls_per_s}.
 *   load    {queue, inFlight, burnMs}
 *           keeps `inFlight` burn calls going; prints "loading" once the
 *           first returns; on SIGTERM stops, and prints {calls, seconds}.
 *   probe   {queue, warmup, seconds, maxCalls}
 *           alternates urgent and bulk echo calls for `seconds` (at most
 *           `maxCalls` of each); prints {urgent: Summary, bulk: Summary}.
 * @module
 */
import { createClient, createServer } from 'mqrpc'
import { Echo, echoHandlers, PAYLOAD } from './echo-service.js'
import { SocketClient, serveSocket } from './msgpack-socket.js'

/** Percentiles of a set of round trips, in microseconds. */
export interface Summary {
  readonly n: number
  readonly median_us: number
  readonly p99_us: number
}

function summarize(samples: number[]): Summary {
  const sorted = Float64Array.from(samples).sort()
  return {
    n: sorted.length,
    median_us: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    p99_us: sorted[Math.floor((sorted.length - 1) * 0.99)] ?? Number.NaN,
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const now = () => performance.now()

/** Resolves on the first SIGTERM or SIGINT (roles that do not call it die of them as usual). */
function terminated(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve())
    process.once('SIGINT', () => resolve())
  })
}

type Echoer = { echo(): Promise<unknown>; close(): Promise<void> }

async function connect(impl: string, address: string): Promise<Echoer> {
  if (impl === 'mqrpc') {
    const client = await createClient(Echo, { queue: address })
    return { echo: () => client.echo({ s: PAYLOAD }), close: () => client.close() }
  }
  const client = await SocketClient.connect(address)
  return { echo: () => client.call('echo', { s: PAYLOAD }), close: () => client.close() }
}

async function checked(echo: () => Promise<unknown>): Promise<void> {
  if ((await echo()) !== PAYLOAD) throw new Error('echo returned something else')
}

async function server(config: { impl: string; queue?: string; path?: string; concurrency?: number }): Promise<void> {
  const ended = terminated()
  let close: () => Promise<void>
  if (config.impl === 'mqrpc') {
    const concurrency = config.concurrency === undefined ? {} : { concurrency: config.concurrency }
    const s = await createServer(Echo, echoHandlers, { queue: config.queue as string, ...concurrency })
    s.on('error', (error) => console.error(error.message))
    close = () => s.close()
  } else {
    const s = await serveSocket(config.path as string, { echo: (args) => (args as { s: string }).s })
    close = () => s.close()
  }
  console.log('ready')
  await ended
  await close()
}

async function client(config: {
  impl: string
  address: string
  warmup: number
  calls: number
  inFlight: number
  warmupSeconds: number
  seconds: number
}): Promise<void> {
  const peer = await connect(config.impl, config.address)
  try {
    for (let i = 0; i < config.warmup; i++) await checked(peer.echo)
    const samples: number[] = []
    for (let i = 0; i < config.calls; i++) {
      const t0 = now()
      await checked(peer.echo)
      samples.push((now() - t0) * 1000)
    }
    const latency = summarize(samples)

    let counting = false
    let stop = false
    let done = 0
    const worker = async () => {
      while (!stop) {
        await checked(peer.echo)
        if (counting) done++
      }
    }
    const workers = Array.from({ length: config.inFlight }, worker)
    await sleep(config.warmupSeconds * 1000)
    counting = true
    const t0 = now()
    await sleep(config.seconds * 1000)
    counting = false
    const elapsed = (now() - t0) / 1000
    stop = true
    await Promise.all(workers)
    console.log(JSON.stringify({ ...latency, calls_per_s: done / elapsed }))
  } finally {
    await peer.close()
  }
}

async function load(config: { queue: string; inFlight: number; burnMs: number }): Promise<void> {
  const ended = terminated()
  const c = await createClient(Echo, { queue: config.queue })
  let stop = false
  let calls = 0
  let failure: unknown
  const t0 = now()
  const worker = async () => {
    while (!stop) {
      await c.burn({ ms: config.burnMs })
      if (calls++ === 0) console.log('loading')
    }
  }
  const workers = Array.from({ length: config.inFlight }, () =>
    worker().catch((error: unknown) => {
      failure ??= error
      stop = true
    }),
  )
  await ended
  stop = true
  const seconds = (now() - t0) / 1000
  await Promise.all(workers)
  await c.close()
  if (failure !== undefined) throw failure
  console.log(JSON.stringify({ calls, seconds }))
}

async function probe(config: { queue: string; warmup: number; seconds: number; maxCalls: number }): Promise<void> {
  const c = await createClient(Echo, { queue: config.queue })
  try {
    const urgent = () => c.echo({ s: PAYLOAD }, { priority: 'urgent' })
    const bulk = () => c.echo({ s: PAYLOAD })
    for (let i = 0; i < config.warmup; i++) {
      await checked(urgent)
      await checked(bulk)
    }
    const samples = { urgent: [] as number[], bulk: [] as number[] }
    const until = now() + config.seconds * 1000
    while (now() < until && samples.urgent.length < config.maxCalls) {
      for (const [lane, call] of [
        ['urgent', urgent],
        ['bulk', bulk],
      ] as const) {
        const t0 = now()
        await checked(call)
        samples[lane].push((now() - t0) * 1000)
      }
    }
    console.log(JSON.stringify({ urgent: summarize(samples.urgent), bulk: summarize(samples.bulk) }))
  } finally {
    await c.close()
  }
}

const ROLES: Record<string, (config: never) => Promise<void>> = { server, client, load, probe }

const [role, json] = process.argv.slice(2)
const run = ROLES[role ?? '']
if (run === undefined || json === undefined) {
  console.error(`usage: rpc-peer.ts ${Object.keys(ROLES).join('|')} '<json config>'`)
  process.exit(2)
}
run(JSON.parse(json) as never).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
