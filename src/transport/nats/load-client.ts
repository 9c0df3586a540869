/**
 * Loads the NATS client (nats.js v3, `@nats-io/transport-node`) on first
 * use, so that users who never use NATS never load it: it is an optional
 * peer dependency of mqrpc.
 * @module
 */
import { NatsTransportError } from './nats-error.js'

/** The part of `@nats-io/transport-node` this transport uses. */
export type NatsClientModule = typeof import('@nats-io/transport-node')

/** The package name, for messages. */
export const NATS_CLIENT_PACKAGE = '@nats-io/transport-node'

let loading: Promise<NatsClientModule> | undefined

/** The NATS client module; rejects with an error naming `npm install @nats-io/transport-node` when it is missing. */
export function loadNatsClient(): Promise<NatsClientModule> {
  loading ??= import('@nats-io/transport-node').catch((error: unknown) => {
    loading = undefined
    const code = (error as { code?: unknown }).code
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
    throw new NatsTransportError(
      'FAILED_PRECONDITION',
      missing
        ? `mqrpc's NATS transport needs the NATS client, which is not installed: npm install ${NATS_CLIENT_PACKAGE}`
        : `mqrpc's NATS transport could not load ${NATS_CLIENT_PACKAGE}: ${(error as Error).message}`,
      { cause: error },
    )
  })
  return loading
}
