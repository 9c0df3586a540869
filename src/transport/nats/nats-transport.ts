/**
 * The NATS transport: mqrpc's lanes and reply paths as subjects of a NATS
 * broker, through the official client (nats.js v3), loaded on first use.
 *
 * - A service's lanes are `<prefix>.<service>` and `<prefix>.<service>.urgent`,
 *   subscribed by every instance in queue group `<prefix>.<service>`, so each
 *   HELLO lands on one instance. Each instance also subscribes its own
 *   `<prefix>.<service>.<instance>` and `.<instance>.urgent`.
 * - A client's reply path is `<inboxPrefix>.<random>`, by default under
 *   `_INBOX.<user>`, the prefix the broker reserves to the user (docs/NATS.md).
 * - Pinning: every message a server sends into a reply path carries, in the
 *   NATS `reply` field, `<instance>.<link>` (see `pinningMark`). The reply
 *   path hands it to the lanes of the same client, which from then on send
 *   to that instance's own subjects, so that a session's frames never reach
 *   another instance. Lanes pin once, to the first link they hear of after
 *   their first message (a new connection opens new lanes).
 * - No back-pressure: NATS has none per subject. A publish goes into the
 *   client's outbound buffer and to the socket; what bounds memory is the
 *   RPC layer's own limits (calls in flight, body sizes) and, on the
 *   broker's side, its slow-consumer limit (`max_pending`), which cuts a
 *   reader that falls behind. While the connection is down, nats.js keeps
 *   publishes in memory and sends them on reconnecting.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Authenticator, Msg, NatsConnection, NodeConnectionOptions, Subscription } from '@nats-io/transport-node'
import type {
  Inbound,
  Listener,
  ListenOptions,
  MessageSink,
  Outbound,
  OutboundSendOptions,
  PeerLink,
  ReplyPath,
  ServiceLanes,
  Transport,
  TransportStatus,
  VouchedIdentity,
} from '../transport.js'
import { loadNatsClient } from './load-client.js'
import { type Discovery, microName, serveDiscovery } from './micro-discovery.js'
import { NatsTransportError, natsError, natsStatusOf } from './nats-error.js'
import {
  DEFAULT_INBOX_ROOT,
  DEFAULT_SUBJECT_PREFIX,
  inboxUser,
  pinningMark,
  readPinningMark,
  ServiceSubjects,
  serviceAddressProblem,
  subjectProblem,
} from './subjects.js'

/** nats-server's default `max_payload`, used until the server has said its own. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024

/** Options of {@link natsTransport}. */
export type NatsTransportOptions = Readonly<{
  /** Broker URLs, e.g. `nats://127.0.0.1:4222`; defaults to that one. */
  servers?: string | readonly string[]
  /** User and password. */
  user?: string
  pass?: string
  /** A token, for brokers authenticating by token. */
  token?: string
  /** An nkey seed (`SU...`), for brokers authenticating by nkey. */
  nkeySeed?: string | Uint8Array
  /** A creds file (JWT and nkey seed), for brokers in operator mode. */
  credsFile?: string
  /** Any nats.js authenticator(s), for whatever else. */
  authenticator?: Authenticator | Authenticator[]
  /** The first token of every service subject; `mqrpc` by default. */
  subjectPrefix?: string
  /**
   * Where reply paths are made: `<inboxPrefix>.<random>`. Defaults to
   * `<inboxRoot>.<user>` when `user` is given, else `<inboxRoot>`. nats.js's
   * own request inboxes use it too.
   */
  inboxPrefix?: string
  /** The root of per-user inbox prefixes (`<inboxRoot>.<user>.>`); `_INBOX` by default. */
  inboxRoot?: string
  /**
   * On a server: refuse (PERMISSION_DENIED) clients whose reply subject is
   * not under a user's inbox prefix, instead of serving them as `nats:`
   * (nobody). Worth setting only where the broker reserves those prefixes.
   */
  requireUserInbox?: boolean
  /** How long `connect` waits for a listening instance to answer its probe; 2000 ms by default. */
  probeTimeoutMs?: number
  /** The connection's name, as the broker shows it; `mqrpc <pid>` by default. */
  name?: string
  /** Any other nats.js connection options (tls, reconnectTimeWait, ...); they win over the above. */
  natsOptions?: Partial<NodeConnectionOptions>
  /**
   * A connection of your own to use instead of opening one (its inbox
   * prefix should be `inboxPrefix`'s). `close()` leaves it open.
   */
  connection?: NatsConnection
}>

const hex = (bytes: number) => randomBytes(bytes).toString('hex')

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

/** Where messages arrive: one or more subscriptions feeding one sink. */
class NatsInbound implements Inbound {
  private sink: MessageSink | undefined
  private early: Uint8Array[] = []
  private readonly subscriptions: Subscription[] = []
  private closed = false
  /** The first subscription error (a permission violation), checked after a flush. */
  failure: Error | undefined

  constructor(
    readonly address: string,
    private readonly answerProbes: boolean,
    private readonly onMessage?: (msg: Msg) => void,
  ) {}

  subscribe(nc: NatsConnection, subject: string, queue?: string): Subscription {
    const subscription = nc.subscribe(subject, {
      ...(queue === undefined ? {} : { queue }),
      callback: (error, msg) => {
        if (error !== null) {
          this.failure ??= error
          return
        }
        this.receive(msg)
      },
    })
    this.subscriptions.push(subscription)
    return subscription
  }

  /** Drops the subscriptions matching `which`, leaving the others. */
  unsubscribe(which: (subscription: Subscription) => boolean): void {
    for (let i = this.subscriptions.length - 1; i >= 0; i--) {
      const subscription = this.subscriptions[i] as Subscription
      if (!which(subscription)) continue
      if (!subscription.isClosed()) subscription.unsubscribe()
      this.subscriptions.splice(i, 1)
    }
  }

  private receive(msg: Msg): void {
    if (this.closed) return
    // A frame is never empty: an empty message is `connect`'s probe.
    if (msg.data.byteLength === 0) {
      if (this.answerProbes && msg.reply !== undefined && msg.reply !== '') msg.respond()
      return
    }
    this.onMessage?.(msg)
    const sink = this.sink
    if (sink === undefined) {
      // Before `consume`: keep a copy (the client may reuse its buffer).
      if (this.early.length < 4096) this.early.push(msg.data.slice())
      return
    }
    try {
      sink(msg.data)
    } catch (error) {
      // Not into nats.js's parser: thrown where an uncaught error belongs.
      queueMicrotask(() => {
        throw error
      })
    }
  }

  consume(sink: MessageSink): void {
    if (this.sink !== undefined) throw new Error(`${this.address} already has a consumer`)
    this.sink = sink
    const early = this.early
    this.early = []
    for (const data of early) {
      if (this.closed) return
      sink(data)
    }
  }

  async close(): Promise<void> {
    this.closed = true
    this.early = []
    this.unsubscribe(() => true)
  }
}

/** Where this side writes: a subject (fixed, or a client lane's current target). */
class NatsOutbound implements Outbound {
  readonly waitingSends = 0
  private closed = false

  constructor(
    private readonly nc: NatsConnection,
    readonly address: string,
    private readonly target: () => string,
    private readonly reply: string | undefined,
    private readonly beforeSend?: (data: Uint8Array) => void,
  ) {}

  get messageSize(): number {
    return this.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD
  }

  private publish(data: Uint8Array): void {
    if (this.closed) throw new NatsTransportError('UNAVAILABLE', `${this.address} is closed`, { subject: this.address })
    if (this.nc.isClosed()) {
      throw new NatsTransportError('UNAVAILABLE', `the NATS connection is closed; cannot send to ${this.address}`, {
        subject: this.address,
      })
    }
    const size = this.messageSize
    if (data.byteLength > size) {
      throw new NatsTransportError(
        'RESOURCE_EXHAUSTED',
        `a message of ${data.byteLength} bytes does not fit the broker's max_payload of ${size} bytes (${this.address})`,
        { subject: this.address },
      )
    }
    this.beforeSend?.(data)
    const subject = this.target()
    try {
      this.nc.publish(subject, data, this.reply === undefined ? undefined : { reply: this.reply })
    } catch (error) {
      throw natsError(`publishing to ${subject}`, error, subject)
    }
  }

  trySend(data: Uint8Array, _priority: number): boolean {
    this.publish(data)
    return true
  }

  send(data: Uint8Array, _options?: OutboundSendOptions): Promise<void> {
    try {
      this.publish(data)
      return Promise.resolve()
    } catch (error) {
      return Promise.reject(error)
    }
  }

  async close(): Promise<void> {
    this.closed = true
  }
}

/** A client's lanes to one service; they pin to the instance their session lives on. */
class ClientLanes implements ServiceLanes {
  readonly requests: NatsOutbound
  readonly urgent: NatsOutbound
  /** The instance this session talks to, once known. */
  pinnedTo: string | undefined
  /** The reply path of the same client, once known. */
  paired: NatsReplyPath | undefined
  private sentFirst = false

  constructor(
    transport: NatsTransport,
    nc: NatsConnection,
    readonly subjects: ServiceSubjects,
    pairWith: NatsReplyPath | undefined,
  ) {
    if (pairWith !== undefined) this.pair(pairWith)
    const first = (data: Uint8Array) => {
      if (this.sentFirst) return
      this.sentFirst = true
      if (this.paired === undefined) {
        const found = transport.replyPathFor(data)
        if (found !== undefined) this.pair(found)
      }
    }
    this.requests = new NatsOutbound(
      nc,
      subjects.requests,
      () => (this.pinnedTo === undefined ? subjects.requests : subjects.instanceRequests(this.pinnedTo)),
      undefined,
      first,
    )
    this.urgent = new NatsOutbound(
      nc,
      subjects.urgent,
      () => (this.pinnedTo === undefined ? subjects.urgent : subjects.instanceUrgent(this.pinnedTo)),
      undefined,
      first,
    )
  }

  private pair(replyPath: NatsReplyPath): void {
    this.paired = replyPath
    replyPath.lanes.add(this)
  }

  /** Called by the paired reply path on the first message of a link it had not seen. */
  pin(instanceId: string): void {
    this.pinnedTo ??= instanceId
  }

  async close(): Promise<void> {
    this.paired?.lanes.delete(this)
    await this.requests.close()
    await this.urgent.close()
  }
}

/** A client's reply path. */
class NatsReplyPath implements ReplyPath {
  readonly inbound: NatsInbound
  readonly lanes = new Set<ClientLanes>()
  private readonly seenLinks = new Set<string>()

  constructor(
    private readonly transport: NatsTransport,
    readonly address: string,
  ) {
    this.inbound = new NatsInbound(address, false, (msg) => this.note(msg))
  }

  /** Reads the pinning mark before the message is handed on, so that the answer to it goes to the right instance. */
  private note(msg: Msg): void {
    const mark = readPinningMark(msg.reply)
    if (mark === undefined || this.seenLinks.has(mark.linkId)) return
    this.seenLinks.add(mark.linkId)
    if (this.seenLinks.size > 256) {
      const oldest = this.seenLinks.values().next().value
      if (oldest !== undefined) this.seenLinks.delete(oldest)
    }
    for (const lanes of this.lanes) lanes.pin(mark.instanceId)
  }

  async close(): Promise<void> {
    this.transport.forgetReplyPath(this)
    this.lanes.clear()
    await this.inbound.close()
  }
}

/** A service being listened on by this instance. */
class NatsListener implements Listener {
  readonly requests: NatsInbound
  readonly urgent: NatsInbound
  discovery: Discovery | undefined
  private shared: Subscription[] = []
  private withdrawn = false
  private closed = false

  constructor(
    private readonly transport: NatsTransport,
    readonly subjects: ServiceSubjects,
  ) {
    this.requests = new NatsInbound(subjects.requests, true)
    this.urgent = new NatsInbound(subjects.urgent, true)
  }

  subscribe(nc: NatsConnection, instanceId: string): void {
    const s = this.subjects
    this.shared = [this.requests.subscribe(nc, s.requests, s.queueGroup), this.urgent.subscribe(nc, s.urgent, s.queueGroup)]
    this.requests.subscribe(nc, s.instanceRequests(instanceId))
    this.urgent.subscribe(nc, s.instanceUrgent(instanceId))
  }

  get failure(): Error | undefined {
    return this.requests.failure ?? this.urgent.failure
  }

  withdraw(): void {
    if (this.withdrawn) return
    this.withdrawn = true
    // New clients go to other instances (or find none); sessions pinned to
    // this one still reach it on its own subjects until `close`.
    const shared = new Set(this.shared)
    this.requests.unsubscribe((sub) => shared.has(sub))
    this.urgent.unsubscribe((sub) => shared.has(sub))
    this.discovery?.close()
    this.discovery = undefined
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.withdraw()
    await this.requests.close()
    await this.urgent.close()
    this.transport.forgetListener(this)
  }
}

/** The NATS transport; made by {@link natsTransport}. */
export class NatsTransport implements Transport {
  readonly kind = 'nats'
  /** This instance's id, in its subjects and in discovery answers. */
  readonly instanceId = hex(11)
  readonly subjectPrefix: string
  readonly inboxPrefix: string
  readonly inboxRoot: string
  private connecting: Promise<NatsConnection> | undefined
  private nc: NatsConnection | undefined
  private readonly listeners = new Map<string, NatsListener>()
  private readonly replyPaths = new Map<string, NatsReplyPath>()
  private readonly encoder = new TextEncoder()

  constructor(private readonly options: NatsTransportOptions = {}) {
    this.subjectPrefix = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX
    this.inboxRoot = options.inboxRoot ?? DEFAULT_INBOX_ROOT
    this.inboxPrefix = options.inboxPrefix ?? (options.user === undefined ? this.inboxRoot : `${this.inboxRoot}.${options.user}`)
    const problem =
      subjectProblem(this.subjectPrefix, 'subjectPrefix') ??
      subjectProblem(this.inboxPrefix, 'inboxPrefix') ??
      subjectProblem(this.inboxRoot, 'inboxRoot')
    if (problem !== undefined) throw new NatsTransportError('INVALID_ARGUMENT', `natsTransport: ${problem}`)
  }

  /** The connection, opened on first use and shared by everything this transport makes. */
  connection(): Promise<NatsConnection> {
    if (this.options.connection !== undefined) {
      this.nc = this.options.connection
      return Promise.resolve(this.options.connection)
    }
    // A connection that closed for good (auth expired, closed by hand) is replaced.
    if (this.nc?.isClosed() === true) {
      this.nc = undefined
      this.connecting = undefined
    }
    this.connecting ??= this.open().then(
      (nc) => {
        this.nc = nc
        return nc
      },
      (error: unknown) => {
        this.connecting = undefined
        throw error
      },
    )
    return this.connecting
  }

  private async open(): Promise<NatsConnection> {
    const nats = await loadNatsClient()
    const o = this.options
    const authenticators: Authenticator[] = []
    if (o.nkeySeed !== undefined) {
      authenticators.push(nats.nkeyAuthenticator(typeof o.nkeySeed === 'string' ? this.encoder.encode(o.nkeySeed) : o.nkeySeed))
    }
    if (o.credsFile !== undefined) {
      let creds: Uint8Array
      try {
        creds = readFileSync(o.credsFile)
      } catch (error) {
        throw new NatsTransportError(
          'FAILED_PRECONDITION',
          `cannot read the NATS creds file ${o.credsFile}: ${(error as Error).message}`,
          {
            cause: error,
          },
        )
      }
      authenticators.push(nats.credsAuthenticator(creds))
    }
    if (o.authenticator !== undefined)
      authenticators.push(...(Array.isArray(o.authenticator) ? o.authenticator : [o.authenticator]))
    const servers = o.servers ?? 'nats://127.0.0.1:4222'
    const connectOptions: NodeConnectionOptions = {
      servers: typeof servers === 'string' ? servers : [...servers],
      name: o.name ?? `mqrpc ${process.pid}`,
      inboxPrefix: this.inboxPrefix,
      reconnect: true,
      maxReconnectAttempts: -1,
      ...(o.user === undefined ? {} : { user: o.user }),
      ...(o.pass === undefined ? {} : { pass: o.pass }),
      ...(o.token === undefined ? {} : { token: o.token }),
      ...(authenticators.length === 0 ? {} : { authenticator: authenticators.length === 1 ? authenticators[0] : authenticators }),
      ...o.natsOptions,
    } as NodeConnectionOptions
    try {
      return await nats.connect(connectOptions)
    } catch (error) {
      const where = Array.isArray(connectOptions.servers) ? connectOptions.servers.join(', ') : String(connectOptions.servers)
      const status = natsStatusOf(error) ?? 'UNAVAILABLE'
      throw new NatsTransportError(status, `cannot connect to the NATS broker at ${where}: ${(error as Error).message}`, {
        cause: error,
      })
    }
  }

  addressProblem(address: string): string | undefined {
    return serviceAddressProblem(address)
  }

  /** Why `replyAddress` cannot be a client's reply subject (a literal subject outside the service and system ones). */
  replyAddressProblem(replyAddress: string): string | undefined {
    const problem = subjectProblem(replyAddress, 'reply subject')
    if (problem !== undefined) return problem
    if (replyAddress.startsWith(`${this.subjectPrefix}.`) || replyAddress.startsWith('$')) {
      return `reply subject ${replyAddress} lies among service or system subjects; a reply path is an inbox`
    }
    return undefined
  }

  private checkAddress(address: string): ServiceSubjects {
    const problem = this.addressProblem(address)
    if (problem !== undefined) throw new NatsTransportError('INVALID_ARGUMENT', problem)
    return new ServiceSubjects(this.subjectPrefix, address)
  }

  /** Subscriptions are made; waits for the broker to have seen them and throws what it refused. */
  private async confirm(nc: NatsConnection, failure: () => Error | undefined, what: string, subject: string): Promise<void> {
    try {
      await nc.flush()
    } catch (error) {
      throw natsError(`subscribing to ${subject} (${what})`, error, subject)
    }
    const refused = failure()
    if (refused !== undefined) {
      const status: TransportStatus = natsStatusOf(refused) ?? 'UNKNOWN'
      throw new NatsTransportError(
        status,
        `the NATS broker refused to let this connection ${what}: ${refused.message}` +
          (status === 'PERMISSION_DENIED' ? " (check the user's subscribe permissions; docs/NATS.md)" : ''),
        { cause: refused, subject },
      )
    }
  }

  async listen(address: string, options: ListenOptions): Promise<Listener> {
    const subjects = this.checkAddress(address)
    const nc = await this.connection()
    if (this.listeners.has(subjects.service)) {
      throw new NatsTransportError(
        'ALREADY_EXISTS',
        `this NATS transport already listens on '${subjects.service}'; another instance of the same service needs a natsTransport() of its own`,
        { subject: subjects.requests },
      )
    }
    const listener = new NatsListener(this, subjects)
    this.listeners.set(subjects.service, listener)
    try {
      listener.subscribe(nc, this.instanceId)
      const discoveryErrors: Error[] = []
      listener.discovery = serveDiscovery(
        nc,
        {
          name: microName(options.advert, subjects.service),
          id: this.instanceId,
          subject: subjects.requests,
          queueGroup: subjects.queueGroup,
          metadata: { 'mqrpc.transport': 'nats', 'mqrpc.urgent_subject': subjects.urgent },
          advert: options.advert,
          started: new Date(),
        },
        (error) => discoveryErrors.push(error),
      )
      await this.confirm(nc, () => listener.failure ?? discoveryErrors[0], `listen on ${subjects.requests}`, subjects.requests)
    } catch (error) {
      await listener.close()
      throw error
    }
    return listener
  }

  /** @internal */
  forgetListener(listener: NatsListener): void {
    if (this.listeners.get(listener.subjects.service) === listener) this.listeners.delete(listener.subjects.service)
  }

  /**
   * Opens a service's lanes, after checking that some instance listens.
   * `replyAddress` (this transport's reply path of the same client) pairs
   * the lanes with it for pinning; without it the lanes find their reply
   * path by the address their first message (the HELLO) carries, or take
   * the only one there is.
   */
  async connect(address: string, replyAddress?: string): Promise<ServiceLanes> {
    const subjects = this.checkAddress(address)
    const nc = await this.connection()
    const timeout = this.options.probeTimeoutMs ?? 2000
    try {
      await nc.request(subjects.requests, new Uint8Array(0), { timeout })
    } catch (error) {
      const status = natsStatusOf(error)
      if (status === 'PERMISSION_DENIED') throw natsError(`probing ${subjects.requests}`, error, subjects.requests)
      const why =
        status === 'DEADLINE_EXCEEDED'
          ? `no server on NATS subject ${subjects.requests} answered within ${timeout} ms`
          : `no server is listening on NATS subject ${subjects.requests} (service '${subjects.service}'): start the server, or check the service name and subject prefix`
      throw new NatsTransportError('UNAVAILABLE', why, { cause: error, subject: subjects.requests })
    }
    const paired = replyAddress === undefined ? undefined : this.replyPaths.get(replyAddress)
    return new ClientLanes(this, nc, subjects, paired)
  }

  /** @internal The reply path whose address `hello` carries, or the only reply path there is. */
  replyPathFor(hello: Uint8Array): NatsReplyPath | undefined {
    const bytes = Buffer.from(hello.buffer, hello.byteOffset, hello.byteLength)
    for (const replyPath of this.replyPaths.values()) {
      if (bytes.indexOf(replyPath.address) !== -1) return replyPath
    }
    if (this.replyPaths.size === 1) return this.replyPaths.values().next().value
    return undefined
  }

  async openReplyPath(): Promise<ReplyPath> {
    const nc = await this.connection()
    const address = `${this.inboxPrefix}.${hex(12)}`
    const replyPath = new NatsReplyPath(this, address)
    this.replyPaths.set(address, replyPath)
    try {
      replyPath.inbound.subscribe(nc, address)
      await this.confirm(nc, () => replyPath.inbound.failure, `subscribe to its reply subject ${address}`, address)
    } catch (error) {
      await replyPath.close()
      throw error
    }
    return replyPath
  }

  /** @internal */
  forgetReplyPath(replyPath: NatsReplyPath): void {
    if (this.replyPaths.get(replyPath.address) === replyPath) this.replyPaths.delete(replyPath.address)
  }

  openPeer(replyAddress: string): PeerLink {
    const nc = this.nc
    if (nc === undefined || nc.isClosed()) {
      throw new NatsTransportError('UNAVAILABLE', `cannot answer ${replyAddress}: this NATS transport is not connected`)
    }
    const problem = this.replyAddressProblem(replyAddress)
    if (problem !== undefined) throw new NatsTransportError('INVALID_ARGUMENT', problem, { subject: replyAddress })
    const user = inboxUser(replyAddress, this.inboxRoot)
    const identity: VouchedIdentity = { principal: `nats:${user ?? ''}` }
    const outbound = new NatsOutbound(nc, replyAddress, () => replyAddress, pinningMark(this.instanceId, hex(8)))
    const distrust =
      user === undefined && this.options.requireUserInbox === true
        ? {
            status: 'PERMISSION_DENIED' as const,
            message:
              `reply subject ${replyAddress} is not under a user's inbox prefix (${this.inboxRoot}.<user>.>), ` +
              "and this server requires one (requireUserInbox): connect with a user, or with inboxPrefix set to your user's prefix",
          }
        : undefined
    return {
      outbound,
      identity,
      ...(distrust === undefined ? {} : { distrust }),
      alive: () => undefined,
    }
  }

  statusOf(error: unknown): TransportStatus | undefined {
    return natsStatusOf(error)
  }

  /** Closes what is still open and the connection (unless it was given); a later use connects anew. */
  async close(): Promise<void> {
    for (const listener of [...this.listeners.values()]) await listener.close()
    for (const replyPath of [...this.replyPaths.values()]) await replyPath.close()
    const connecting = this.connecting
    this.connecting = undefined
    this.nc = undefined
    if (connecting === undefined || this.options.connection !== undefined) return
    let nc: NatsConnection
    try {
      nc = await connecting
    } catch {
      return
    }
    if (nc.isClosed()) return
    // Let what was published (a GOODBYE, last replies) reach the broker,
    // but never hang on a broker that is gone.
    await Promise.race([nc.flush().catch(() => undefined), delay(1000)])
    await nc.close().catch(() => undefined)
  }
}

/**
 * A NATS transport for `createServer` and `createClient`
 * (`transport: natsTransport({ servers: 'nats://host:4222' })`). It connects
 * on first use; the connection is shared by everything made with it.
 */
export function natsTransport(options: NatsTransportOptions = {}): NatsTransport {
  return new NatsTransport(options)
}
