/**
 * docs/PROTOCOL.md is enough to write a client: test/python/mqrpc_client.py
 * was written from it alone (ctypes over librt, a msgpack codec of its
 * own, no mqrpc code), and here it talks to a real server in this process.
 * It does the handshake, calls with results and errors, sends binary data,
 * coalesces frames, splits a 20 KB body over several frames, reassembles a
 * reply larger than its reply queue's message size, receives an event, and
 * says GOODBYE; a second run is refused with a REJECT. With short frames
 * agreed in the handshake, it packs a batch of calls into one message of
 * short frames and reads the short frames of the replies.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { Calc } from '../../examples/calc/service.js'
import { Code, createServer, type Handlers, RpcError, type Server } from '../../src/index.js'
import { type Ending, Streams, streamHandlers } from '../fixtures/stream-service.js'
import { queueExists, trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { Child } from '../helpers/spawn.js'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const clientScript = join(repoRoot, 'test/python/mqrpc_client.py')
const python = spawnSync('python3', ['--version'], { encoding: 'utf8' })
const hasPython = python.status === 0

/** Short heartbeats, so that the client must keep its session alive with PINGs while it waits for the event. */
const HEARTBEAT_MS = 500

let server: Server<typeof Calc> | undefined
const children: Child[] = []

useQueueGuard()

afterEach(async () => {
  for (const child of children.splice(0)) await child.kill()
  await server?.close()
  server = undefined
})

function startPython(args: readonly string[]): Child {
  const process: ChildProcess = spawn('python3', [clientScript, ...args], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] })
  const child = new Child(`python3 mqrpc_client.py ${args.join(' ')}`, process)
  children.push(child)
  return child
}

/** The JSON printed after `<step> ` by the Python client. */
function step(lines: readonly string[], name: string): unknown {
  const line = lines.find((l) => l.startsWith(`${name} `))
  if (line === undefined) throw new Error(`the Python client printed no '${name}' line:\n${lines.join('\n')}`)
  return JSON.parse(line.slice(name.length + 1))
}

async function startCalc(logged: string[]): Promise<Server<typeof Calc>> {
  const handlers: Handlers<typeof Calc> = {
    add: ({ a, b }) => a + b,
    divide: ({ a, b }) => {
      if (b === 0) throw new RpcError(Code.INVALID_ARGUMENT, `cannot divide ${a} by zero`)
      return a / b
    },
    checksum: ({ data }) => {
      let sum = 0
      for (const byte of data) sum += byte
      return { bytes: data.byteLength, sum }
    },
    log: ({ line }) => {
      logged.push(line)
    },
    stop: (_input, ctx) => {
      logged.push(`stop urgent=${ctx.urgent}`)
      return null
    },
  }
  server = await createServer(Calc, handlers, {
    queue: uniqueQueueName('py'),
    maxMessages: 10,
    messageSize: 2048,
    heartbeatMs: HEARTBEAT_MS,
  })
  trackQueue(`${server.queue}.urgent`)
  return server
}

const title = 'a Python client written from docs/PROTOCOL.md'
describe.skipIf(!hasPython)(hasPython ? title : `${title} (skipped: python3 is not on PATH)`, () => {
  it('shakes hands, calls, splits and reassembles bodies, receives an event, and says goodbye', async () => {
    const logged: string[] = []
    const calc = await startCalc(logged)
    const sessions: string[] = []
    const ended: number[] = []
    calc.on('session', (info) => sessions.push(info.id))
    calc.on('sessionEnd', (_info, reason) => ended.push(reason.code))

    const child = startPython([calc.queue, '--reply-size', '512'])
    const replyLine = await child.waitForLine(/^reply_queue /)
    const replyQueue = JSON.parse(replyLine.slice('reply_queue '.length)) as string
    trackQueue(replyQueue)
    expect(replyQueue).toMatch(/^\/mqrpc\.reply\.\d+\.[0-9a-f]{24}$/)

    await child.waitForLine('ready', 20_000)
    // Four heartbeat intervals of waiting: only the client's PINGs keep the
    // session open (the server ends one silent for three).
    await new Promise((resolve) => setTimeout(resolve, 4 * HEARTBEAT_MS))
    expect(calc.sessionCount).toBe(1)
    calc.emit('tick', { n: 7 })
    const stdout = await child.success(20_000)
    const lines = stdout.split('\n')

    expect(step(lines, 'challenge')).toEqual({ nonceEchoed: true, tokenNonZero: true })
    expect(step(lines, 'welcome')).toEqual({
      service: 'calc',
      fingerprint: Calc.fingerprint,
      heartbeatMs: HEARTBEAT_MS,
      maxBodyBytes: 16 * 1024 * 1024,
      maxInFlight: 128,
    })
    expect(step(lines, 'add')).toBe(5.5)
    expect(step(lines, 'divide')).toEqual({ code: Code.INVALID_ARGUMENT, message: 'cannot divide 1 by zero' })
    expect(step(lines, 'checksum')).toEqual({ bytes: 256, sum: (255 * 256) / 2 })
    expect(step(lines, 'pipelined')).toEqual([100, 101, 102])

    let sum = 0
    for (let i = 0; i < 20000; i++) sum += i % 251
    const big = step(lines, 'checksum20k') as { result: unknown; requestFrames: number }
    expect(big.result).toEqual({ bytes: 20000, sum })
    expect(big.requestFrames).toBeGreaterThan(1)

    const described = step(lines, 'describe') as Record<string, unknown>
    expect(described).toMatchObject({
      name: 'calc',
      protocol: 1,
      methods: ['add', 'checksum', 'divide', 'log', 'stop'],
      replyMessageSize: 512,
    })
    expect(described.replyBytes as number).toBeGreaterThan(512)
    expect(described.replyFrames as number).toBeGreaterThan(1)

    expect(step(lines, 'fingerprint')).toEqual({ matchesWelcome: true })
    expect(step(lines, 'late')).toMatchObject({ code: Code.DEADLINE_EXCEEDED })
    expect(step(lines, 'deadline')).toBe(2)
    expect(step(lines, 'unknown')).toMatchObject({ code: Code.UNIMPLEMENTED })
    expect(step(lines, 'invalid')).toMatchObject({ code: Code.INVALID_ARGUMENT })
    expect(step(lines, 'stop')).toBe(null)
    expect(step(lines, 'pong')).toBe(true)
    expect(step(lines, 'event')).toEqual({ name: 'tick', payload: { n: 7 }, seq: 1 })
    expect((step(lines, 'heartbeat') as { pongs: number }).pongs).toBeGreaterThanOrEqual(3)
    expect(step(lines, 'forged')).toBe(0)
    // Without --short-frames the HELLO offers none, so none may come (the WELCOME above has no shortFrames key).
    expect(step(lines, 'shortFrames')).toEqual({ received: 0, replies: 0 })
    expect(lines).toContain('bye')

    // The one-way call ran (no reply was sent), the urgent call came through
    // the urgent lane (which the server may read first: no order across lanes).
    expect([...logged].sort()).toEqual(['hello from python', 'stop urgent=true'])
    // GOODBYE ended the session on the server, and the client removed its reply queue.
    await expect.poll(() => ended, { timeout: 10_000 }).toEqual([Code.CANCELLED])
    expect(sessions).toHaveLength(1)
    expect(calc.sessionCount).toBe(0)
    expect(queueExists(replyQueue)).toBe(false)
  })

  it("with another schema's fingerprint is let in, and reassembles the WELCOME that carries the server's shape", async () => {
    const calc = await startCalc([])
    // The shape makes WELCOME larger than the 512-byte reply queue: it arrives in several frames.
    const child = startPython([calc.queue, '--reply-size', '512', '--fingerprint', '00000000000000000000000000000000'])
    const replyLine = await child.waitForLine(/^reply_queue /)
    trackQueue(JSON.parse(replyLine.slice('reply_queue '.length)) as string)
    await child.waitForLine('ready', 20_000)
    calc.broadcast('tick', { n: 7 })
    const lines = (await child.success(20_000)).split('\n')
    const welcome = step(lines, 'welcome') as { shape?: { name: string; methods: Record<string, unknown> } }
    expect(welcome.shape?.name).toBe('calc')
    expect(Object.keys(welcome.shape?.methods ?? {})).toContain('add')
  })

  it('with short frames on, sends a batch of calls in one message of short frames and reads replies packed as short frames', async () => {
    const calc = await startCalc([])
    const serverErrors: string[] = []
    calc.on('error', (error) => serverErrors.push(error.message))
    const BATCH = 12
    async function run(args: readonly string[]): Promise<string[]> {
      const child = startPython([calc.queue, '--reply-size', '512', '--batch', String(BATCH), ...args])
      const replyLine = await child.waitForLine(/^reply_queue /)
      trackQueue(JSON.parse(replyLine.slice('reply_queue '.length)) as string)
      return (await child.success(20_000)).split('\n')
    }
    // The client puts a divide by zero in the middle: one ERROR among the RESPONSEs.
    const answers = Array.from({ length: BATCH }, (_, i) =>
      i === BATCH / 2 ? { code: Code.INVALID_ARGUMENT, message: 'cannot divide 1 by zero' } : i + 1000,
    )

    const on = await run(['--short-frames'])
    expect(step(on, 'welcome')).toMatchObject({ service: 'calc', fingerprint: Calc.fingerprint, shortFrames: true })
    // All 12 REQUESTs in one queue message: one full frame, then 11 short ones.
    expect(step(on, 'batch')).toEqual({ results: answers, messages: 1, shortSent: BATCH - 1 })
    expect(step(on, 'describe')).toEqual({ name: 'calc', fingerprintMatches: true })
    const short = step(on, 'shortFrames') as { received: number; replies: number; malformed: number; forged: number }
    // The server packs the replies of one batch into shared messages, each whole body after the first frame short.
    expect(short.replies).toBeGreaterThan(0)
    expect(short.received).toBeGreaterThanOrEqual(short.replies)
    expect(short).toMatchObject({ malformed: 0, forged: 0 })

    // Without the option: no shortFrames in HELLO, none in WELCOME, none on the wire either way
    // (the client then reads 0x81 as a frame of an unknown version and would fail).
    const off = await run([])
    expect(step(off, 'welcome')).not.toHaveProperty('shortFrames')
    expect(step(off, 'batch')).toEqual({ results: answers, messages: 1, shortSent: 0 })
    expect(step(off, 'shortFrames')).toEqual({ received: 0, replies: 0, malformed: 0, forged: 0 })
    // The server read every frame the client wrote (a malformed message would be an `error` event).
    expect(serverErrors).toEqual([])
  })

  it('is refused with a REJECT carrying its nonce: wrong service, readable reply queue', async () => {
    const calc = await startCalc([])
    const cases: { args: string[]; code: Code; message: RegExp; detailKeys: string[] }[] = [
      { args: ['--service', 'nope'], code: Code.NOT_FOUND, message: /serves 'calc', not 'nope'/, detailKeys: ['service'] },
      { args: ['--reply-mode', '644'], code: Code.PERMISSION_DENIED, message: /others could read replies/, detailKeys: [] },
    ]
    for (const { args, code, message, detailKeys } of cases) {
      const child = startPython([calc.queue, '--reply-size', '512', '--expect-reject', ...args])
      const replyLine = await child.waitForLine(/^reply_queue /)
      trackQueue(JSON.parse(replyLine.slice('reply_queue '.length)) as string)
      const lines = (await child.success(20_000)).split('\n')
      const reject = step(lines, 'reject') as { code: number; message: string; detailKeys: string[] }
      expect(reject.code).toBe(code)
      expect(reject.message).toMatch(message)
      expect(reject.detailKeys).toEqual(detailKeys)
    }
    expect(calc.sessionCount).toBe(0)
  })
})

describe.skipIf(!hasPython)('a Python client consuming a server stream (docs/PROTOCOL.md section 14)', () => {
  it('grants credit, renews it as it reads, and tells the normal end from an error', async () => {
    const produced = new Map<string, number>()
    const endings: Ending[] = []
    const streams = await createServer(
      Streams,
      streamHandlers({
        produced: (tag, n) => produced.set(tag, n),
        ended: (ending) => endings.push(ending),
        hold: () => Promise.resolve(),
        consumed: () => {},
      }),
      { queue: uniqueQueueName('py-streams'), maxMessages: 10, messageSize: 2048, heartbeatMs: HEARTBEAT_MS },
    )
    trackQueue(`${streams.queue}.urgent`)
    try {
      const child = startPython([streams.queue, '--service', 'streams', '--streams'])
      const replyLine = await child.waitForLine(/^reply_queue /)
      trackQueue(JSON.parse(replyLine.slice('reply_queue '.length)) as string)
      const lines = (await child.success(30_000)).split('\n')
      // 40 elements: the first window of 16, then a renewal of 8 per 8 read; the server never ran past the credit (the client checks).
      expect(step(lines, 'stream')).toEqual({ count: 40, inOrder: true, granted: 16 + 8 * 5, received: 40 })
      expect(step(lines, 'streamError')).toEqual({ code: Code.FAILED_PRECONDITION, message: 'count failed at 20' })
      expect(step(lines, 'streamDescribe')).toEqual({ stream: 'server', fingerprintMatches: true })
      expect(endings.find((e) => e.tag === 'python')).toEqual({ tag: 'python', aborted: false, code: null })
    } finally {
      await streams.close()
    }
  })
})
