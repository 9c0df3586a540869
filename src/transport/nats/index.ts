/**
 * The NATS transport, the `mqrpc/nats` entry point: import it only where
 * NATS is used, since it needs the optional `@nats-io/transport-node`
 * (loaded on first use, not on import).
 * @module
 */
export { NatsTransportError, natsStatusOf } from './nats-error.js'
export { DEFAULT_MAX_PAYLOAD, NatsTransport, type NatsTransportOptions, natsTransport } from './nats-transport.js'
export { DEFAULT_INBOX_ROOT, DEFAULT_SUBJECT_PREFIX } from './subjects.js'
