/**
 * One process of bench/rpc.ts. Usage: `rpc-peer.ts <role> '<json config>'`.
 *
 *   server  {contender, address, concurrency?, sessions?}
 *           serves the bench methods, prints "ready", closes on SIGTERM.
 *   client  {contender, address, warmup, warmupMaxSeconds, calls, inFlight[], warmupSeconds, seconds, sizes[]}
 *           one call at a time (after `warmup` calls or `warmupMaxSeconds`,
 *           whichever ends first), then each in-flight count for `seconds`,
 *           then each body size one at a time; prints a ClientResult.
 *   swarm   {contender, address, inFlight, warmupSeconds, seconds}
 *           warms up, prints "ready", waits for "go" on stdin, keeps
 *           `inFlight` calls going for `seconds`; prints {calls, seconds}.
 *   soak    {contender, address, calls, inFlight, samples}
 *           makes `calls` calls, asking the server for its RSS `samples`
 *           times on the way; prints {samples: [[calls, rss]...]}.
 *   counted {contender, address, warmup, calls, inFlight}
 *           makes `warmup` calls, prints "warm", waits for a line on
 *           stdin, makes `calls` calls, prints "done", waits for a line,
 *           closes and prints {calls}: one session's steady state, the
 *           window bench/instructions.ts counts.
 *   idlers  {address, sessions}   (mqrpc) opens `sessions` clients, prints
 *           "open", and holds them until SIGTERM.
 *   load    {queue, inFlight, burnMs}   (mqrpc) keeps burn calls going;
 *           prints "loading" once one returns; times the calls it starts
 *           after "measure" on stdin; on SIGTERM prints {calls, seconds,
 *           timed: Summary} (timed: the round trips of that window).
 *   probe   {queue, warmup, seconds, maxCalls}   (mqrpc) alternates urgent
 *           and bulk echo calls; prints {urgent: Summary, bulk: Summary}.
 *
 * Lines starting with "progress:" are relayed by the parent as they come.
 * @module
 */
import { createInterface } from 'node:readline'
import { createClient, createServer } from '../src/index.js'
import { contender, type RpcClient } from './contenders.js'
import { BENCH_METHODS, Echo, echoHandlers, PAYLOAD, payloadOf } from './echo-service.js'
import { type PeerRoles, runPeerRole } from './peer-main.js'
import type { ClientResult, SizeResult, Throughput } from './results.js'
import { cpuUs, now, sleep, summarize } from './summary.js'

/** Resolves on the first SIGTERM or SIGINT (roles that do not call it die of them as usual). */
function terminated(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve())
    process.once('SIGINT', () => resolve())
  })
}

type Target = { contender: string; address: string }

async function connect(config: Target): Promise<RpcClient> {
  return (await contender(config.contender).load()).connect(config.address)
}

function echoOf(peer: RpcClient, payload: string): () => Promise<void> {
  const args = { s: payload }
  return async () => {
    if ((await peer.call('echo', args)) !== payload) throw new Error('echo returned something else')
  }
}

async function serverCpuUs(peer: RpcClient): Promise<number> {
  return ((await peer.call('stats', {})) as { cpuUs: number }).cpuUs
}

async function server(config: Target & { concurrency?: number; sessions?: number }): Promise<void> {
  const ended = terminated()
  let close: () => Promise<void>
  if (config.contender === 'mqrpc' && (config.concurrency !== undefined || config.sessions !== undefined)) {
    const options = {
      queue: config.address,
      ...(config.concurrency === undefined ? {} : { concurrency: config.concurrency }),
      // The idle-sessions run holds more sessions of one user than the defaults allow.
      ...(config.sessions === undefined ? {} : { maxSessions: config.sessions, maxSessionsPerPrincipal: config.sessions }),
    }
    const s = await createServer(Echo, echoHandlers, options)
    s.on('error', (error) => console.error(error.message))
    close = () => s.close()
  } else {
    const s = await (await contender(config.contender).load()).serve(config.address, BENCH_METHODS)
    close = () => s.close()
  }
  console.log('ready')
  await ended
  await close()
}

/** Keeps `inFlight` calls going from `warmupSeconds` until `seconds` later; returns calls/s and CPU per call. */
async function sustain(peer: RpcClient, inFlight: number, warmupSeconds: number, seconds: number): Promise<Throughput> {
  const echo = echoOf(peer, PAYLOAD)
  let counting = false
  let stop = false
  let done = 0
  const worker = async () => {
    while (!stop) {
      await echo()
      if (counting) done++
    }
  }
  const workers = Array.from({ length: inFlight }, worker)
  await sleep(warmupSeconds * 1000)
  const server0 = await serverCpuUs(peer)
  const client0 = cpuUs()
  counting = true
  const t0 = now()
  await sleep(seconds * 1000)
  counting = false
  const elapsed = (now() - t0) / 1000
  const client1 = cpuUs()
  const calls = done
  const server1 = await serverCpuUs(peer)
  stop = true
  await Promise.all(workers)
  return {
    inFlight,
    calls_per_s: calls / elapsed,
    client_us: (client1 - client0) / calls,
    server_us: (server1 - server0) / calls,
  }
}

/** `calls` round trips of one echo at a time; returns their samples (microseconds). */
async function oneAtATime(echo: () => Promise<void>, calls: number): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < calls; i++) {
    const t0 = now()
    await echo()
    samples.push((now() - t0) * 1000)
  }
  return samples
}

async function client(
  config: Target & {
    warmup: number
    warmupMaxSeconds: number
    calls: number
    inFlight: readonly number[]
    warmupSeconds: number
    seconds: number
    sizes: readonly { bytes: number; calls: number }[]
  },
): Promise<void> {
  const peer = await connect(config)
  try {
    const echo = echoOf(peer, PAYLOAD)
    const warmEnd = now() + config.warmupMaxSeconds * 1000
    for (let i = 0; i < config.warmup && now() < warmEnd; i++) await echo()
    const server0 = await serverCpuUs(peer)
    const client0 = cpuUs()
    const samples = await oneAtATime(echo, config.calls)
    const client1 = cpuUs()
    const server1 = await serverCpuUs(peer)
    const latency = {
      ...summarize(samples),
      client_us: (client1 - client0) / config.calls,
      server_us: (server1 - server0) / config.calls,
    }
    console.log(`progress: one at a time, median ${latency.median_us.toFixed(1)} us`)
    const throughput: Throughput[] = []
    for (const inFlight of config.inFlight) {
      const result = await sustain(peer, inFlight, config.warmupSeconds, config.seconds)
      console.log(`progress: ${inFlight} in flight, ${result.calls_per_s.toFixed(0)} calls/s`)
      throughput.push(result)
    }
    const sizes: SizeResult[] = []
    for (const { bytes, calls } of config.sizes) {
      const sized = echoOf(peer, payloadOf(bytes))
      await oneAtATime(sized, Math.max(2, Math.ceil(calls / 10)))
      const t0 = now()
      const round = summarize(await oneAtATime(sized, calls))
      const seconds = (now() - t0) / 1000
      sizes.push({ ...round, bytes, mb_per_s: (bytes * calls) / seconds / 1e6 })
      console.log(`progress: ${bytes}-byte bodies, median ${round.median_us.toFixed(1)} us`)
    }
    const result: ClientResult = { latency, throughput, sizes }
    console.log(JSON.stringify(result))
  } finally {
    await peer.close()
  }
}

async function swarm(config: Target & { inFlight: number; warmupSeconds: number; seconds: number }): Promise<void> {
  const peer = await connect(config)
  try {
    const echo = echoOf(peer, PAYLOAD)
    for (let i = 0; i < 200; i++) await echo()
    console.log('ready')
    const lines = createInterface({ input: process.stdin })
    await new Promise<void>((resolve) => lines.once('line', () => resolve()))
    lines.close()
    const result = await sustain(peer, config.inFlight, config.warmupSeconds, config.seconds)
    console.log(JSON.stringify(result))
  } finally {
    await peer.close()
  }
}

async function soak(config: Target & { calls: number; inFlight: number; samples: number }): Promise<void> {
  const peer = await connect(config)
  try {
    const echo = echoOf(peer, PAYLOAD)
    const every = Math.max(1, Math.floor(config.calls / config.samples))
    const samples: [number, number][] = []
    let started = 0
    let nextSample = 0
    const rss = async (calls: number) => {
      samples.push([calls, ((await peer.call('stats', {})) as { rss: number }).rss])
    }
    const worker = async () => {
      while (started < config.calls) {
        started++
        await echo()
        if (started >= nextSample) {
          nextSample += every
          await rss(started)
          console.log(`progress: ${started} calls, server RSS ${((samples.at(-1)?.[1] ?? 0) / 2 ** 20).toFixed(1)} MiB`)
        }
      }
    }
    await Promise.all(Array.from({ length: config.inFlight }, worker))
    await rss(started)
    console.log(JSON.stringify({ samples }))
  } finally {
    await peer.close()
  }
}

/** Makes `calls` echo calls, `inFlight` at a time. */
async function callsInFlight(echo: () => Promise<void>, calls: number, inFlight: number): Promise<void> {
  let started = 0
  const worker = async () => {
    while (started < calls) {
      started++
      await echo()
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
}

async function counted(config: Target & { warmup: number; calls: number; inFlight: number }): Promise<void> {
  const peer = await connect(config)
  const lines = createInterface({ input: process.stdin })
  const nextLine = () => new Promise<void>((resolve) => lines.once('line', () => resolve()))
  try {
    const echo = echoOf(peer, PAYLOAD)
    await callsInFlight(echo, config.warmup, config.inFlight)
    console.log('warm')
    await nextLine()
    await callsInFlight(echo, config.calls, config.inFlight)
    console.log('done')
    await nextLine()
  } finally {
    lines.close()
    await peer.close()
  }
  console.log(JSON.stringify({ calls: config.calls }))
}

async function idlers(config: { address: string; sessions: number }): Promise<void> {
  const ended = terminated()
  const clients = []
  // Small reply queues: idle sessions need no room, and a hundred default
  // ones (10 x 1 KiB each) would use up one user's RLIMIT_MSGQUEUE budget.
  const small = { replyMaxMessages: 2, replyMessageSize: 512 }
  for (let i = 0; i < config.sessions; i++) clients.push(await createClient(Echo, { queue: config.address, ...small }))
  console.log('open')
  await ended
  await Promise.all(clients.map((c) => c.close()))
  console.log(JSON.stringify({ sessions: clients.length }))
}

/** Round trips kept by the load role at most: a uniform sample of the window beyond that. */
const RESERVOIR = 8192

async function load(config: { queue: string; inFlight: number; burnMs: number }): Promise<void> {
  const ended = terminated()
  const c = await createClient(Echo, { queue: config.queue })
  let stop = false
  let calls = 0
  let failure: unknown
  // Off until the parent says the backlog has built, so that the figures
  // are of the flood while the probe measures, not of its ramp-up.
  let measuring = false
  let timed = 0
  const reservoir: number[] = []
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    if (line === 'measure') measuring = true
  })
  const t0 = now()
  const worker = async () => {
    while (!stop) {
      const started = measuring ? now() : undefined
      await c.burn({ ms: config.burnMs })
      if (calls++ === 0) console.log('loading')
      // A call that SIGTERM ended the window during is left out: its time is not the flood's.
      if (started === undefined || stop) continue
      const us = (now() - started) * 1000
      timed++
      if (reservoir.length < RESERVOIR) reservoir.push(us)
      else {
        const slot = Math.floor(Math.random() * timed)
        if (slot < RESERVOIR) reservoir[slot] = us
      }
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
  lines.close()
  const seconds = (now() - t0) / 1000
  await Promise.all(workers)
  await c.close()
  if (failure !== undefined) throw failure
  console.log(JSON.stringify({ calls, seconds, timed: { ...summarize(reservoir), n: timed } }))
}

async function probe(config: { queue: string; warmup: number; seconds: number; maxCalls: number }): Promise<void> {
  const c = await createClient(Echo, { queue: config.queue })
  try {
    const check = (value: string) => {
      if (value !== PAYLOAD) throw new Error('echo returned something else')
    }
    const urgent = async () => check(await c.echo({ s: PAYLOAD }, { priority: 'urgent' }))
    const bulk = async () => check(await c.echo({ s: PAYLOAD }))
    for (let i = 0; i < config.warmup; i++) {
      await urgent()
      await bulk()
    }
    const samples = { urgent: [] as number[], bulk: [] as number[] }
    const until = now() + config.seconds * 1000
    while (now() < until && samples.urgent.length < config.maxCalls) {
      for (const [lane, call] of [
        ['urgent', urgent],
        ['bulk', bulk],
      ] as const) {
        const t0 = now()
        await call()
        samples[lane].push((now() - t0) * 1000)
      }
    }
    console.log(JSON.stringify({ urgent: summarize(samples.urgent), bulk: summarize(samples.bulk) }))
  } finally {
    await c.close()
  }
}

const ROLES: PeerRoles = { server, client, swarm, soak, counted, idlers, load, probe }

runPeerRole('rpc-peer.ts', ROLES)
