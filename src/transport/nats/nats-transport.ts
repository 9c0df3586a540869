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
import type { NatsConnection } from '@nats-io/transport-node'
import type {
  Listener,
  ListenOptions,
  PeerLink,
  ReplyPath,
  ServiceLanes,
  Transport,
  TransportStatus,
  VouchedIdentity,
} from '../transport.js'
import { microName, serveDiscovery } from './micro-discovery.js'
import { NatsTransportError, natsError, natsStatusOf } from './nats-error.js'
import { ClientLanes } from './nats-lanes.js'
import { NatsListener } from './nats-listener.js'
import { NatsOutbound } from './nats-outbound.js'
import { NatsReplyPath } from './nats-reply-path.js'
import type { NatsTransportOptions } from './nats-transport-options.js'
import { openConnection } from './open-connection.js'
import {
  DEFAULT_INBOX_ROOT,
  DEFAULT_SUBJECT_PREFIX,
  inboxUser,
  pinningMark,
  ServiceSubjects,
  serviceAddressProblem,
  subjectProblem,
} from './subjects.js'

export { DEFAULT_MAX_PAYLOAD } from './nats-outbound.js'
export type { NatsTransportOptions } from './nats-transport-options.js'

const hex = (bytes: number) => randomBytes(bytes).toString('hex')

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
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
    this.connecting ??= openConnection(this.options, this.inboxPrefix).then(
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
