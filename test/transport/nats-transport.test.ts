/**
 * The NATS transport against a real nats-server (test/helpers/nats-broker.ts):
 * whole messages through lanes and reply paths, pinning of a session to one
 * instance, max_payload, principals from inbox prefixes, the broker's
 * refusal of a foreign prefix, micro discovery read with a plain nats.js
 * client, and a broker restart.
 */
import { connect, type NatsConnection, PermissionViolationError } from '@nats-io/transport-node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { natsStatusOf } from '../../src/transport/nats/nats-error.js'
import { type NatsTransport, type NatsTransportOptions, natsTransport } from '../../src/transport/nats/nats-transport.js'
import type { ServiceAdvert } from '../../src/transport/transport.js'
import { type NatsBroker, startNatsBroker } from '../helpers/nats-broker.js'
import { sleep } from '../helpers/wait.js'

const MAX_PAYLOAD = 64 * 1024
const notServed = async () => false

/** Collects what an inbound receives (copies: the bytes are valid only during the call). */
function collector() {
  const got: string[] = []
  const waiters: Array<() => void> = []
  return {
    got,
    sink: (data: Uint8Array) => {
      got.push(Buffer.from(data).toString())
      for (const wake of waiters.splice(0)) wake()
    },
    async until(count: number, timeoutMs = 5000): Promise<string[]> {
      const deadline = Date.now() + timeoutMs
      while (got.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${got.length} of ${count} messages arrived: ${got.join(' | ')}`)
        await new Promise<void>((resolve) => {
          waiters.push(resolve)
          setTimeout(resolve, 50)
        })
      }
      return got
    },
  }
}

const bytes = (text: string) => new TextEncoder().encode(text)

describe('NATS transport', () => {
  let broker: NatsBroker
  const open: Array<{ close(): Promise<void> }> = []
  const track = <T extends { close(): Promise<void> }>(thing: T): T => {
    open.push(thing)
    return thing
  }
  const as = (who: 'alice' | 'bob' | 'server', extra: NatsTransportOptions = {}): NatsTransport =>
    track(natsTransport({ servers: broker.url, ...broker.users[who], ...extra }))

  beforeAll(async () => {
    broker = await startNatsBroker({ maxPayload: MAX_PAYLOAD })
  })
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close()
  })
  afterAll(async () => {
    await broker?.stop()
  })

  /** A server instance on `service` that answers every HELLO-like message through openPeer. */
  async function instance(service: string, name: string, advert?: ServiceAdvert) {
    const transport = as('server')
    const listener = await transport.listen(service, { isServed: notServed, ...(advert === undefined ? {} : { advert }) })
    const requests = collector()
    const urgent = collector()
    listener.requests.consume((data) => {
      requests.sink(data)
      const text = Buffer.from(data).toString()
      // A "hello <reply subject>" gets an answer naming this instance.
      if (text.startsWith('hello ')) {
        const peer = transport.openPeer(text.slice(6))
        peer.outbound.trySend(bytes(`challenge from ${name} for ${peer.identity.principal}`), 0)
      }
    })
    listener.urgent.consume(urgent.sink)
    return { transport, listener, requests, urgent, name }
  }

  it('carries whole messages: lanes to the server, openPeer to the reply path, naming the principal', async () => {
    const server = await instance('calc', 'one')
    const client = as('alice')
    const reply = await client.openReplyPath()
    expect(reply.inbound.address).toMatch(/^_INBOX\.alice\.[0-9a-f]+$/)
    // What the client sizes its streams' default window to: the broker's max_payload.
    expect(reply.inbound.messageSize).toBe(MAX_PAYLOAD)
    const answers = collector()
    reply.inbound.consume(answers.sink)
    const lanes = await client.connect('/calc')
    expect(lanes.requests.messageSize).toBe(MAX_PAYLOAD)
    expect(lanes.requests.waitingSends).toBe(0)
    await lanes.requests.send(bytes(`hello ${reply.inbound.address}`))
    expect(await answers.until(1)).toEqual(['challenge from one for nats:alice'])
    expect(lanes.urgent.trySend(bytes('urgent one'), 1)).toBe(true)
    expect(await server.urgent.until(1)).toEqual(['urgent one'])
    await lanes.requests.send(bytes('a request'))
    expect((await server.requests.until(2))[1]).toBe('a request')
  })

  it('pins a session to the instance that answered its HELLO', async () => {
    const a = await instance('pinned', 'a')
    const b = await instance('pinned', 'b')
    const clients = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(async () => {
        const transport = as('alice')
        const reply = await transport.openReplyPath()
        const answers = collector()
        reply.inbound.consume(answers.sink)
        const lanes = await transport.connect('pinned')
        await lanes.requests.send(bytes(`hello ${reply.inbound.address}`))
        const [challenge] = await answers.until(1)
        return { lanes, owner: challenge?.split(' ')[2] as string }
      }),
    )
    for (const [i, client] of clients.entries()) {
      for (let n = 0; n < 5; n++) await client.lanes.requests.send(bytes(`req ${i} ${n}`))
      await client.lanes.urgent.send(bytes(`urg ${i}`))
    }
    const expected = (owner: string) => clients.filter((c) => c.owner === owner).length
    await a.requests.until(expected('a') * 6)
    await b.requests.until(expected('b') * 6)
    await a.urgent.until(expected('a'))
    await b.urgent.until(expected('b'))
    await sleep(100)
    for (const server of [a, b]) {
      const mine = clients.flatMap((c, i) => (c.owner === server.name ? [i] : []))
      const calls = server.requests.got.filter((text) => text.startsWith('req ')).map((text) => Number(text.split(' ')[1]))
      expect(new Set(calls)).toEqual(new Set(mine))
      expect(server.urgent.got.map((text) => Number(text.split(' ')[1])).sort()).toEqual(mine)
    }
  })

  it('pairs lanes with their reply path when several clients share one transport', async () => {
    const a = await instance('shared', 'a')
    const b = await instance('shared', 'b')
    const transport = as('alice')
    const clients = await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        const reply = await transport.openReplyPath()
        const answers = collector()
        reply.inbound.consume(answers.sink)
        // Half pass the reply path explicitly, half leave the transport to find it in the HELLO.
        const lanes = i % 2 === 0 ? await transport.connect('shared', reply.inbound.address) : await transport.connect('shared')
        await lanes.requests.send(bytes(`hello ${reply.inbound.address}`))
        const [challenge] = await answers.until(1)
        return { lanes, owner: challenge?.split(' ')[2] as string }
      }),
    )
    for (const [i, client] of clients.entries()) await client.lanes.requests.send(bytes(`req ${i}`))
    const count = (owner: string) => clients.filter((c) => c.owner === owner).length * 2
    await a.requests.until(count('a'))
    await b.requests.until(count('b'))
    await sleep(100)
    for (const server of [a, b]) {
      const calls = server.requests.got.filter((text) => text.startsWith('req ')).map((text) => Number(text.split(' ')[1]))
      expect(calls.sort()).toEqual(clients.flatMap((c, i) => (c.owner === server.name ? [i] : [])))
    }
  })

  it("refuses a message larger than the broker's max_payload (the RPC layer fragments)", async () => {
    const server = await instance('big', 'one')
    const client = as('alice')
    const lanes = await client.connect('big')
    const size = lanes.requests.messageSize
    expect(size).toBe(MAX_PAYLOAD)
    const tooBig = new Uint8Array(size + 1)
    let thrown: unknown
    try {
      lanes.requests.trySend(tooBig, 0)
    } catch (error) {
      thrown = error
    }
    expect(natsStatusOf(thrown)).toBe('RESOURCE_EXHAUSTED')
    await expect(lanes.requests.send(tooBig)).rejects.toThrow(/max_payload/)
    const exact = new Uint8Array(size).fill(0x61)
    await lanes.requests.send(exact)
    const [got] = await server.requests.until(1)
    expect(got?.length).toBe(size)
  })

  it('derives the principal from the inbox prefix, and distrusts others when told to', async () => {
    const server = await instance('ident', 'one')
    const lenient = server.transport.openPeer('_INBOX.alice.0011')
    expect(lenient.identity.principal).toBe('nats:alice')
    expect(lenient.distrust).toBeUndefined()
    expect(lenient.alive?.(123)).toBeUndefined()
    expect(server.transport.openPeer('_INBOX.0011').identity.principal).toBe('nats:')
    expect(() => server.transport.openPeer('_INBOX.*.x')).toThrow(/wildcard/)
    expect(() => server.transport.openPeer('mqrpc.ident')).toThrow(/inbox/)

    const strict = as('server', { requireUserInbox: true })
    await strict.listen('strict', { isServed: notServed })
    expect(strict.openPeer('_INBOX.bob.77').distrust).toBeUndefined()
    expect(strict.openPeer('_INBOX.77').distrust?.status).toBe('PERMISSION_DENIED')
    expect(strict.openPeer('elsewhere.77').distrust?.status).toBe('PERMISSION_DENIED')
  })

  it("bob cannot subscribe under alice's inbox prefix: the broker refuses", async () => {
    const nc: NatsConnection = await connect({ servers: broker.url, ...broker.users.bob, inboxPrefix: '_INBOX.bob' })
    track({ close: () => nc.close() })
    const sub = nc.subscribe('_INBOX.alice.>', { callback: () => undefined })
    await nc.flush()
    const closedWith = await sub.closed
    expect(closedWith).toBeInstanceOf(PermissionViolationError)
    expect(natsStatusOf(closedWith)).toBe('PERMISSION_DENIED')
    // Nor can the transport, configured to pose as alice.
    const posing = as('bob', { inboxPrefix: '_INBOX.alice' })
    const refused = await posing.openReplyPath().catch((error: unknown) => error)
    expect(natsStatusOf(refused)).toBe('PERMISSION_DENIED')
    expect(String(refused)).toMatch(/_INBOX\.alice/)
    // Nor listen as a service: only the server user may subscribe to service subjects.
    const serving = await as('bob')
      .listen('calc', { isServed: notServed })
      .catch((error: unknown) => error)
    expect(natsStatusOf(serving)).toBe('PERMISSION_DENIED')
  })

  it('connect fails UNAVAILABLE when nobody listens; withdraw turns new clients away but keeps pinned ones', async () => {
    const client = as('alice')
    const nobody = await client.connect('nobody').catch((error: unknown) => error)
    expect(client.statusOf(nobody)).toBe('UNAVAILABLE')
    expect(String(nobody)).toMatch(/mqrpc\.nobody/)
    expect(client.addressProblem('/calc')).toBeUndefined()
    expect(client.addressProblem('calc.v2')).toMatch(/letters, digits/)
    expect(client.addressProblem('/')).toMatch(/no service/)

    const server = await instance('leaving', 'one')
    const reply = await client.openReplyPath()
    const answers = collector()
    reply.inbound.consume(answers.sink)
    const lanes = await client.connect('leaving')
    await lanes.requests.send(bytes(`hello ${reply.inbound.address}`))
    await answers.until(1)
    server.listener.withdraw()
    await sleep(100)
    expect(client.statusOf(await client.connect('leaving').catch((error: unknown) => error))).toBe('UNAVAILABLE')
    await lanes.requests.send(bytes('still here'))
    expect(await server.requests.until(2)).toContain('still here')
  })

  it('answers $SRV.PING, INFO and STATS as NATS micro does', async () => {
    const advert: ServiceAdvert = {
      name: 'calc',
      version: '1.2.3',
      description: 'adds numbers',
      metadata: { fingerprint: 'e067e7347889a21786b6cbb61cdc2799' },
      endpoints: ['add', 'neg'],
      stats: () => ({ add: { requests: 4, errors: 1, processingTimeMs: 2 } }),
    }
    const server = await instance('calc', 'one', advert)
    const id = server.transport.instanceId
    const nc = await connect({ servers: broker.url, ...broker.users.alice, inboxPrefix: '_INBOX.alice' })
    track({ close: () => nc.close() })
    const ask = async (subject: string) => (await nc.request(subject, '', { timeout: 2000 })).json<Record<string, unknown>>()

    const identity = {
      name: 'calc',
      id,
      version: '1.2.3',
      metadata: expect.objectContaining({ fingerprint: 'e067e7347889a21786b6cbb61cdc2799' }),
    }
    for (const subject of ['$SRV.PING', '$SRV.PING.calc', `$SRV.PING.calc.${id}`]) {
      expect(await ask(subject)).toEqual({ type: 'io.nats.micro.v1.ping_response', ...identity })
    }
    const endpoint = { subject: 'mqrpc.calc', queue_group: 'mqrpc.calc' }
    expect(await ask(`$SRV.INFO.calc.${id}`)).toEqual({
      type: 'io.nats.micro.v1.info_response',
      ...identity,
      description: 'adds numbers',
      endpoints: [
        { name: 'add', ...endpoint, metadata: {} },
        { name: 'neg', ...endpoint, metadata: {} },
      ],
    })
    const stats = await ask('$SRV.STATS.calc')
    expect(stats).toMatchObject({ type: 'io.nats.micro.v1.stats_response', ...identity })
    expect(Number.isNaN(Date.parse(stats.started as string))).toBe(false)
    expect(stats.endpoints).toEqual([
      {
        name: 'add',
        ...endpoint,
        num_requests: 4,
        num_errors: 1,
        last_error: '',
        processing_time: 2_000_000,
        average_processing_time: 500_000,
      },
      {
        name: 'neg',
        ...endpoint,
        num_requests: 0,
        num_errors: 0,
        last_error: '',
        processing_time: 0,
        average_processing_time: 0,
      },
    ])
    // Another name gets no answer from this instance.
    await expect(nc.request('$SRV.PING.other', '', { timeout: 300 })).rejects.toThrow()
    // Withdrawn instances are no longer discovered.
    server.listener.withdraw()
    await sleep(100)
    await expect(nc.request(`$SRV.PING.calc.${id}`, '', { timeout: 300 })).rejects.toThrow()
  })

  it('comes back after a broker restart: subscriptions return and messages flow again', async () => {
    const server = await instance('restart', 'one')
    const client = as('alice', { natsOptions: { reconnectTimeWait: 100 } })
    const reply = await client.openReplyPath()
    const answers = collector()
    reply.inbound.consume(answers.sink)
    const lanes = await client.connect('restart')
    await lanes.requests.send(bytes(`hello ${reply.inbound.address}`))
    await answers.until(1)

    await broker.restart()
    // Both sides reconnect by themselves (nats.js resubscribes); what was
    // published while the broker was down may be lost, so keep sending.
    const deadline = Date.now() + 15_000
    let n = 0
    while (!server.requests.got.some((text) => text.startsWith('again ')) && Date.now() < deadline) {
      await lanes.requests.send(bytes(`again ${n++}`))
      await sleep(100)
    }
    expect(server.requests.got.some((text) => text.startsWith('again '))).toBe(true)
    // The shared lane is back too: a new client's HELLO is answered.
    const fresh = as('alice')
    const freshReply = await fresh.openReplyPath()
    const freshAnswers = collector()
    freshReply.inbound.consume(freshAnswers.sink)
    const freshLanes = await fresh.connect('restart')
    await freshLanes.requests.send(bytes(`hello ${freshReply.inbound.address}`))
    expect(await freshAnswers.until(1)).toEqual(['challenge from one for nats:alice'])
    // And the old session's reply path still receives.
    server.transport.openPeer(reply.inbound.address).outbound.trySend(bytes('after restart'), 0)
    expect(await answers.until(2)).toContain('after restart')
  })

  it('closing releases everything, and a closed lane refuses to send', async () => {
    await instance('closing', 'one')
    const client = as('alice')
    const lanes = await client.connect('closing')
    await lanes.requests.close()
    expect(() => lanes.requests.trySend(bytes('x'), 0)).toThrow(/closed/)
    await client.close()
    await client.close()
    // The transport connects anew on next use.
    const again = await client.connect('closing')
    expect(again.requests.messageSize).toBe(MAX_PAYLOAD)
  })
})
