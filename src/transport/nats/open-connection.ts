/**
 * Opening the NATS connection a transport shares: the client loaded on
 * first use, credentials turned into nats.js authenticators.
 * @module
 */
import { readFileSync } from 'node:fs'
import type { Authenticator, NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node'
import { loadNatsClient } from './load-client.js'
import { NatsTransportError, natsStatusOf } from './nats-error.js'
import type { NatsTransportOptions } from './nats-transport-options.js'

const encoder = new TextEncoder()

/** Connects to the broker `options` name, with `inboxPrefix` for nats.js's own inboxes. */
export async function openConnection(options: NatsTransportOptions, inboxPrefix: string): Promise<NatsConnection> {
  const nats = await loadNatsClient()
  const authenticators: Authenticator[] = []
  if (options.nkeySeed !== undefined) {
    authenticators.push(
      nats.nkeyAuthenticator(typeof options.nkeySeed === 'string' ? encoder.encode(options.nkeySeed) : options.nkeySeed),
    )
  }
  if (options.credsFile !== undefined) {
    let creds: Uint8Array
    try {
      creds = readFileSync(options.credsFile)
    } catch (error) {
      throw new NatsTransportError(
        'FAILED_PRECONDITION',
        `cannot read the NATS creds file ${options.credsFile}: ${(error as Error).message}`,
        {
          cause: error,
        },
      )
    }
    authenticators.push(nats.credsAuthenticator(creds))
  }
  if (options.authenticator !== undefined)
    authenticators.push(...(Array.isArray(options.authenticator) ? options.authenticator : [options.authenticator]))
  const servers = options.servers ?? 'nats://127.0.0.1:4222'
  const connectOptions: NodeConnectionOptions = {
    servers: typeof servers === 'string' ? servers : [...servers],
    name: options.name ?? `mqrpc ${process.pid}`,
    inboxPrefix,
    reconnect: true,
    maxReconnectAttempts: -1,
    ...(options.user === undefined ? {} : { user: options.user }),
    ...(options.pass === undefined ? {} : { pass: options.pass }),
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(authenticators.length === 0 ? {} : { authenticator: authenticators.length === 1 ? authenticators[0] : authenticators }),
    ...options.natsOptions,
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
