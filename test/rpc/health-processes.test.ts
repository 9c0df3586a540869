/**
 * Health across real processes: a spawned server (test/fixtures/
 * health-server.ts) answers `$health.check` SERVING, a handler sets
 * NOT_SERVING, a watcher hears NOT_SERVING as soon as the server drains
 * (while a call still runs), and `mqrpc health` prints it with exit codes
 * 0 SERVING, 1 NOT_SERVING or SERVICE_UNKNOWN, 3 unreachable.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type Client, Code, checkHealth, createClient, type HealthStatus, RpcError, watchHealth } from '../../src/index.js'
import { Keeper } from '../fixtures/health-service.js'
import { runCli, startCli } from '../helpers/cli.js'
import { trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { type Child, spawnFixture } from '../helpers/spawn.js'

// Each spawn is a node process with tsx: seconds on a loaded machine.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 30_000 })
useQueueGuard()

let queue: string
let server: Child
const clients: Client<typeof Keeper>[] = []

beforeEach(async () => {
  queue = uniqueQueueName('health')
  trackQueue(`${queue}.urgent`)
  server = spawnFixture('health-server.ts', [queue])
  await server.waitForLine(/"event":"ready"/, 30_000)
})

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((client) => client.close()))
  if (server.running) {
    server.send(JSON.stringify({ op: 'close' }))
    await server.finish(30_000)
  }
})

async function connect(): Promise<Client<typeof Keeper>> {
  // No reconnecting: once the server drains, a new call fails instead of waiting for the next server.
  const client = await createClient(Keeper, { queue, reconnect: false, connectTimeoutMs: 20_000 })
  clients.push(client)
  return client
}

describe('$health.check', () => {
  it('answers SERVING, then what a handler set, and SERVICE_UNKNOWN for another service', async () => {
    const client = await connect()
    expect(await checkHealth(client)).toBe('SERVING')
    expect(await checkHealth(client, { service: 'keeper' })).toBe('SERVING')
    expect(await checkHealth(client, { service: 'other' })).toBe('SERVICE_UNKNOWN')
    await client.setHealth({ status: 'NOT_SERVING' })
    expect(await checkHealth(client)).toBe('NOT_SERVING')
    expect(await client.call('$health.check', { service: 'keeper' })).toEqual({ status: 'NOT_SERVING' })
    await client.setHealth({ status: 'SERVING' })
    expect(await checkHealth(client)).toBe('SERVING')
    const bad = await client.call('$health.check', { service: 3 }).catch((error: unknown) => error)
    expect(bad).toBeInstanceOf(RpcError)
    expect((bad as RpcError).code).toBe(Code.INVALID_ARGUMENT)
  })
})

describe('$health.watch', () => {
  it('gives the current status, then each change, and NOT_SERVING once the server drains, before its last call ends', async () => {
    const client = await connect()
    const watcher = await connect()
    const order: string[] = []
    const statuses: HealthStatus[] = []
    const watching = (async () => {
      try {
        for await (const status of watchHealth(watcher)) {
          statuses.push(status)
          order.push(status)
        }
      } catch (error) {
        return error
      }
      return undefined
    })()
    await vi.waitUntil(() => statuses.length === 1, { timeout: 20_000 })
    await client.setHealth({ status: 'NOT_SERVING' })
    await vi.waitUntil(() => statuses.length === 2, { timeout: 20_000 })
    await client.setHealth({ status: 'SERVING' })
    await vi.waitUntil(() => statuses.length === 3, { timeout: 20_000 })
    expect(statuses).toEqual(['SERVING', 'NOT_SERVING', 'SERVING'])

    // A call in flight keeps the server draining until it ends.
    const slow = client.slow({ ms: 3000 }).then((result) => {
      order.push(`slow ${result}`)
    })
    await vi.waitUntil(async () => ((await client.call('$stats', {})) as { running: number }).running === 1, {
      timeout: 20_000,
    })
    server.send(JSON.stringify({ op: 'close' }))
    await slow
    const ended = await watching
    expect(order).toEqual(['SERVING', 'NOT_SERVING', 'SERVING', 'NOT_SERVING', 'slow done'])
    // Then the server is gone: the watch ends with UNAVAILABLE.
    expect(ended).toBeInstanceOf(RpcError)
    expect((ended as RpcError).code).toBe(Code.UNAVAILABLE)
    await server.finish(30_000)
  })
})

describe('mqrpc health', () => {
  it('prints SERVING and exits 0; NOT_SERVING exits 1; --json prints the status as JSON', async () => {
    const serving = await runCli(['health', queue])
    expect(serving.stderr).toBe('')
    expect(serving.stdout).toBe('SERVING\n')
    expect(serving.code).toBe(0)
    const client = await connect()
    await client.setHealth({ status: 'NOT_SERVING' })
    const [notServing, json, unknown] = await Promise.all([
      runCli(['health', queue]),
      runCli(['health', queue, '--json']),
      runCli(['health', queue, 'other']),
    ])
    expect(notServing.stdout).toBe('NOT_SERVING\n')
    expect(notServing.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({ queue, status: 'NOT_SERVING' })
    expect(json.code).toBe(1)
    expect(unknown.stdout).toBe('SERVICE_UNKNOWN\n')
    expect(unknown.code).toBe(1)
  })

  it('exits 3 when no server answers', async () => {
    const nowhere = uniqueQueueName('nohealth')
    const [text, json] = await Promise.all([runCli(['health', nowhere]), runCli(['health', nowhere, '--json'])])
    expect(text.code).toBe(3)
    expect(text.stderr).toContain(nowhere)
    expect(json.code).toBe(3)
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'UNAVAILABLE' } })
  })

  it('--watch prints each change and, when the server drains and goes, NOT_SERVING and exit 3', async () => {
    const watch = startCli(['health', queue, '--watch'])
    await watch.waitForLine('SERVING', 30_000)
    const client = await connect()
    await client.setHealth({ status: 'NOT_SERVING' })
    await watch.waitForLine('NOT_SERVING', 20_000)
    await client.setHealth({ status: 'SERVING' })
    await vi.waitUntil(() => watch.lines().length === 3, { timeout: 20_000 })
    await client.close()
    // The drain's NOT_SERVING, then the server is gone.
    server.send(JSON.stringify({ op: 'close' }))
    const { code, stdout } = await watch.finish(30_000)
    expect(stdout).toBe('SERVING\nNOT_SERVING\nSERVING\nNOT_SERVING\n')
    expect(code).toBe(3)
    await server.finish(30_000)
  })

  it('--watch --count N stops after N statuses, exiting by the last one', async () => {
    const { code, stdout } = await runCli(['health', queue, '--watch', '--count', '1', '--json'])
    expect(JSON.parse(stdout)).toMatchObject({ status: 'SERVING' })
    expect(code).toBe(0)
  })
})

describe('$health.watch as a stream', () => {
  it('is one call for the whole watch: break cancels it, SERVICE_UNKNOWN ends it, bad input fails it', async () => {
    const client = await connect()
    const inFlight = async () => ((await client.call('$stats', {})) as { inFlight: number }).inFlight
    const seen: unknown[] = []
    for await (const answer of client.stream('$health.watch', {}) as AsyncIterable<unknown>) {
      seen.push(answer)
      break
    }
    expect(seen).toEqual([{ status: 'SERVING' }])
    // The break sent CANCEL: the server ends the watch ($stats answers at once, and is not counted).
    await vi.waitUntil(async () => (await inFlight()) === 0, { timeout: 20_000 })
    const unknown: unknown[] = []
    for await (const answer of client.stream('$health.watch', { service: 'other' }) as AsyncIterable<unknown>) {
      unknown.push(answer)
    }
    expect(unknown).toEqual([{ status: 'SERVICE_UNKNOWN' }])
    const bad = await (async () => {
      for await (const _ of client.stream('$health.watch', { service: 3 }) as AsyncIterable<unknown>) {
        // never reached
      }
    })().catch((error: unknown) => error)
    expect(bad).toBeInstanceOf(RpcError)
    expect((bad as RpcError).code).toBe(Code.INVALID_ARGUMENT)
    // Still serving calls after all three.
    expect(await checkHealth(client)).toBe('SERVING')
  })
})
