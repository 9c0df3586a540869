/**
 * One process of bench/streams.ts. Usage: `streams-peer.ts <role> '<json config>'`.
 *
 *   mq-server      {address}   serves {@link Streams} with default options;
 *                  prints "ready", closes on SIGTERM.
 *   socket-server  {address, cork}   the hand-rolled stream over a Unix
 *                  socket; prints "ready", closes on SIGTERM.
 *   client         {contender, replyMaxMessages?, replyMessageSize?, address, sizes, warmup, seconds, minElements, maxElements, steps}
 *                  warms up one stream per size, picks the elements per run
 *                  from the warm-up's rate (about `seconds` a run), prints
 *                  "ready"; then for each "go" line on stdin runs the next
 *                  step's stream and prints "done <k>"; after the last step
 *                  prints its {@link ClientRuns}.
 *
 * The socket protocol: frames of a uint32 LE length and a msgpack body
 * (bench/msgpack-socket.ts). The client sends `["count", {n, bytes}]` or
 * `["stats"]`; the server answers a count with one frame per element and an
 * empty frame at the end, and stats with one frame.
 * @module
 */
import { once } from 'node:events'
import { rmSync } from 'node:fs'
import { createConnection, createServer as createNetServer, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { Decoder } from '@msgpack/msgpack'
import { Type } from 'typebox'
import { type ClientOptions, createClient, createServer, defineService, type Handlers } from '../src/index.js'
import { processFigures } from './echo-service.js'
import { frame, readFrames } from './msgpack-socket.js'
import { type PeerRoles, runPeerRole } from './peer-main.js'
import { readInOrder } from './stream-order.js'
import { cpuUs, now } from './summary.js'

/** The streaming service mqrpc serves: `count` streams `n` elements of about `bytes` bytes each. */
export const Streams = defineService('bench.streams', {
  methods: {
    count: {
      stream: 'server',
      input: Type.Object({ n: Type.Integer({ minimum: 0 }), bytes: Type.Integer({ minimum: 0, maximum: 1 << 20 }) }),
      output: Type.Object({ i: Type.Integer(), pad: Type.String() }),
      description: 'Streams n elements {i, pad}, each about `bytes` bytes as msgpack.',
    },
    stats: {
      input: Type.Object({}),
      output: Type.Object({ cpuUs: Type.Number(), rss: Type.Number() }),
      description: "The server process's CPU time so far (microseconds) and RSS (bytes).",
    },
  },
})

// {i, pad} as msgpack is a map header, two keys, an int and a string header: about 14 bytes besides pad.
const padOf = (bytes: number): string => 'x'.repeat(Math.max(0, bytes - 14))

const handlers: Handlers<typeof Streams> = {
  async *count({ n, bytes }) {
    const pad = padOf(bytes)
    for (let i = 0; i < n; i++) yield { i, pad }
  },
  stats: () => processFigures(),
}

/** One timed stream as the client saw it. */
export interface StreamRun {
  readonly bytes: number
  readonly elements: number
  readonly elements_per_s: number
  /** CPU time per element, microseconds. */
  readonly client_us: number
  readonly server_us: number
}

/** What a client prints at the end. */
export interface ClientRuns {
  readonly runs: readonly StreamRun[]
}

/** Resolves on the first SIGTERM or SIGINT. */
function terminated(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve())
    process.once('SIGINT', () => resolve())
  })
}

async function mqServer(config: { address: string }): Promise<void> {
  const ended = terminated()
  const server = await createServer(Streams, handlers, { queue: config.address })
  server.on('error', (error) => console.error(error.message))
  console.log('ready')
  await ended
  await server.close()
}

const END = Buffer.alloc(4) // a frame of length 0

/**
 * Writes a frame, honouring back-pressure through the return value. With
 * `cork`, the frames of one tick leave in one syscall, as in
 * bench/msgpack-socket.ts (and as mqrpc packs one tick's frames into one message).
 */
function write(socket: Socket, bytes: Buffer, cork: boolean): boolean {
  if (cork && socket.writableCorked === 0) {
    socket.cork()
    process.nextTick(() => socket.uncork())
  }
  return socket.write(bytes)
}

/** The server side of a socket stream, as one would write it: a loop that waits for 'drain' when write() says so. */
async function streamTo(socket: Socket, n: number, bytes: number, cork: boolean): Promise<void> {
  const pad = padOf(bytes)
  for (let i = 0; i < n; i++) {
    if (!write(socket, frame({ i, pad }), cork)) await once(socket, 'drain')
  }
  write(socket, END, cork)
}

async function socketServer(config: { address: string; cork: boolean }): Promise<void> {
  const ended = terminated()
  rmSync(config.address, { force: true })
  const decoder = new Decoder()
  const server = createNetServer((socket) => {
    socket.on('error', () => socket.destroy())
    readFrames(socket, (body) => {
      const [method, args] = decoder.decode(body) as [string, { n: number; bytes: number } | undefined]
      if (method === 'stats') write(socket, frame(processFigures()), config.cork)
      else if (method === 'count' && args !== undefined)
        streamTo(socket, args.n, args.bytes, config.cork).catch(() => socket.destroy())
      else socket.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.address, resolve)
  })
  console.log('ready')
  await ended
  server.close()
  rmSync(config.address, { force: true })
}

/** What the client measures against: a stream of `n` elements of `bytes`, and the server's CPU time. */
interface StreamPeer {
  count(n: number, bytes: number): Promise<void>
  serverCpuUs(): Promise<number>
  close(): Promise<void>
}

async function mqPeer(
  address: string,
  replyQueue: Pick<ClientOptions, 'replyMaxMessages' | 'replyMessageSize'>,
): Promise<StreamPeer> {
  const { replyMaxMessages, replyMessageSize } = replyQueue
  const client = await createClient(Streams, {
    queue: address,
    ...(replyMaxMessages === undefined ? {} : { replyMaxMessages }),
    ...(replyMessageSize === undefined ? {} : { replyMessageSize }),
  })
  return {
    count: (n, bytes) => readInOrder(client.count({ n, bytes }), n),
    serverCpuUs: async () => (await client.stats({})).cpuUs,
    close: () => client.close(),
  }
}

/** The client side of a socket stream: each frame decoded as it comes, one at a time. */
async function socketPeer(address: string): Promise<StreamPeer> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = createConnection(address, () => resolve(s))
    s.once('error', reject)
  })
  const decoder = new Decoder()
  let onFrame: (body: Buffer) => void = () => {
    throw new Error('a frame nobody asked for')
  }
  readFrames(socket, (body) => onFrame(body))
  const closed = new Promise<never>((_, reject) => socket.once('close', () => reject(new Error('socket closed'))))
  closed.catch(() => undefined)
  return {
    count(n, bytes) {
      let expected = 0
      const done = new Promise<void>((resolve, reject) => {
        onFrame = (body) => {
          if (body.length === 0) {
            if (expected === n) resolve()
            else reject(new Error(`stream ended after ${expected} of ${n} elements`))
            return
          }
          const element = decoder.decode(body) as { i: number; pad: string }
          if (element.i !== expected) reject(new Error(`element ${element.i} where ${expected} was due`))
          expected++
        }
      })
      socket.write(frame(['count', { n, bytes }]))
      return Promise.race([done, closed])
    },
    serverCpuUs() {
      const answer = new Promise<number>((resolve) => {
        onFrame = (body) => resolve((decoder.decode(body) as { cpuUs: number }).cpuUs)
      })
      socket.write(frame(['stats']))
      return Promise.race([answer, closed])
    },
    close: () => new Promise<void>((resolve) => socket.end(resolve)),
  }
}

/** One timed stream: elements per second, and CPU per element on each side. */
async function timed(peer: StreamPeer, n: number, bytes: number): Promise<StreamRun> {
  const server0 = await peer.serverCpuUs()
  const client0 = cpuUs()
  const t0 = now()
  await peer.count(n, bytes)
  const seconds = (now() - t0) / 1000
  const client1 = cpuUs()
  const server1 = await peer.serverCpuUs()
  return {
    bytes,
    elements: n,
    elements_per_s: n / seconds,
    client_us: (client1 - client0) / n,
    server_us: (server1 - server0) / n,
  }
}

async function client(config: {
  contender: 'mqrpc' | 'socket'
  /** mqrpc: the client's reply queue slots (default: the transport's). */
  replyMaxMessages?: number
  /** mqrpc: the client's reply queue message size (default: the transport's). */
  replyMessageSize?: number
  address: string
  sizes: readonly number[]
  warmup: number
  seconds: number
  minElements: number
  maxElements: number
  /** The element size of each timed stream, in the order the parent says "go". */
  steps: readonly number[]
}): Promise<void> {
  const peer = await (config.contender === 'mqrpc' ? mqPeer(config.address, config) : socketPeer(config.address))
  try {
    const elements = new Map<number, number>()
    for (const bytes of config.sizes) {
      // Cold code streams several times slower than warm: grow the warm-up
      // streams until one lasts half a run, and size the runs from its rate.
      let n = config.warmup
      for (let round = 0; round < 8; round++) {
        const { elements_per_s } = await timed(peer, n, bytes)
        const fit = Math.round(Math.min(config.maxElements, Math.max(config.minElements, elements_per_s * config.seconds)))
        const lasted = n / elements_per_s
        n = fit
        if (lasted >= config.seconds / 2 || n === config.maxElements) break
      }
      elements.set(bytes, n)
    }
    console.log('ready')
    const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
    const runs: StreamRun[] = []
    for (const [k, bytes] of config.steps.entries()) {
      if ((await lines.next()).done === true) throw new Error('stdin closed before the last step')
      const run = await timed(peer, elements.get(bytes) ?? config.minElements, bytes)
      runs.push(run)
      console.log(`progress: ${bytes}-byte elements, ${run.elements_per_s.toFixed(0)} elements/s`)
      console.log(`done ${k}`)
    }
    const result: ClientRuns = { runs }
    console.log(JSON.stringify(result))
  } finally {
    await peer.close()
  }
}

const ROLES: PeerRoles = {
  'mq-server': mqServer,
  'socket-server': socketServer,
  client,
}

runPeerRole('streams-peer.ts', ROLES)
