/**
 * Where the calc programs meet: the queue (or, over NATS, the service name)
 * is the first argument, else the MQRPC_CALC_QUEUE environment variable,
 * else '/mqrpc-calc-example'; `--nats URL` (anywhere in the arguments)
 * moves them onto that NATS broker, credentials in the URL
 * (`nats://user:pass@host:4222`).
 * @module
 */
import type { Transport } from '../../src/transport/transport.js'

/** The default request queue of the calc example. */
export const DEFAULT_CALC_QUEUE = '/mqrpc-calc-example'

/** The arguments other than `--nats URL`. */
function positionals(argv: readonly string[]): string[] {
  const rest: string[] = []
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--nats') i++
    else rest.push(argv[i] as string)
  }
  return rest
}

/** The queue named by `argv` (the program's arguments) or the environment, else the default. */
export function calcQueue(argv: readonly string[] = process.argv.slice(2)): string {
  return positionals(argv)[0] ?? process.env.MQRPC_CALC_QUEUE ?? DEFAULT_CALC_QUEUE
}

/** The broker URL of `--nats URL`, when given. */
export function natsUrl(argv: readonly string[] = process.argv.slice(2)): string | undefined {
  const at = argv.indexOf('--nats')
  return at === -1 ? undefined : argv[at + 1]
}

/**
 * The transport to pass to `serveCalc` and `connectCalc`: NATS with
 * `--nats URL`, else undefined (POSIX queues, the default). The NATS
 * transport is imported only then, as an application would.
 */
export async function calcTransport(
  argv: readonly string[] = process.argv.slice(2),
): Promise<(Transport & { close(): Promise<void> }) | undefined> {
  const url = natsUrl(argv)
  if (url === undefined) return undefined
  const { natsTransport } = await import('../../src/transport/nats/index.js')
  const parsed = new URL(url)
  const user = decodeURIComponent(parsed.username)
  const pass = decodeURIComponent(parsed.password)
  parsed.username = ''
  parsed.password = ''
  return natsTransport({ servers: parsed.toString(), ...(user === '' ? {} : { user }), ...(pass === '' ? {} : { pass }) })
}
