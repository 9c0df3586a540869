/**
 * The options of the NATS transport: broker, credentials, subjects.
 * @module
 */
import type { Authenticator, NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node'

/** Options of `natsTransport` (nats-transport.ts). */
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
