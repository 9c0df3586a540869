/**
 * Streaming methods across real processes over POSIX queues: a "streams"
 * server (test/fixtures/stream-server.ts) in a child process, called from
 * this process and from a client process (test/fixtures/stream-client.ts).
 * Each kind end to end, large elements, the urgent lane, back-pressure
 * measured in the producer's RSS, and kill -9 of either side mid-stream.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Client, Code, createClient } from '../../src/index.js'
import { DEFAULT_STREAM_WINDOW, MAX_DEFAULT_STREAM_WINDOW } from '../../src/rpc/defaults.js'
import { FIRST_WINDOW, SMALLEST_WINDOW } from '../../src/rpc/stream-credit.js'
import { Streams } from '../fixtures/stream-service.js'
import { runCli, startCli } from '../helpers/cli.js'
import { rpcErrorOf } from '../helpers/errors.js'
import { cleanupQueues, trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { PROCESS_TEST_TIMEOUT_MS, ServerProc, START_MS, WAIT_MS } from '../helpers/rpc.js'
import { spawnFixture } from '../helpers/spawn.js'
import { settle, sleep } from '../helpers/wait.js'

useQueueGuard()
vi.setConfig({ testTimeout: 3 * PROCESS_TEST_TIMEOUT_MS, hookTimeout: PROCESS_TEST_TIMEOUT_MS })

const servers: ServerProc[] = []
const clients: Client<typeof Streams>[] = []
// Registered after the guard, so it runs first: servers close cleanly and remove their queues.
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((client) => client.close()))
  await Promise.allSettled(servers.splice(0).map((server) => server.close()))
})

async function startServer(
  options: Readonly<Record<string, unknown>> = {},
  env: Record<string, string> = {},
): Promise<ServerProc> {
  const queue = uniqueQueueName('streams')
  trackQueue(`${queue}.urgent`)
  const args = [queue, JSON.stringify({ heartbeatMs: 200, ...options })]
  const server = new ServerProc(spawnFixture('stream-server.ts', args, { env }), queue)
  servers.push(server)
  await server.waitFor({ event: 'ready' }, START_MS)
  return server
}

async function connectTo(server: ServerProc, options: Readonly<Record<string, unknown>> = {}): Promise<Client<typeof Streams>> {
  const client = await createClient(Streams, { queue: server.queue, ...options })
  trackQueue(client.replyQueue)
  clients.push(client)
  return client
}

let tagCounter = 0
const tag = (what: string) => `${what}-${++tagCounter}`

describe('each stream kind, end to end', () => {
  it('server, client and bidi streams carry typed elements; large elements are fragmented', async () => {
    const server = await startServer()
    const client = await connectTo(server)
    const counted: number[] = []
    for await (const item of client.count({ tag: tag('count'), to: 300 })) counted.push(item.n)
    expect(counted).toEqual([...Array(300).keys()])

    async function* numbers() {
      for (let n = 1; n <= 500; n++) yield { n }
    }
    expect(await client.sum(numbers())).toEqual({ count: 500, total: 125_250, bytes: 0 })

    const answers: { n: number; twice: number }[] = []
    for await (const answer of client.chat(numbers())) answers.push(answer)
    expect(answers).toHaveLength(500)
    expect(answers[499]).toEqual({ n: 500, twice: 1000 })

    // 5000-byte elements through a 1024-byte reply queue; 20,000-byte inputs through a 2048-byte request queue.
    const big = []
    for await (const item of client.count({ tag: tag('big'), to: 20, bytes: 5000 })) big.push(item)
    expect(big.map((item) => item.pad?.byteLength)).toEqual(Array(20).fill(5000))
    expect(big[7]?.pad?.every((b) => b === 7)).toBe(true)
    const inputs = [1, 2, 3, 4].map((n) => ({ n, pad: new Uint8Array(20_000).fill(n) }))
    expect(await client.sum(inputs)).toEqual({ count: 4, total: 10, bytes: 80_000 })
  })

  it('streams over the urgent lane, errors mid-stream, and break reaching the generator', async () => {
    const server = await startServer()
    const client = await connectTo(server)
    let urgent = 0
    for await (const _ of client.count({ tag: tag('urgent'), to: 100 }, { priority: 'urgent' })) urgent++
    expect(urgent).toBe(100)

    const seen: number[] = []
    const error = await rpcErrorOf(async () => {
      for await (const item of client.count({ tag: tag('fail'), to: 100, failAt: 7 })) seen.push(item.n)
    })
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(error.code).toBe(Code.FAILED_PRECONDITION)

    const broken = tag('break')
    for await (const item of client.count({ tag: broken, to: 1e9 })) if (item.n === 10) break
    const ended = await server.waitFor({ event: 'ended', tag: broken })
    expect(ended).toMatchObject({ aborted: true, code: Code.CANCELLED })

    const late = tag('deadline')
    const timedOut = await rpcErrorOf(async () => {
      for await (const _ of client.count({ tag: late, to: 100, waitAt: 2 }, { timeoutMs: 300 })) {
        // read until the generator waits
      }
    })
    expect(timedOut.code).toBe(Code.DEADLINE_EXCEEDED)
    expect(await server.waitFor({ event: 'ended', tag: late })).toMatchObject({ aborted: true, code: Code.DEADLINE_EXCEEDED })
  })
})

describe('back-pressure', () => {
  it('a slow consumer of 100,000 elements keeps the producer paused and its RSS flat', async () => {
    // Young-generation slack (V8 grows it to 48 MB on its own under allocation) would swamp what is measured: retained memory.
    const server = await startServer({}, { NODE_OPTIONS: '--max-semi-space-size=2' })
    const client = await connectTo(server)
    const t = tag('flood')
    const total = 100_000
    const checkpoint = 10_000
    let consumed = 0
    const ahead: number[] = []
    const rss: number[] = []
    const heap: number[] = []
    let startRss = 0
    for await (const item of client.count({ tag: t, to: total, bytes: 600 })) {
      expect(item.n).toBe(consumed)
      consumed++
      if (consumed % checkpoint !== 0 || consumed === total) continue
      // The consumer stops for a while: an unpaused producer would run far ahead meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 200))
      const progress = await server.request({ op: 'progress' }, WAIT_MS)
      const produced = (progress.produced as Record<string, number>)[t] ?? 0
      ahead.push(produced - consumed)
      rss.push(progress.maxRss as number)
      heap.push(progress.heapUsed as number)
      startRss = progress.startRss as number
    }
    expect(consumed).toBe(total)
    // Never more than one window ahead of what this process has read.
    expect(Math.max(...ahead)).toBeLessThanOrEqual(DEFAULT_STREAM_WINDOW)
    expect(Math.min(...ahead)).toBeGreaterThanOrEqual(0)
    const growthMb = (Math.max(...rss) - startRss) / (1024 * 1024)
    console.log(
      `stream back-pressure: ${total} x 600-byte elements; producer ahead by at most ${Math.max(...ahead)}; server RSS start ${(startRss / 1048576).toFixed(1)} MB, max ${(Math.max(...rss) / 1048576).toFixed(1)} MB (+${growthMb.toFixed(1)} MB)`,
    )
    console.log(`rss per checkpoint (MB): ${rss.map((r) => (r / 1048576).toFixed(1)).join(' ')}`)
    console.log(`heap per checkpoint (MB): ${heap.map((r) => (r / 1048576).toFixed(1)).join(' ')}`)
    // 100,000 elements of 600 bytes are 60 MB of payload: buffered, they alone would break this bound.
    expect(growthMb).toBeLessThan(50)
    // The JavaScript heap holds no backlog either.
    expect(Math.max(...heap) / 1048576).toBeLessThan(48)
    // And flat: the heap settles while the stream goes on. A buffer would
    // grow by the 30 MB of the second half's elements; garbage between two
    // major collections alone moves the peak by up to about 10 MB.
    const secondHalf = rss.slice(Math.floor(rss.length / 2))
    expect((Math.max(...secondHalf) - Math.min(...secondHalf)) / 1048576).toBeLessThan(16)
  })

  it('a client with larger reply messages lets more small elements in flight, still bounded', async () => {
    const server = await startServer()
    // How far the producer runs ahead of a reader that took the first window and stopped.
    const aheadOf = async (options: Readonly<Record<string, unknown>>, window: number): Promise<number> => {
      const client = await connectTo(server, options)
      const t = tag('wide')
      const iterator = client.count({ tag: t, to: 100_000, bytes: 64 })[Symbol.asyncIterator]()
      const consumed = FIRST_WINDOW
      for (let i = 0; i < consumed; i++) await iterator.next()
      const produced = async () =>
        ((await server.request({ op: 'progress' }, WAIT_MS)).produced as Record<string, number>)[t] ?? 0
      // The renewal at half the first window widened it to `window`; the
      // elements consumed since are not granted again yet.
      const full = window - (consumed - FIRST_WINDOW / 2)
      await settle(produced, (n) => n - consumed >= full, `the producer ran ${full} ahead`)
      await sleep(200)
      const ahead = (await produced()) - consumed
      await iterator.return?.()
      return ahead
    }
    // 1 KiB reply messages (the default): 256 elements; 8 KiB ones: 2,048.
    expect(await aheadOf({}, DEFAULT_STREAM_WINDOW)).toBe(DEFAULT_STREAM_WINDOW - FIRST_WINDOW / 2)
    const wide = await aheadOf({ replyMessageSize: 8192 }, MAX_DEFAULT_STREAM_WINDOW)
    expect(wide).toBe(MAX_DEFAULT_STREAM_WINDOW - FIRST_WINDOW / 2)
  })

  it('large elements are held to a few in flight: the window is sized by bytes', async () => {
    const server = await startServer()
    const client = await connectTo(server)
    const t = tag('large')
    const ahead: number[] = []
    let consumed = 0
    // 100,000-byte elements: the default 256 KiB budget fits 2, so the window is the smallest, 4 (from a first 16).
    for await (const item of client.count({ tag: t, to: 120, bytes: 100_000 })) {
      expect(item.n).toBe(consumed)
      consumed++
      if (consumed % 30 !== 0 || consumed === 120) continue
      await new Promise((resolve) => setTimeout(resolve, 200))
      const progress = await server.request({ op: 'progress' }, WAIT_MS)
      ahead.push(((progress.produced as Record<string, number>)[t] ?? 0) - consumed)
    }
    expect(consumed).toBe(120)
    expect(ahead).toHaveLength(3)
    for (const n of ahead) expect(n).toBeLessThanOrEqual(SMALLEST_WINDOW)
  })
})

describe('kill -9 mid-stream', () => {
  it("of the client: the server's generator ends (its finally runs)", async () => {
    const server = await startServer()
    const t = tag('orphan')
    const child = spawnFixture('stream-client.ts', [server.queue, t])
    const ready = JSON.parse(await child.waitForLine(/"event":"ready"/, START_MS)) as { replyQueue: string }
    trackQueue(ready.replyQueue)
    await child.waitForLine(/"event":"element","n":5\b/, WAIT_MS)
    await child.kill()
    const ended = await server.waitFor({ event: 'ended', tag: t })
    expect(ended.aborted).toBe(true)
    expect(ended.code).toBe(Code.UNAVAILABLE)
  })

  it("of the server: the client's iteration fails with UNAVAILABLE", async () => {
    const server = await startServer()
    const client = await connectTo(server, { reconnect: false })
    let read = 0
    const error = await rpcErrorOf(async () => {
      for await (const _ of client.count({ tag: tag('cut'), to: 1e9 })) {
        read++
        if (read === 50) await server.kill()
      }
    })
    expect(error.code).toBe(Code.UNAVAILABLE)
    expect(read).toBeGreaterThanOrEqual(50)
    // A killed server cannot remove its queues.
    expect(cleanupQueues([server.queue, `${server.queue}.urgent`]).sort()).toEqual(
      [server.queue, `${server.queue}.urgent`].sort(),
    )
  })
})

describe('the CLI', () => {
  it('mqrpc call prints one JSON line per element of a server stream; describe shows the stream kind', async () => {
    const server = await startServer()
    const listed = await runCli(['call', server.queue, 'count', '{"tag":"cli","to":5}', '--json'])
    expect(listed.code, listed.stderr).toBe(0)
    expect(
      listed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([0, 1, 2, 3, 4].map((n) => ({ n })))

    const failed = await runCli(['call', server.queue, 'count', '{"tag":"cli-fail","to":5,"failAt":2}', '--json'])
    expect(failed.code).toBe(1)
    const lines = failed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(lines.slice(0, 2)).toEqual([{ n: 0 }, { n: 1 }])
    expect(lines[2]).toMatchObject({ error: { code: 'FAILED_PRECONDITION' } })

    const described = await runCli(['describe', server.queue])
    expect(described.code, described.stderr).toBe(0)
    expect(described.stdout).toMatch(/count\(.*\[normal, server stream\]/)
    expect(described.stdout).toMatch(/sum\(.*\[normal, client stream\]/)
  })

  it("Ctrl-C ends mqrpc call's stream cleanly, and the server's generator returns", async () => {
    const server = await startServer()
    const cli = startCli(['call', server.queue, 'count', '{"tag":"cli-int","to":1000000000}', '--json'])
    await cli.waitForLine('{"n":20}', START_MS)
    cli.process.kill('SIGINT')
    const exit = await cli.finish(WAIT_MS)
    expect(exit.code, exit.stderr).toBe(0)
    expect(await server.waitFor({ event: 'ended', tag: 'cli-int' })).toMatchObject({ aborted: true })
  })
})
