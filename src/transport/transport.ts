/**
 * The seam between the RPC layer and whatever carries its frames.
 *
 * `src/rpc` and `src/protocol` speak only these interfaces; each transport
 * (POSIX queues in `mq/`, in-process in `memory/`, a NATS broker in `nats/`)
 * implements them in its own folder and keeps its peculiarities there: names,
 * modes, kernel errors, reaping. A transport moves whole messages (each one
 * or more frames, see docs/PROTOCOL.md); it never looks inside them.
 *
 * Internal: not exported from the public index. Users pick a transport with
 * the `transport` option; they do not implement one.
 * @module
 */

/**
 * Status code names a transport may map its errors to, spelled as in
 * `Code` (gRPC's names), so that this layer needs nothing from above it.
 */
export type TransportStatus =
  | 'CANCELLED'
  | 'UNKNOWN'
  | 'INVALID_ARGUMENT'
  | 'DEADLINE_EXCEEDED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'UNAVAILABLE'
  | 'INTERNAL'

/** Called with each whole message that arrives; the bytes are valid only during the call. */
export type MessageSink = (data: Uint8Array) => void

/** Where messages arrive: a lane of a service, or a client's reply path. */
export interface Inbound {
  /** The address peers write to, as shown in messages and errors. */
  readonly address: string
  /**
   * Largest message that arrives here, where the path knows it (a queue's
   * mq_msgsize, a broker's max_payload). A client sizes its streams'
   * default window to it: the more elements a message holds, the more must
   * be in flight to keep the path full.
   */
  readonly messageSize?: number | undefined
  /** Hands every message to `sink`, now and as they come; one consumer per inbound. */
  consume(sink: MessageSink): void
  /**
   * Reads what is waiting now, synchronously, into the consumer. Offered
   * where the transport can (a queue descriptor can be read without
   * waiting); the scheduler uses it to see urgent calls between bulk ones.
   */
  readNow?(): void
  /**
   * Whether the consumer expects messages one at a time now (a client with
   * one call outstanding and no stream). A transport that reads what waits
   * in batches may then read one message per wake-up and leave the check
   * for more to its poll (on POSIX queues, the read that finds the queue
   * empty is a system call a round trip saves). A hint, never a limit:
   * nothing waiting is left unread.
   */
  expectOneAtATime?(one: boolean): void
  /** Stops delivering and releases the inbound; removing its address is `Listener.close`'s or `ReplyPath.close`'s. */
  close(): Promise<void>
}

/** Options of {@link Outbound.send}. */
export type OutboundSendOptions = Readonly<{
  /** Higher goes first where the transport orders messages (mq priority). Defaults to 0. */
  priority?: number
  /** How long to wait for room before failing with a DEADLINE_EXCEEDED error. Defaults to waiting forever. */
  timeoutMs?: number
}>

/** Where this side writes: a service's lane, or a client's reply path. */
export interface Outbound {
  /** The address written to, as shown in messages and errors. */
  readonly address: string
  /** Largest message this endpoint carries, in bytes. */
  readonly messageSize: number
  /** Sends waiting for room; while any wait, a new message must queue behind them. */
  readonly waitingSends: number
  /** Sends now or not at all: false when there is no room. Throws when the endpoint is gone. */
  trySend(data: Uint8Array, priority: number): boolean
  /** Sends, waiting for room (back-pressure); rejects when the endpoint is gone or the wait times out. */
  send(data: Uint8Array, options?: OutboundSendOptions): Promise<void>
  /** Releases this side's handle; the endpoint itself stays. */
  close(): Promise<void>
}

/** Who is on the other end, as the transport vouches for it. */
export interface VouchedIdentity {
  /**
   * The transport's name for the peer, checked by the transport, never
   * claimed by the peer: `unix:<uid>:<gid>` on POSIX queues, `nats:<user>`
   * on a broker, `memory:<name>` in process.
   */
  readonly principal: string
  /** The peer's uid, where the kernel knows it. */
  readonly uid?: number
  /** The peer's gid, where the kernel knows it. */
  readonly gid?: number
}

/** A client's reply path as the server holds it. */
export interface PeerLink {
  /** Writes to the client's reply path. */
  readonly outbound: Outbound
  /** Who owns the reply path. */
  readonly identity: VouchedIdentity
  /**
   * Why the transport does not trust this reply path, when it does not
   * (on POSIX queues: a mode that lets others read replies). The server
   * answers with a refusal and closes the link.
   */
  readonly distrust?: Readonly<{ status: TransportStatus; message: string }>
  /**
   * Whether the process that claims to own the reply path still lives,
   * where the transport can tell; undefined when it cannot. `claimedPid`
   * is the client's word (its HELLO); it only speeds reaping up.
   */
  alive?(claimedPid: number | undefined): boolean | undefined
  /**
   * Removes the reply path of a client that died without removing it, but
   * only when it is still the path this link opened (same owner, same
   * object); anything else is left alone.
   */
  reclaim?(): void
}

/** What {@link Transport.listen} needs to know. */
export type ListenOptions = Readonly<{
  /**
   * Asks whether a live server already answers on `address` (the RPC layer
   * probes with a HELLO). A transport whose addresses can be left behind by
   * a crashed server (POSIX queues) takes a stale one over only when this
   * says no; a transport that shares addresses (a broker's queue group) may
   * never ask.
   */
  isServed: (address: string) => Promise<boolean>
  /** Permission bits of the lanes, where the transport has them. */
  mode?: number
  /** Slots per lane, where the transport has them. */
  maxMessages?: number
  /** Largest message per lane, where the transport chooses it. */
  messageSize?: number
  /**
   * What the service is, for transports that advertise services to their
   * network's own tooling (NATS answers `$SRV.PING|INFO|STATS` with it);
   * others ignore it.
   */
  advert?: ServiceAdvert
}>

/**
 * Facts about a service that a transport may publish for discovery. The
 * server passes its methods as `endpoints` and its schema fingerprint in
 * `metadata`; `stats` is read each time someone asks.
 */
export type ServiceAdvert = Readonly<{
  /** The service's name. */
  name: string
  /** Its version (semver), where it has one. */
  version?: string
  description?: string
  /** Free-form facts, e.g. `{ fingerprint }`. */
  metadata?: Readonly<Record<string, string>>
  /** The method names. */
  endpoints: readonly string[]
  /** Figures per method name, read when asked. */
  stats?: () => Readonly<Record<string, Readonly<{ requests: number; errors: number; processingTimeMs: number }>>>
}>

/** A service's two lanes, being listened on. */
export interface Listener {
  /** The request lane: handshakes and bulk calls. */
  readonly requests: Inbound
  /** The urgent lane: urgent calls, which must not wait behind bulk ones. */
  readonly urgent: Inbound
  /**
   * Reads what is waiting now on either lane, the urgent one first, as each
   * lane's `readNow` would; offered where the transport can tell which
   * lanes have something with one check (a `poll()` of both queues), so
   * that the scheduler's reads between bulk calls cost one system call
   * when both lanes are empty, not two.
   */
  readNow?(): void
  /** Removes the service's addresses, so new clients fail fast and a new server may start; idempotent. */
  withdraw(): void
  /** Withdraws, stops delivering and releases the lanes. */
  close(): Promise<void>
}

/** The two lanes a client writes to. */
export interface ServiceLanes {
  readonly requests: Outbound
  readonly urgent: Outbound
}

/** What {@link Transport.openReplyPath} may be told. */
export type ReplyPathOptions = Readonly<{
  /** Slots of the reply path, where the transport has them. */
  maxMessages?: number
  /** Largest message of the reply path, where the transport chooses it. */
  messageSize?: number
}>

/** A client's private reply path. */
export interface ReplyPath {
  /** Replies arrive here; its address goes into the HELLO. */
  readonly inbound: Inbound
  /** Stops and removes the reply path. */
  close(): Promise<void>
}

/** What the RPC layer needs of a transport. */
export interface Transport {
  /** A short name for messages and `$describe`: 'mq', 'memory', 'nats'. */
  readonly kind: string
  /** Claims a service's address and its urgent lane, and listens on both. */
  listen(address: string, options: ListenOptions): Promise<Listener>
  /**
   * Opens the service's lanes for writing; rejects with an UNAVAILABLE-mapped
   * error when nobody listens. `replyAddress` is the client's reply path (from
   * this transport), so that a transport whose services have several
   * instances can keep the session on the instance that answered its HELLO.
   */
  connect(address: string, replyAddress: string): Promise<ServiceLanes>
  /** Creates a private reply path for a client. */
  openReplyPath(options?: ReplyPathOptions): Promise<ReplyPath>
  /**
   * Opens the reply path a HELLO names, and says who owns it. Throws when it
   * cannot be opened (nothing can be answered then).
   */
  openPeer(replyAddress: string): PeerLink
  /** Why `address` cannot be an address of this transport, or undefined when it can. */
  addressProblem(address: string): string | undefined
  /**
   * Why `address` cannot be a client's reply path (as a HELLO names it), for
   * transports whose reply paths are spelt unlike service addresses (a NATS
   * inbox subject); `addressProblem` is used where this is absent.
   */
  replyAddressProblem?(address: string): string | undefined
  /** This transport's errors as status code names; undefined for errors it does not know. */
  statusOf(error: unknown): TransportStatus | undefined
  /** Releases what the transport holds for all its users (a broker connection); idempotent. */
  close?(): Promise<void>
}
