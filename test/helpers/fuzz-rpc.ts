/**
 * Helpers of the fuzzing tests that run a real "fuzz" server
 * (test/fixtures/fuzz-server.ts) in another process: start it, connect
 * in-process clients, and close everything (cleanly, so that each side
 * removes its queues) before the queue guard looks for leftovers.
 * @module
 */
import { afterEach } from 'vitest'
import type { Client } from '../../src/index.js'
import { Fuzz, type FuzzService } from '../fixtures/fuzz-service.js'
import { ClientPool } from './clients.js'
import { trackQueue, uniqueQueueName, useQueueGuard } from './queues.js'
import { type Child, spawnFixture } from './spawn.js'

let cleanup: (() => Promise<void>)[] = []
const clients = new ClientPool()

/** Installs the queue guard and, before it runs, closes this file's clients and servers. */
export function useFuzzHarness(): void {
  useQueueGuard()
  // Registered after the guard, so it runs first (after-hooks run as a stack).
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined)
    cleanup = []
  })
}

/** Runs `step` after the test, before the queue guard (last registered, first run). */
export function atCleanup(step: () => Promise<void>): void {
  cleanup.push(step)
}

/** One JSON line a fixture printed. */
export type Line = Record<string, unknown> & { event?: string }

/** Every JSON line a child printed so far. */
export function jsonLines(child: Child): Line[] {
  return child.lines().flatMap((text) => {
    try {
      return [JSON.parse(text) as Line]
    } catch {
      return []
    }
  })
}

/** Spawns a fuzz server on a fresh queue and waits until it serves; it is closed after the test. */
export async function startFuzzServer(
  options: Readonly<Record<string, unknown>> = {},
): Promise<{ queue: string; server: Child }> {
  const queue = uniqueQueueName('fuzz')
  trackQueue(`${queue}.urgent`)
  const server = spawnFixture('fuzz-server.ts', [queue, JSON.stringify(options)])
  await server.waitForLine(/"event":"ready"/, 30_000)
  atCleanup(async () => {
    if (!server.running) return
    server.send('close')
    await server.finish(10_000).catch(() => server.kill())
  })
  return { queue, server }
}

/** A fuzz client in this process, closed after the test. */
export async function connectFuzz(queue: string): Promise<Client<FuzzService>> {
  const client = await clients.connect(Fuzz, queue, { connectTimeoutMs: 20_000 })
  atCleanup(() => clients.closeAll())
  return client
}
