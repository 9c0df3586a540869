/**
 * Helpers of the security, bad-input and limits tests: in-process Sec
 * servers and clients that are closed after each test (before the queue
 * guard looks), raw peers, and a count of this process's descriptors on
 * a queue. Waiting (sleep, until, settle, rejection) is in wait.ts.
 * @module
 */
import { readdirSync, readlinkSync } from 'node:fs'
import { afterEach } from 'vitest'
import { type Client, type ClientOptions, createServer, type Handlers, type Server, type ServerOptions } from '../../src/index.js'
import { Sec, type SecService, secHandlers } from '../fixtures/sec-service.js'
import { RawPeer, type RawPeerOptions } from '../fixtures/sec-wire.js'
import { ClientPool } from './clients.js'
import { trackQueue, uniqueQueueName, useQueueGuard } from './queues.js'
import { SMALL_QUEUES } from './sizes.js'
import type { Child } from './spawn.js'

const servers = new Set<Server<SecService>>()
const clients = new ClientPool()
const peers = new Set<RawPeer>()
const children = new Set<Child>()

/** A Sec server on a fresh queue (small queues unless told), with every 'error' it emits collected. */
export async function startServer(
  options: Partial<ServerOptions> = {},
  handlers: Handlers<SecService> = secHandlers(),
): Promise<{ server: Server<SecService>; queue: string; errors: Error[] }> {
  const queue = options.queue ?? uniqueQueueName('sec')
  trackQueue(`${queue}.urgent`)
  const server = await createServer(Sec, handlers, { ...SMALL_QUEUES, ...options, queue })
  servers.add(server)
  const errors: Error[] = []
  server.on('error', (error) => errors.push(error))
  return { server, queue, errors }
}

/** A Sec client in this process, closed after the test. */
export function connect(queue: string, options: Partial<ClientOptions> = {}): Promise<Client<SecService>> {
  return clients.connect(Sec, queue, options)
}

/** A raw peer with a fresh, tracked reply queue, closed after the test. */
export function rawPeer(queue: string, options: RawPeerOptions = {}): RawPeer {
  const peer = RawPeer.create(queue, 'sec', uniqueQueueName('raw'), options)
  peers.add(peer)
  return peer
}

/** Asks a sec-client.ts child to close its clients after the test (before it is reaped). */
export function closeAfter(child: Child): Child {
  children.add(child)
  return child
}

/** Installs the queue guard and, before it runs, closes clients, raw peers, client children and servers. */
export function useSecHarness(): void {
  useQueueGuard()
  // Registered after the guard, so it runs first (after-hooks run as a stack).
  afterEach(async () => {
    await Promise.allSettled(
      [...children].map(async (child) => {
        if (!child.running) return
        child.process.kill('SIGCONT')
        child.send('close')
        await child.finish(10_000).catch(() => child.kill())
      }),
    )
    children.clear()
    await clients.closeAll()
    await Promise.allSettled([...peers].map((peer) => peer.close()))
    peers.clear()
    await Promise.allSettled([...servers].map((server) => server.close()))
    servers.clear()
  })
}

/** How many descriptors this process holds on the queue `name` (/proc/self/fd links read "/<name>"). */
export function descriptorsOn(name: string): number {
  let count = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === name) count++
    } catch {
      // closed while we looked
    }
  }
  return count
}

/** The server's sessions, open or still shaking hands (internal, for assertions). */
export function heldSessions(server: Server<SecService>): number {
  const table = (server as unknown as { sessions: { open: number; handshakes: number } }).sessions
  return table.open + table.handshakes
}

/** The server's $stats figures, as a client sees them. */
export async function stats(
  client: Client<SecService>,
): Promise<{ sessions: number; dropped: { malformed: number; unknownSession: number; overLimit: number } }> {
  return (await client.call('$stats', {})) as {
    sessions: number
    dropped: { malformed: number; unknownSession: number; overLimit: number }
  }
}
