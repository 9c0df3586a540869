/**
 * The harness of the in-process tests over the in-memory transport: a fresh
 * MemoryNetwork per test, Mem servers and clients made on it under any
 * principal, closed after the test, and a check that nothing they made is
 * left on the network (the in-memory twin of the queue guard). Gates let a
 * test stop a side from reading, so that its endpoint fills up for real.
 * @module
 */
import { afterEach, beforeEach, expect } from 'vitest'
import {
  type Client,
  type ClientOptions,
  createClient,
  createServer,
  type Handlers,
  MemoryNetwork,
  memoryTransport,
  type Server,
  type ServerOptions,
} from '../../src/index.js'
import type { Inbound, MessageSink, Transport } from '../../src/transport/transport.js'
import { Held, Mem, type MemService } from '../fixtures/memory-service.js'

/** The address every test's server listens on (each test has a network of its own). */
export const MEM_ADDRESS = 'mem.service'

/** Stops and restarts reading of the inbounds a gated transport hands out. */
export class Gate {
  private readonly inbounds: { inner: Inbound; sink: MessageSink | undefined }[] = []
  private open = true

  /** Messages stay in their endpoint from now on; it fills up and its senders wait. */
  pause(): void {
    this.open = false
    // An endpoint without a consumer keeps its messages (and does not deliver them).
    for (const entry of this.inbounds) entry.inner.consume(undefined as unknown as MessageSink)
  }

  /** Delivers what waited, and everything after. */
  resume(): void {
    this.open = true
    for (const entry of this.inbounds) if (entry.sink !== undefined) entry.inner.consume(entry.sink)
  }

  /** @internal */
  wrap(inner: Inbound): Inbound {
    const entry: { inner: Inbound; sink: MessageSink | undefined } = { inner, sink: undefined }
    this.inbounds.push(entry)
    return {
      address: inner.address,
      consume: (sink) => {
        entry.sink = sink
        if (this.open) inner.consume(sink)
      },
      readNow: () => {
        if (this.open) inner.readNow?.()
      },
      close: () => inner.close(),
    }
  }
}

/** `inner`, with every lane it listens on and every reply path it opens behind `gate`. */
export function gated(inner: Transport, gate: Gate): Transport {
  return {
    ...inner,
    kind: inner.kind,
    listen: async (address, options) => {
      const listener = await inner.listen(address, options)
      return {
        requests: gate.wrap(listener.requests),
        urgent: gate.wrap(listener.urgent),
        withdraw: () => listener.withdraw(),
        close: () => listener.close(),
      }
    },
    openReplyPath: async (options) => {
      const path = await inner.openReplyPath(options)
      return { inbound: gate.wrap(path.inbound), close: () => path.close() }
    },
    connect: (address, reply) => inner.connect(address, reply),
    openPeer: (reply) => inner.openPeer(reply),
    addressProblem: (address) => inner.addressProblem(address),
    statusOf: (error) => inner.statusOf(error),
  }
}

/** A server of the harness, with what its handlers saw and every 'error' it emitted. */
export interface MemServer {
  readonly server: Server<MemService>
  readonly held: Held
  readonly errors: Error[]
}

/** Options of {@link MemHarness.server}. */
export type MemServerOptions = Partial<ServerOptions> &
  Readonly<{ principal?: string; gate?: Gate; handlers?: (held: Held) => Handlers<MemService> }>

/** Options of {@link MemHarness.client}. */
export type MemClientOptions = Partial<ClientOptions> & Readonly<{ principal?: string; gate?: Gate }>

/** What a test file gets from {@link useMemoryHarness}. */
export interface MemHarness {
  /** This test's network. */
  readonly network: MemoryNetwork
  /** A transport on this test's network, vouching for `principal`. */
  transport(principal?: string): Transport
  /** A Mem server on {@link MEM_ADDRESS} (unless told), closed after the test. */
  server(options?: MemServerOptions): Promise<MemServer>
  /** A Mem client of {@link MEM_ADDRESS} (unless told), closed after the test. */
  client(options?: MemClientOptions): Promise<Client<MemService>>
  /** Runs `step` after the test, before servers and clients are closed. */
  atCleanup(step: () => Promise<void>): void
}

/** Installs the per-test network, the closing of what the test made, and the leftover check. */
export function useMemoryHarness(): MemHarness {
  let network = new MemoryNetwork()
  let steps: (() => Promise<void>)[] = []
  let clients: Client<MemService>[] = []
  let servers: Server<MemService>[] = []
  beforeEach(() => {
    network = new MemoryNetwork()
  })
  afterEach(async () => {
    for (const step of steps.reverse()) await step().catch(() => undefined)
    await Promise.allSettled(clients.map((client) => client.close()))
    await Promise.allSettled(servers.map((server) => server.close()))
    steps = []
    clients = []
    servers = []
    expect(network.addresses, 'addresses left on the memory network by this test').toEqual([])
  })
  const transportOf = (principal = 'memory:test', gate?: Gate): Transport => {
    const transport = memoryTransport({ network, principal })
    return gate === undefined ? transport : gated(transport, gate)
  }
  return {
    get network() {
      return network
    },
    transport: (principal) => transportOf(principal),
    async server(options = {}) {
      const { principal, gate, handlers, ...rest } = options
      const held = new Held()
      const server = await createServer(Mem, handlers?.(held) ?? held.handlers(), {
        queue: MEM_ADDRESS,
        ...rest,
        transport: transportOf(principal ?? 'memory:server', gate),
      })
      servers.push(server)
      const errors: Error[] = []
      server.on('error', (error) => errors.push(error))
      return { server, held, errors }
    },
    async client(options = {}) {
      const { principal, gate, ...rest } = options
      const client = await createClient(Mem, {
        queue: MEM_ADDRESS,
        connectTimeoutMs: 10_000,
        ...rest,
        transport: transportOf(principal, gate),
      })
      clients.push(client)
      return client
    },
    atCleanup(step) {
      steps.push(step)
    },
  }
}
