/**
 * `--nats URL` for the verbs that reach a live service: with it, the
 * positional names a service on that NATS broker (`calc` or `/calc`) instead
 * of a POSIX queue. Credentials come from `--nats-user`/`--nats-pass` or the
 * URL (`nats://user:pass@host:4222`). The NATS transport, and through it
 * the NATS client, is imported only when `--nats` is given, so that the
 * local verbs never load it.
 * @module
 */
import type { NatsTransport } from '../transport/nats/index.js'
import { queueArg, UsageError } from './args.js'

/** The parseArgs options every NATS-capable verb accepts. */
export const NATS_OPTIONS = {
  nats: { type: 'string' },
  'nats-user': { type: 'string' },
  'nats-pass': { type: 'string' },
} as const

/** The lines of `--help` that describe them. */
export const NATS_HELP = `  --nats URL        reach the service on this NATS broker (nats://host:4222);
                    the positional is then the service's name (calc or /calc)
  --nats-user user  --nats-pass pass   broker credentials (or in the URL:
                    nats://user:pass@host:4222)`

/** Parsed values of {@link NATS_OPTIONS}. */
export type NatsOptionValues = Readonly<{
  nats?: string | undefined
  'nats-user'?: string | undefined
  'nats-pass'?: string | undefined
}>

/** Where a verb goes: the address (queue or service name) and, on NATS, the transport to close afterwards. */
export type Target = Readonly<{ address: string; transport?: NatsTransport }>

/** Splits `nats://user:pass@host:port` into a URL without credentials and the credentials. */
export function natsServer(url: string): { servers: string; user?: string; pass?: string } {
  let parsed: URL
  try {
    parsed = new URL(url.includes('://') ? url : `nats://${url}`)
  } catch {
    throw new UsageError(`--nats takes a broker URL such as nats://127.0.0.1:4222, got '${url}'`)
  }
  const user = decodeURIComponent(parsed.username)
  const pass = decodeURIComponent(parsed.password)
  parsed.username = ''
  parsed.password = ''
  return { servers: parsed.toString().replace(/\/$/, ''), ...(user === '' ? {} : { user }), ...(pass === '' ? {} : { pass }) }
}

/** The NATS transport that `--nats` asks for; undefined without `--nats`. */
export async function natsTransportOf(values: NatsOptionValues): Promise<NatsTransport | undefined> {
  if (values.nats === undefined) {
    if (values['nats-user'] !== undefined || values['nats-pass'] !== undefined) {
      throw new UsageError('--nats-user and --nats-pass go with --nats URL')
    }
    return undefined
  }
  const fromUrl = natsServer(values.nats)
  const user = values['nats-user'] ?? fromUrl.user
  const pass = values['nats-pass'] ?? fromUrl.pass
  const { natsTransport } = await import('../transport/nats/nats-transport.js')
  return natsTransport({
    servers: fromUrl.servers,
    ...(user === undefined ? {} : { user }),
    ...(pass === undefined ? {} : { pass }),
    name: `mqrpc cli ${process.pid}`,
    // A command line fails rather than waiting forever for a broker that is not there.
    natsOptions: { reconnect: false, timeout: 5_000 },
  })
}

/** The verb's target: a POSIX queue, or with `--nats` a service on that broker. */
export async function targetOf(positional: string, values: NatsOptionValues): Promise<Target> {
  const transport = await natsTransportOf(values)
  if (transport === undefined) return { address: queueArg(positional) }
  const problem = transport.addressProblem(positional)
  if (problem !== undefined || positional.includes('.')) {
    await transport.close()
    throw new UsageError(problem ?? `'${positional}' cannot name a NATS service: use its name, e.g. calc`)
  }
  return { address: positional, transport }
}
