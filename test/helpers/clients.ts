/**
 * In-process clients of the cross-process harnesses (rpc.ts, sec.ts,
 * fuzz-rpc.ts), made one way: connected by name, their reply queue tracked
 * by the queue guard, and closed by the harness after each test.
 * @module
 */
import { type AnyService, type Client, type ClientOptions, createClient } from '../../src/index.js'
import { trackQueue } from './queues.js'

/** The clients a harness made and closes after each test. */
export class ClientPool {
  private readonly clients = new Set<{ close(): Promise<void> }>()

  /** A client of `service` on `queue`, tracked and closed with the pool. */
  async connect<S extends AnyService>(service: S, queue: string, options: Partial<ClientOptions> = {}): Promise<Client<S>> {
    const client = await createClient(service, { ...options, queue })
    trackQueue(client.replyQueue)
    this.clients.add(client)
    return client
  }

  /** Closes every client made so far (each removes its reply queue). */
  async closeAll(): Promise<void> {
    const clients = [...this.clients]
    this.clients.clear()
    await Promise.allSettled(clients.map((client) => client.close()))
  }
}
