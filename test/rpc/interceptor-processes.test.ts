/**
 * Interceptors and metadata across real processes and POSIX queues: a
 * `relay` server in another process (test/fixtures/interceptor-server.ts)
 * with logging and two trail interceptors; the client's interceptors add
 * metadata and their own trail. And the retry interceptor carrying an
 * idempotent call over a server killed with SIGKILL and started again.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type Client, createClient, type Interceptor, retryInterceptor } from '../../src/index.js'
import { Relay } from '../fixtures/interceptor-service.js'
import { trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { type Child, spawnFixture } from '../helpers/spawn.js'

vi.setConfig({ testTimeout: 120_000, hookTimeout: 30_000 })
useQueueGuard()

let queue: string
const servers: Child[] = []
const clients: Client<typeof Relay>[] = []

async function startServer(): Promise<Child> {
  const server = spawnFixture('interceptor-server.ts', [queue])
  servers.push(server)
  await server.waitForLine(/"event":"ready"/, 30_000)
  return server
}

beforeEach(() => {
  queue = uniqueQueueName('icpt')
  trackQueue(`${queue}.urgent`)
})

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((client) => client.close()))
  for (const server of servers.splice(0)) {
    if (!server.running) continue
    server.send(JSON.stringify({ op: 'close' }))
    await server.finish(30_000)
  }
})

const trail =
  (name: string): Interceptor =>
  (next) =>
  async (call) => {
    const result = (await next(call)) as { trail: string[] }
    return { ...result, trail: [...result.trail, name] }
  }

describe('across processes', () => {
  it('runs client and server interceptors in order around the handler, and carries metadata to ctx.metadata', async () => {
    const server = await startServer()
    const addTrace: Interceptor = (next) => (call) => {
      call.metadata.traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
      return next(call)
    }
    const client = await createClient(Relay, { queue, interceptors: [trail('c1'), addTrace, trail('c2')] })
    clients.push(client)
    const answer = await client.echo({ text: 'hi' }, { metadata: { authorization: 'Bearer abc' } })
    expect(answer).toEqual({
      text: 'hi',
      metadata: { authorization: 'Bearer abc', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      trail: ['handler', 's2', 's1', 'c2', 'c1'],
    })
    const logLine = await server.waitForLine(/"event":"log"/, 10_000)
    const uid = process.getuid?.() ?? 0
    const gid = process.getgid?.() ?? 0
    expect(JSON.parse(logLine)).toMatchObject({
      side: 'server',
      service: 'relay',
      method: 'echo',
      code: 'OK',
      principal: `unix:${uid}:${gid}`,
    })
  })

  it('retries an idempotent call that failed UNAVAILABLE when its server was killed, on the server started after it', async () => {
    const first = await startServer()
    const firstPid = (JSON.parse(await first.waitForLine(/"event":"ready"/)) as { pid: number }).pid
    const client = await createClient(Relay, {
      queue,
      interceptors: [retryInterceptor({ maxAttempts: 5, backoff: { initialMs: 100, maxMs: 500 } })],
    })
    clients.push(client)
    const call = client.slowPid({ ms: 2000 }, { timeoutMs: 90_000 })
    // Killed mid-call: the client hears nothing more and fails the call UNAVAILABLE after three heartbeats.
    await vi.waitUntil(async () => ((await client.call('$stats', {})) as { running: number }).running === 1, {
      timeout: 20_000,
    })
    await first.kill()
    const second = await startServer()
    const secondPid = (JSON.parse(await second.waitForLine(/"event":"ready"/)) as { pid: number }).pid
    expect(secondPid).not.toBe(firstPid)
    expect(await call).toBe(secondPid)
  })
})
