/**
 * What only NATS can do, through the whole RPC layer against a real
 * nats-server (test/helpers/nats-broker.ts), with servers and clients as
 * real processes:
 * - two server processes behind one service: sessions spread over them,
 *   and SIGKILL of one mid-run loses no call (every call a client issued
 *   completed once or failed once with a code, counted in the client by
 *   test/fixtures/chaos-client.ts); its clients reconnect to the other;
 * - principals: bob cannot take alice's identity, and `allow` by principal holds;
 * - the broker restarting under running clients and servers.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { Code, createClient } from '../../src/index.js'
import { natsTransport } from '../../src/transport/nats/index.js'
import type { ChaosTotals } from '../fixtures/chaos-client.js'
import { Lab } from '../fixtures/rpc-service.js'
import { ClientProc, PROCESS_TEST_TIMEOUT_MS, type ServerProc } from '../helpers/rpc.js'
import { spawnFixture } from '../helpers/spawn.js'
import { connectLab, natsCase, spawnLabServer, useTransportHarness } from '../helpers/transport-cases.js'
import { rejection, sleep, until } from '../helpers/wait.js'

useTransportHarness()
vi.setConfig({ testTimeout: PROCESS_TEST_TIMEOUT_MS * 2, hookTimeout: PROCESS_TEST_TIMEOUT_MS })

const tc = natsCase(64 * 1024)
beforeAll(() => tc.setup())
afterAll(() => tc.teardown())

/** A short heartbeat: a dead instance is noticed within 3 x 300 ms. */
const SERVER_OPTIONS = { heartbeatMs: 300 }

/** Chaos clients (4 calls in flight each), loaded in parallel; they connect on `connectChaos`. */
async function loadChaosClients(count: number, address: string): Promise<ClientProc[]> {
  const procs = Array.from(
    { length: count },
    () => new ClientProc(spawnFixture('chaos-client.ts', [address, '4', ...tc.fixtureArgs('alice')])),
  )
  await Promise.all(procs.map((proc) => proc.waitFor({ event: 'loaded' }, 60_000)))
  return procs
}

/** Connects loaded chaos clients (only once a server listens: connecting finds no responder otherwise). */
async function connectChaos(procs: ClientProc[]): Promise<ClientProc[]> {
  for (const proc of procs) proc.child.send('go')
  await Promise.all(procs.map((proc) => proc.waitFor({ event: 'ready' }, 30_000)))
  return procs
}

/** Resolves once `proc` has completed a call since now. */
async function callsFlow(proc: ClientProc): Promise<void> {
  proc.child.send('mark')
  await proc.waitFor({ event: 'marked' })
  const progress = () => proc.linesWith({ event: 'progress' })
  const deadline = Date.now() + 30_000
  for (;;) {
    const before = progress().length
    proc.child.send('progress')
    await until(() => progress().length > before, 'a progress line')
    if ((progress().at(-1)?.sinceMark as number) > 0) return
    if (Date.now() > deadline) throw new Error(`client ${proc.pid} completed no call within 30 s`)
    await sleep(50)
  }
}

/** Stops a chaos client, checks its accounting, and returns its totals. */
async function stopAndCount(proc: ClientProc): Promise<ChaosTotals> {
  proc.child.send('stop')
  const totals = (await proc.waitFor({ event: 'totals' }, 30_000)) as unknown as ChaosTotals
  await proc.child.success(30_000)
  const about = JSON.stringify(totals)
  expect(totals.issued, about).toBe(totals.completed + totals.failed)
  expect(totals.noCode, `every failure carried a code: ${about}`).toBe(0)
  expect(totals.twice, `no call ended twice: ${about}`).toBe(0)
  expect(totals.wrong, `no answer belonged to another call: ${about}`).toBe(0)
  expect(totals.sinceMark, `calls complete again: ${about}`).toBeGreaterThan(0)
  // A call that dies with its server fails UNAVAILABLE (the heartbeat window) or at its deadline.
  for (const code of Object.keys(totals.failedByCode)) expect([Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED]).toContain(Number(code))
  return totals
}

const sessionLines = (server: ServerProc) => server.linesWith({ event: 'session' })
const peerPid = (line: Record<string, unknown>) => (line.peer as { pid?: number }).pid

describe('several server processes behind one NATS service', () => {
  it('spread sessions over the instances; SIGKILL of one loses no call, and its clients move to the other', async () => {
    const address = tc.address('multi')
    const chaosLoading = loadChaosClients(4, address).catch((error: unknown) => error as Error)
    const instances = await Promise.all([0, 1].map(() => spawnLabServer(tc, address, SERVER_OPTIONS)))
    const [a, b] = instances as [ServerProc, ServerProc]
    expect([a, b].map((server) => server.linesWith({ event: 'ready' }).length)).toEqual([1, 1])

    // HELLOs go to the queue group: new clients land on either instance.
    let made = 0
    while (made < 40 && (sessionLines(a).length === 0 || sessionLines(b).length === 0)) {
      const client = await connectLab(tc, address)
      await client.add({ a: made, b: 1 })
      made++
      await until(() => sessionLines(a).length + sessionLines(b).length >= made, 'the session line')
    }
    expect(sessionLines(a).length, 'instance a served sessions').toBeGreaterThan(0)
    expect(sessionLines(b).length, 'instance b served sessions').toBeGreaterThan(0)

    const loaded = await chaosLoading
    if (loaded instanceof Error) throw loaded
    const chaos = await connectChaos(loaded)
    await Promise.all(chaos.map(callsFlow))
    const chaosOn = (server: ServerProc) => chaos.filter((c) => sessionLines(server).some((line) => peerPid(line) === c.pid))
    const [victim, survivor] = chaosOn(a).length >= chaosOn(b).length ? [a, b] : [b, a]
    const affected = chaosOn(victim)
    expect(affected.length).toBeGreaterThan(0)

    await victim.kill()
    await Promise.all(affected.map((c) => c.waitFor({ event: 'reconnect' }, 30_000)))
    await Promise.all(chaos.map(callsFlow))
    const totals = await Promise.all(chaos.map(stopAndCount))

    const survivorSessions = new Set(sessionLines(survivor).map((line) => String(line.id)))
    for (const c of affected) {
      const mine = totals[chaos.indexOf(c)] as ChaosTotals
      expect(
        mine.sessions.some((id) => survivorSessions.has(id)),
        'reconnected to the surviving instance',
      ).toBe(true)
    }
    const sum = (key: 'issued' | 'completed' | 'failed') => totals.reduce((n, t) => n + t[key], 0)
    console.log(
      JSON.stringify({
        natsFailover: {
          clients: chaos.length,
          moved: affected.length,
          issued: sum('issued'),
          completed: sum('completed'),
          failed: sum('failed'),
        },
      }),
    )
  })
})

describe('principals on NATS', () => {
  it("bob cannot take alice's identity, and an allow list by principal holds", async () => {
    const address = tc.address('allow')
    const server = await spawnLabServer(tc, address, { allow: { principals: ['nats:alice'] } })
    expect(server.linesWith({ event: 'ready' })).toHaveLength(1)

    const alice = await connectLab(tc, address, {}, 'alice')
    const { session } = await alice.echo({ n: 1, delayMs: 0 })
    const opened = await server.waitFor({ event: 'session', id: session })
    expect((opened.peer as { principal: string }).principal).toBe('nats:alice')

    const asBob = await rejection(connectLab(tc, address, {}, 'bob'))
    expect(asBob.code).toBe(Code.PERMISSION_DENIED)
    expect(asBob.message).toContain('nats:bob')

    // Bob claiming alice's inbox prefix: the broker will not let him read it, so no handshake can start.
    const forged = natsTransport({ servers: tc.broker.url, ...tc.broker.users.bob, inboxPrefix: '_INBOX.alice' })
    try {
      const asAlice = await rejection(createClient(Lab, { queue: address, transport: forged, connectTimeoutMs: 5_000 }))
      expect(asAlice.code).toBe(Code.PERMISSION_DENIED)
    } finally {
      await forged.close()
    }
    expect(sessionLines(server).map((line) => (line.peer as { principal: string }).principal)).toEqual(['nats:alice'])
  })
})

describe('the broker restarting', () => {
  it('clients and servers reconnect on their own; every call issued completes once or fails once with a code', async () => {
    const address = tc.address('restart')
    await spawnLabServer(tc, address, SERVER_OPTIONS)
    const chaos = await connectChaos(await loadChaosClients(3, address))
    await Promise.all(chaos.map(callsFlow))
    await tc.broker.restart()
    await Promise.all(chaos.map(callsFlow))
    // A client made after the restart reaches the server too.
    const late = await connectLab(tc, address)
    expect(await late.add({ a: 2, b: 3 })).toBe(5)
    const totals = await Promise.all(chaos.map(stopAndCount))
    console.log(
      JSON.stringify({ natsBrokerRestart: totals.map(({ issued, completed, failed }) => ({ issued, completed, failed })) }),
    )
  })
})
