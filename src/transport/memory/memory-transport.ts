/**
 * An in-process transport: the same interface as POSIX queues, with bounded
 * endpoints, priorities and back-pressure, but no kernel. It makes the
 * client, the server, the handshake and flow control testable in one
 * process; the cross-process suites prove the real transports.
 * @module
 */
import type {
  Inbound,
  Listener,
  ListenOptions,
  MessageSink,
  Outbound,
  OutboundSendOptions,
  PeerLink,
  ReplyPath,
  ReplyPathOptions,
  ServiceLanes,
  Transport,
  TransportStatus,
} from '../transport.js'

/** Slots of an endpoint when none are asked for. */
export const DEFAULT_MEMORY_MAX_MESSAGES = 10
/** Largest message of an endpoint when none is asked for. */
export const DEFAULT_MEMORY_MESSAGE_SIZE = 8192

/** An error of the in-memory transport, carrying the status it stands for. */
export class MemoryTransportError extends Error {
  override readonly name = 'MemoryTransportError'
  constructor(
    readonly status: TransportStatus,
    message: string,
  ) {
    super(message)
  }
}

interface Waiting {
  readonly data: Uint8Array
  readonly priority: number
  resolve(): void
  reject(error: Error): void
  timer: NodeJS.Timeout | undefined
}

/** One address: a bounded queue of messages, delivered on a later turn of the event loop. */
class Endpoint {
  private readonly messages: { data: Uint8Array; priority: number }[] = []
  private readonly waiting: Waiting[] = []
  private sink: MessageSink | undefined
  private scheduled = false
  closed = false

  constructor(
    readonly address: string,
    readonly owner: string,
    readonly maxMessages: number,
    readonly messageSize: number,
  ) {}

  get waitingSends(): number {
    return this.waiting.length
  }

  trySend(data: Uint8Array, priority: number): boolean {
    this.assertUsable(data)
    if (this.messages.length >= this.maxMessages) return false
    this.enqueue(data, priority)
    return true
  }

  send(data: Uint8Array, options: OutboundSendOptions): Promise<void> {
    try {
      if (this.waiting.length === 0 && this.trySend(data, options.priority ?? 0)) return Promise.resolve()
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise((resolve, reject) => {
      const entry: Waiting = { data, priority: options.priority ?? 0, resolve, reject, timer: undefined }
      if (options.timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(entry), 1)
          reject(new MemoryTransportError('DEADLINE_EXCEEDED', `${this.address} stayed full for ${options.timeoutMs} ms`))
        }, options.timeoutMs)
      }
      this.waiting.push(entry)
    })
  }

  consume(sink: MessageSink): void {
    this.sink = sink
    this.schedule()
  }

  /** Hands every waiting message to the consumer now. */
  deliver(): void {
    this.scheduled = false
    const sink = this.sink
    if (sink === undefined || this.closed) return
    for (let message = this.messages.shift(); message !== undefined; message = this.messages.shift()) {
      this.admitWaiting()
      sink(message.data)
      if (this.closed) return
    }
  }

  close(reason: string): void {
    if (this.closed) return
    this.closed = true
    this.sink = undefined
    this.messages.length = 0
    for (const entry of this.waiting.splice(0)) {
      clearTimeout(entry.timer)
      entry.reject(new MemoryTransportError('UNAVAILABLE', reason))
    }
  }

  private assertUsable(data: Uint8Array): void {
    if (this.closed) throw new MemoryTransportError('UNAVAILABLE', `${this.address} is gone`)
    if (data.byteLength > this.messageSize) {
      throw new MemoryTransportError(
        'INVALID_ARGUMENT',
        `message of ${data.byteLength} bytes is larger than ${this.address}'s messageSize ${this.messageSize}`,
      )
    }
  }

  private enqueue(data: Uint8Array, priority: number): void {
    // Copied: the sender may reuse its buffer, as it may with a kernel queue.
    const message = { data: Uint8Array.from(data), priority }
    // Higher priority first, arrival order within one priority, as mq does.
    let at = this.messages.length
    while (at > 0 && (this.messages[at - 1] as { priority: number }).priority < priority) at--
    this.messages.splice(at, 0, message)
    this.schedule()
  }

  private admitWaiting(): void {
    while (this.waiting.length > 0 && this.messages.length < this.maxMessages) {
      const entry = this.waiting.shift() as Waiting
      clearTimeout(entry.timer)
      this.enqueue(entry.data, entry.priority)
      entry.resolve()
    }
  }

  private schedule(): void {
    if (this.scheduled || this.sink === undefined) return
    this.scheduled = true
    setImmediate(() => this.deliver())
  }
}

/** The addresses that in-memory transports of one test share, like one machine's queues. */
export class MemoryNetwork {
  private readonly endpoints = new Map<string, Endpoint>()
  private nextReply = 0

  /** Addresses in use now (a test checks that nothing is left behind). */
  get addresses(): string[] {
    return [...this.endpoints.keys()]
  }

  /** @internal */
  create(address: string, owner: string, maxMessages: number, messageSize: number): Endpoint {
    const endpoint = new Endpoint(address, owner, maxMessages, messageSize)
    this.endpoints.set(address, endpoint)
    return endpoint
  }

  /** @internal */
  find(address: string): Endpoint | undefined {
    return this.endpoints.get(address)
  }

  /** @internal Removes the address when it still denotes `endpoint`. */
  remove(endpoint: Endpoint): void {
    if (this.endpoints.get(endpoint.address) === endpoint) this.endpoints.delete(endpoint.address)
  }

  /** @internal */
  replyAddress(): string {
    this.nextReply++
    return `memory.reply.${this.nextReply}`
  }
}

function inbound(endpoint: Endpoint, close: () => void): Inbound {
  return {
    address: endpoint.address,
    messageSize: endpoint.messageSize,
    consume: (sink) => endpoint.consume(sink),
    readNow: () => endpoint.deliver(),
    close: async () => close(),
  }
}

function outbound(endpoint: Endpoint): Outbound {
  let closed = false
  return {
    address: endpoint.address,
    messageSize: endpoint.messageSize,
    get waitingSends() {
      return endpoint.waitingSends
    },
    trySend(data, priority) {
      if (closed) throw new MemoryTransportError('UNAVAILABLE', `outbound to ${endpoint.address} was closed`)
      return endpoint.trySend(data, priority)
    },
    send(data, options = {}) {
      if (closed) return Promise.reject(new MemoryTransportError('UNAVAILABLE', `outbound to ${endpoint.address} was closed`))
      return endpoint.send(data, options)
    },
    close: async () => {
      closed = true
    },
  }
}

/** Options of {@link memoryTransport}. */
export type MemoryTransportOptions = Readonly<{
  /** The addresses shared with other transports of the test. Defaults to one shared by every default transport. */
  network?: MemoryNetwork
  /** Who this side is, as peers are told. Defaults to 'memory:anonymous'. */
  principal?: string
}>

const sharedNetwork = new MemoryNetwork()

/** An in-process transport: for tests of the RPC layer without a kernel. */
export function memoryTransport(options: MemoryTransportOptions = {}): Transport {
  const network = options.network ?? sharedNetwork
  const principal = options.principal ?? 'memory:anonymous'
  const lookup = (address: string): Endpoint => {
    const endpoint = network.find(address)
    if (endpoint === undefined || endpoint.closed) {
      throw new MemoryTransportError('UNAVAILABLE', `nobody listens on ${address}`)
    }
    return endpoint
  }
  return {
    kind: 'memory',

    async listen(address: string, listenOptions: ListenOptions): Promise<Listener> {
      const urgentAddress = `${address}.urgent`
      if (network.find(address) !== undefined && (await listenOptions.isServed(address))) {
        throw new MemoryTransportError('ALREADY_EXISTS', `a live server already answers on ${address}`)
      }
      const maxMessages = listenOptions.maxMessages ?? DEFAULT_MEMORY_MAX_MESSAGES
      const messageSize = listenOptions.messageSize ?? DEFAULT_MEMORY_MESSAGE_SIZE
      const requests = network.create(address, principal, maxMessages, messageSize)
      const urgent = network.create(urgentAddress, principal, maxMessages, messageSize)
      const withdraw = () => {
        network.remove(requests)
        network.remove(urgent)
      }
      return {
        requests: inbound(requests, () => requests.close(`${address} was closed`)),
        urgent: inbound(urgent, () => urgent.close(`${urgentAddress} was closed`)),
        withdraw,
        async close() {
          withdraw()
          requests.close(`${address} was closed`)
          urgent.close(`${urgentAddress} was closed`)
        },
      }
    },

    async connect(address: string): Promise<ServiceLanes> {
      return { requests: outbound(lookup(address)), urgent: outbound(lookup(`${address}.urgent`)) }
    },

    async openReplyPath(replyOptions: ReplyPathOptions = {}): Promise<ReplyPath> {
      const endpoint = network.create(
        network.replyAddress(),
        principal,
        replyOptions.maxMessages ?? DEFAULT_MEMORY_MAX_MESSAGES,
        replyOptions.messageSize ?? DEFAULT_MEMORY_MESSAGE_SIZE,
      )
      const close = () => {
        network.remove(endpoint)
        endpoint.close(`${endpoint.address} was closed`)
      }
      return { inbound: inbound(endpoint, close), close: async () => close() }
    },

    openPeer(replyAddress: string): PeerLink {
      const endpoint = lookup(replyAddress)
      return {
        outbound: outbound(endpoint),
        identity: { principal: endpoint.owner },
        alive: () => (endpoint.closed ? false : undefined),
        reclaim: () => {
          network.remove(endpoint)
          endpoint.close(`${replyAddress} was reclaimed`)
        },
      }
    },

    addressProblem(address: string) {
      return address.length === 0 ? 'an address must not be empty' : undefined
    },

    statusOf(error: unknown) {
      return error instanceof MemoryTransportError ? error.status : undefined
    },
  }
}
