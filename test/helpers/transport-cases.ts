/**
 * The transports the shared RPC suite runs on (test/rpc/rpc-transports.test.ts),
 * each as one `TransportCase`: how to start what it needs (a real
 * nats-server for NATS, nothing for POSIX queues), how to name a service,
 * which arguments make a fixture process use it, and a transport object for
 * this process's own clients. Lab servers and clients as child processes and
 * in-process clients are made through the case, and closed after each test
 * by `useTransportHarness`.
 * @module
 */
import { spawn } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach } from 'vitest'
import { type Client, type ClientOptions, createClient } from '../../src/index.js'
import type { AnyService } from '../../src/rpc/service.js'
import { type NatsTransport, natsTransport } from '../../src/transport/nats/index.js'
import type { Transport } from '../../src/transport/transport.js'
import { Lab } from '../fixtures/rpc-service.js'
import { type NatsBroker, startNatsBroker } from './nats-broker.js'
import { trackQueue, useQueueGuard } from './queues.js'
import { ClientProc, ServerProc, START_MS } from './rpc.js'
import { SMALL_QUEUES } from './sizes.js'
import { Child, spawnFixture } from './spawn.js'

/** Who runs a process: the broker users of test/helpers/nats-broker.ts (on queues, all are this uid). */
export type Who = 'server' | 'alice' | 'bob'

/** One transport of the shared suite. */
export interface TransportCase {
  readonly name: 'mq' | 'nats'
  /** The largest message: bodies larger than this travel as several frames. */
  readonly messageSize: number
  /** Starts what the transport needs; in beforeAll. */
  setup(): Promise<void>
  /** Stops it; in afterAll. */
  teardown(): Promise<void>
  /** A fresh service address. `shared`: not tracked by the per-test queue guard (a server that outlives a test). */
  address(tag: string, shared?: boolean): string
  /** Arguments that make a fixture process use this transport as `who`. */
  fixtureArgs(who: Who): string[]
  /** A transport for this process's own clients as `who` (undefined: the default), closed after the test. */
  transport(who: Who): Transport | undefined
  /** The principal a server on this transport vouches for, for a client run as `who`. */
  principal(who: Who): string
  /** The broker, on NATS. */
  readonly broker?: NatsBroker
}

let counter = 0
const uniqueTag = (tag: string) => `${process.pid}-${++counter}-${tag.replace(/[^A-Za-z0-9_-]/g, '_')}`
const natsTransports = new Set<NatsTransport>()

/** POSIX message queues, the default transport. */
export function mqCase(): TransportCase {
  const uid = process.getuid?.() ?? 0
  const gid = process.getgid?.() ?? 0
  return {
    name: 'mq',
    messageSize: SMALL_QUEUES.messageSize,
    setup: async () => {},
    teardown: async () => {},
    address(tag, shared = false) {
      const queue = `/mqt-${uniqueTag(tag)}`
      if (!shared) {
        trackQueue(queue)
        trackQueue(`${queue}.urgent`)
      }
      return queue
    },
    fixtureArgs: () => [],
    transport: () => undefined,
    principal: () => `unix:${uid}:${gid}`,
  }
}

/** NATS, through a broker of its own with a small max_payload, so that bodies are fragmented. */
export function natsCase(maxPayload = 8192): TransportCase & { readonly broker: NatsBroker } {
  let broker: NatsBroker | undefined
  const running = () => {
    if (broker === undefined) throw new Error('the test broker is not running (setup() first)')
    return broker
  }
  return {
    name: 'nats',
    messageSize: maxPayload,
    get broker() {
      return running()
    },
    async setup() {
      broker = await startNatsBroker({ maxPayload })
    },
    async teardown() {
      await broker?.stop()
    },
    address: (tag) => `lab-${uniqueTag(tag)}`,
    fixtureArgs(who) {
      const b = running()
      return ['--nats', b.url, '--nats-user', b.users[who].user, '--nats-pass', b.users[who].pass]
    },
    transport(who) {
      const b = running()
      const transport = natsTransport({ servers: b.url, ...b.users[who], natsOptions: { reconnectTimeWait: 100 } })
      natsTransports.add(transport)
      return transport
    },
    principal: (who) => `nats:${who}`,
  }
}

const servers = new Set<ServerProc>()
const clientProcs = new Set<ClientProc>()
const clients = new Set<Client<AnyService>>()

/** Spawns a lab server of `tc` on `address` as `who`; resolves on its ready (or startError) line. */
export async function spawnLabServer(
  tc: TransportCase,
  address: string,
  options: Readonly<Record<string, unknown>> = {},
  who: Who = 'server',
): Promise<ServerProc> {
  const args = [address, JSON.stringify({ ...SMALL_QUEUES, ...options }), ...tc.fixtureArgs(who)]
  const server = new ServerProc(spawnFixture('rpc-server.ts', args), address)
  servers.add(server)
  await server.waitFor({}, START_MS, (line) => line.event === 'ready' || line.event === 'startError')
  return server
}

/**
 * A lab server outside the per-test reaper, for every test of a describe
 * block: the caller closes it in afterAll (and, on queues, checks its queues).
 */
export async function spawnSharedLabServer(
  tc: TransportCase,
  address: string,
  options: Readonly<Record<string, unknown>> = {},
): Promise<ServerProc> {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
  const argv = ['--import', 'tsx', join(root, 'test/fixtures/rpc-server.ts'), address]
  argv.push(JSON.stringify({ ...SMALL_QUEUES, ...options }), ...tc.fixtureArgs('server'))
  const child = new Child(`shared ${tc.name} server ${address}`, spawn(process.execPath, argv, { cwd: root }))
  const server = new ServerProc(child, address)
  const ready = await server.waitFor({}, START_MS, (line) => line.event === 'ready' || line.event === 'startError')
  if (ready.event !== 'ready') throw new Error(`shared server did not start: ${JSON.stringify(ready)}`)
  return server
}

/** Spawns a lab client process of `tc` as `who` and waits until it is connected. */
export async function spawnLabClient(
  tc: TransportCase,
  address: string,
  options: Readonly<Record<string, unknown>> = {},
  who: Who = 'alice',
): Promise<ClientProc> {
  const client = new ClientProc(spawnFixture('rpc-client.ts', [address, JSON.stringify(options), ...tc.fixtureArgs(who)]))
  clientProcs.add(client)
  const ready = await client.waitFor({}, START_MS, (line) => line.event === 'ready' || line.event === 'connectError')
  if (ready.event !== 'ready') throw new Error(`client did not connect: ${JSON.stringify(ready)}`)
  client.replyQueue = tc.name === 'mq' ? trackQueue(ready.replyQueue as string) : String(ready.replyQueue)
  return client
}

/** A client of `service` (the lab by default) in this process, as `who`, closed after the test. */
export async function connectLab<S extends AnyService = typeof Lab>(
  tc: TransportCase,
  address: string,
  options: Partial<ClientOptions> = {},
  who: Who = 'alice',
  service: S = Lab as unknown as S,
): Promise<Client<S>> {
  const transport = tc.transport(who)
  const client = await createClient(service, { ...options, queue: address, ...(transport === undefined ? {} : { transport }) })
  if (tc.name === 'mq') trackQueue(client.replyQueue)
  clients.add(client as unknown as Client<AnyService>)
  return client
}

/**
 * Installs the queue guard and, to run before it, an afterEach that closes
 * this process's clients, the client processes, the servers (cleanly, so
 * that each removes its queues) and the NATS transports of this process.
 */
export function useTransportHarness(): void {
  useQueueGuard()
  afterEach(async () => {
    await Promise.allSettled([...clients].map((client) => client.close()))
    clients.clear()
    await Promise.allSettled([...clientProcs].map((proc) => proc.close()))
    clientProcs.clear()
    await Promise.allSettled([...servers].map((proc) => proc.close()))
    servers.clear()
    await Promise.allSettled([...natsTransports].map((transport) => transport.close()))
    natsTransports.clear()
  })
}
