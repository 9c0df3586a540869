/**
 * Chaos: servers and clients as real processes, killed with SIGKILL at
 * random moments while calls are in flight, the server restarted on the
 * same queue each time. Every client process (test/fixtures/chaos-client.ts)
 * counts the calls it issued, completed, and failed with a code, and prints
 * its totals when told to stop.
 *
 * Checked: for every surviving client, issued == completed + failed, every
 * failure carried a status code, no call ended twice, no answer belonged to
 * another call, and calls complete again after the last restart; and once
 * everything is stopped, no queue is left.
 *
 * Who removes the queues of SIGKILLed processes:
 * - a killed server's request queue and urgent lane: the next server on the
 *   same queue (it probes the stale queue, takes it over: docs/PROTOCOL.md
 *   2.4); the last server is closed cleanly and removes them;
 * - a killed client's reply queue: in round 0 the client is killed while a
 *   server runs, and that server's reaper notices the dead pid of an open
 *   session and unlinks its reply queue (docs/PROTOCOL.md 8.1; the test waits
 *   for it and fails if it does not happen); in round 1 the server is killed
 *   first, so no server sees the client die and the next one does not know
 *   it: the test runs `mqrpc gc <names> --yes` (the CLI's code, in-process),
 *   which removes a reply queue whose pid no longer exists.
 *   Nothing is unlinked by the test itself; the queue guard then fails the
 *   test if anything survived.
 *
 * The kill schedule comes from a seeded PRNG (MQRPC_FUZZ_SEED), printed.
 */
import { describe, expect, it, vi } from 'vitest'
import type { ChaosTotals } from '../fixtures/chaos-client.js'
import { FUZZ_SEED } from '../helpers/fuzz.js'
import { leftoverQueues, queueExists, trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { type Child, spawnFixture } from '../helpers/spawn.js'
import { sleep } from '../helpers/wait.js'

useQueueGuard()

const CLIENTS = 4
const ROUNDS = 2
const SERVER_OPTIONS = { heartbeatMs: 300, probeTimeoutMs: 300, shutdownGraceMs: 1_000 }

/** mulberry32: a small seeded PRNG, so that a failing schedule can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface ClientProc {
  readonly child: Child
  readonly replyQueue: string
  readonly pid: number
}

/** A server process, loaded but not serving until started (test/fixtures/chaos-server.ts). */
function spawnServer(queue: string): Child {
  return spawnFixture('chaos-server.ts', [queue, JSON.stringify(SERVER_OPTIONS)])
}

async function loaded(child: Child): Promise<void> {
  await child.waitForLine(/"event":"loaded"/, 60_000)
}

/** Starts a loaded server: it takes the queue (over, after a probe) and serves. */
async function serve(server: Child): Promise<void> {
  server.send('go')
  await server.waitForLine(/"event":"ready"/, 20_000)
}

/** Starts a loaded client: it connects and starts calling. */
async function connectClient(child: Child): Promise<ClientProc> {
  child.send('go')
  const line = JSON.parse(await child.waitForLine(/"event":"ready"/, 20_000)) as { replyQueue: string; pid: number }
  return { child, replyQueue: trackQueue(line.replyQueue), pid: line.pid }
}

describe('chaos: SIGKILL clients and servers while calls are in flight', () => {
  it('every call issued by a surviving client completed once or failed once with a code; no queue is left', async () => {
    const random = prng(FUZZ_SEED)
    const queue = uniqueQueueName('chaos')
    trackQueue(`${queue}.urgent`)
    // Every process starts at once (the replacement servers too, kept warm): node and tsx take
    // seconds to start on a loaded machine, which would otherwise be most of this test.
    const servers = Array.from({ length: ROUNDS + 1 }, () => spawnServer(queue))
    const clientChildren = Array.from({ length: CLIENTS }, () => spawnFixture('chaos-client.ts', [queue, '4']))
    await Promise.all([...servers, ...clientChildren].map(loaded))
    let server = servers[0] as Child
    await serve(server)
    const clients = await Promise.all(clientChildren.map(connectClient))
    const killed: ClientProc[] = []
    const faults: string[] = []
    const started = Date.now()

    let reapedByServer = 0
    for (let round = 0; round < ROUNDS; round++) {
      // Let calls flow, then kill one client and the server at random moments. Round 0 kills the
      // client first, while a server runs (its reaper must remove the reply queue); round 1 kills
      // the server first (no server sees the client die: its queue is left for `mqrpc gc`).
      await sleep(400 + random() * 800)
      const alive = clients.filter((c) => !killed.includes(c))
      const victim = alive[Math.floor(random() * alive.length)] as ClientProc
      const serverFirst = round % 2 === 1
      if (serverFirst) {
        await server.kill()
        faults.push(`t=${Date.now() - started}ms SIGKILL server`)
        await sleep(random() * 300)
      }
      await victim.child.kill()
      killed.push(victim)
      faults.push(`t=${Date.now() - started}ms SIGKILL client ${victim.pid}`)
      if (!serverFirst) {
        // The running server notices the dead pid (it checks every max(50, heartbeatMs / 2) ms)
        // and unlinks the reply queue of that open session.
        const deadline = Date.now() + 5_000
        while (queueExists(victim.replyQueue) && Date.now() < deadline) await sleep(20)
        expect(queueExists(victim.replyQueue), 'the server reaped the killed client’s reply queue').toBe(false)
        reapedByServer++
        await sleep(random() * 300)
        await server.kill()
        faults.push(`t=${Date.now() - started}ms SIGKILL server`)
      }
      // The new server takes the stale queue over (probe, then unlink and create).
      server = servers[round + 1] as Child
      await serve(server)
      faults.push(`t=${Date.now() - started}ms server restarted`)
    }

    // Survivors reconnect on their own; calls must complete again after the last restart.
    const survivors = clients.filter((c) => !killed.includes(c))
    for (const c of survivors) c.child.send('mark')
    await Promise.all(survivors.map((c) => c.child.waitForLine(/"event":"marked"/, 10_000)))
    await sleep(1_500)
    for (const c of survivors) c.child.send('stop')
    const totals = await Promise.all(
      survivors.map(async (c) => {
        const line = await c.child.waitForLine(/"event":"totals"/, 20_000)
        await c.child.success(20_000)
        return JSON.parse(line) as ChaosTotals
      }),
    )

    for (const t of totals) {
      expect(t.issued, JSON.stringify(t)).toBe(t.completed + t.failed)
      expect(t.noCode, 'every failure carried a status code').toBe(0)
      expect(t.twice, 'no call ended twice').toBe(0)
      expect(t.wrong, 'no answer belonged to another call').toBe(0)
      expect(t.completed).toBeGreaterThan(0)
      expect(t.sinceMark, 'calls complete again after the last restart').toBeGreaterThan(0)
    }

    // The last server closes cleanly and removes its queues.
    server.send(JSON.stringify({ op: 'close' }))
    await server.success(20_000)
    expect(queueExists(queue)).toBe(false)
    expect(queueExists(`${queue}.urgent`)).toBe(false)

    // Killed clients' reply queues: reaped by a server if one saw the pid die, else left for `mqrpc gc`.
    const leftForGc = killed.filter((c) => queueExists(c.replyQueue)).map((c) => c.replyQueue)
    if (leftForGc.length > 0) {
      // `mqrpc gc <names> --yes`, run in this process (the same code as the command, without
      // another node start-up): it removes a reply queue whose pid no longer exists.
      const { main } = await import('../../src/cli/cli.js')
      const log = vi.spyOn(console, 'log').mockImplementation(() => undefined)
      try {
        expect(await main(['gc', ...leftForGc, '--yes'])).toBe(0)
      } finally {
        log.mockRestore()
      }
    }
    expect(leftoverQueues([queue, `${queue}.urgent`, ...clients.map((c) => c.replyQueue)])).toEqual([])

    const sum = (key: 'issued' | 'completed' | 'failed') => totals.reduce((n, t) => n + t[key], 0)
    const byCode: Record<string, number> = {}
    for (const t of totals) for (const [code, n] of Object.entries(t.failedByCode)) byCode[code] = (byCode[code] ?? 0) + n
    console.log(
      JSON.stringify({
        chaos: {
          seed: FUZZ_SEED,
          faults: faults.length - ROUNDS, // SIGKILLs (restarts are not faults)
          schedule: faults,
          survivors: survivors.length,
          issued: sum('issued'),
          completed: sum('completed'),
          failed: sum('failed'),
          accountedFor: sum('completed') + sum('failed'),
          failedByCode: byCode,
          reapedByServer,
          removedByGc: leftForGc.length,
        },
      }),
    )
  }, 120_000)
})
