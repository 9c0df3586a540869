/**
 * Clients for a service the CLI knows only by its queue. The live server is
 * asked for its description (the built-in `$describe`), and a service is
 * built from that description at run time, so that calls and events are
 * checked against the schemas the server really has.
 *
 * The handshake names the service, so the first connection names a
 * placeholder; the server refuses it with NOT_FOUND and tells its real name.
 * @module
 */
import { readdirSync } from 'node:fs'
import type { TSchema } from 'typebox'
import {
  type AnyService,
  type Client,
  Code,
  createClient,
  defineService,
  MessageQueue,
  type MethodSpec,
  RpcError,
  schemaFromJson,
} from '../index.js'
import type { Transport } from '../internal.js'
import { addCleanup } from './args.js'
import { isMqueueMounted, mqueueDir } from './queue-listing.js'

/** A JSON Schema as it comes over the wire. */
export type JsonSchema = Record<string, unknown>

/** One method of a description. */
export interface MethodDescription {
  readonly input: JsonSchema
  readonly output: JsonSchema | null
  readonly priority: 'normal' | 'urgent'
  readonly oneWay: boolean
  /** 'server', 'client' or 'bidi' for streaming methods; absent for unary ones. */
  readonly stream?: 'server' | 'client' | 'bidi'
  readonly description?: string
}

/** What `$describe` returns. */
export interface ServiceDescription {
  readonly protocol: number
  readonly name: string
  /** The service's semver version, when it declares one. */
  readonly version?: string
  readonly fingerprint: string
  readonly queue: string
  readonly urgentLane: string
  readonly methods: Readonly<Record<string, MethodDescription>>
  readonly events: Readonly<Record<string, JsonSchema>>
}

/** How to reach a server. */
export type ConnectOptions = Readonly<{
  /** The service's name when known (skips the first, refused, handshake). Defaults to asking the server. */
  service?: string
  /** How long each handshake may take. Defaults to 5000 ms. */
  timeoutMs?: number
  /** The transport (NATS with `--nats`); the POSIX-queue one by default. The caller closes it. */
  transport?: Transport | undefined
}>

const PLACEHOLDER = 'mqrpc-cli'

// Interrupted in the middle of a handshake, a client is not ours to close
// yet, but its reply queue exists: every reply queue named with our pid is ours.
addCleanup(() => {
  const dir = mqueueDir()
  if (!isMqueueMounted(dir)) return
  for (const file of readdirSync(dir)) {
    if (!file.startsWith(`mqrpc.reply.${process.pid}.`)) continue
    try {
      MessageQueue.unlink(`/${file}`)
    } catch {
      // Removed by its client's close meanwhile.
    }
  }
})
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function bareService(name: string): AnyService {
  return defineService(name, { methods: {} })
}

async function connect(
  service: AnyService,
  queue: string,
  timeoutMs: number,
  transport: Transport | undefined,
): Promise<Client<AnyService>> {
  // No fingerprint: this client does not claim to know the schema.
  const client = await createClient(service, {
    queue,
    fingerprint: false,
    reconnect: false,
    connectTimeoutMs: timeoutMs,
    ...(transport === undefined ? {} : { transport }),
  })
  // An interrupted verb still removes its reply queue (close is idempotent).
  addCleanup(() => client.close())
  return client
}

/** The name of the service on `queue`, learnt from the server's refusal of a placeholder name. */
export async function serviceNameOf(queue: string, timeoutMs = 5000, transport?: Transport): Promise<string> {
  let client: Client<AnyService>
  try {
    client = await connect(bareService(PLACEHOLDER), queue, timeoutMs, transport)
  } catch (error) {
    if (!(error instanceof RpcError) || error.code !== Code.NOT_FOUND) throw error
    const details = error.details as { service?: unknown } | undefined
    if (typeof details?.service === 'string') return details.service
    // Servers before the name travelled in details: it is in the message.
    const named = /serves '([^']+)'/.exec(error.rawMessage)?.[1]
    if (named !== undefined) return named
    throw new RpcError(
      Code.UNKNOWN,
      `the server on ${queue} refused the handshake without naming its service: ${error.rawMessage}; pass --service <name>`,
    )
  }
  await client.close()
  return PLACEHOLDER
}

/** Connects a client that knows no methods, for the built-ins (`$describe`, `$stats`). */
export async function connectBare(queue: string, options: ConnectOptions = {}): Promise<Client<AnyService>> {
  const timeoutMs = options.timeoutMs ?? 5000
  const name = options.service ?? (await serviceNameOf(queue, timeoutMs, options.transport))
  return connect(bareService(name), queue, timeoutMs, options.transport)
}

/** Checks the shape of a `$describe` answer: a server's bytes are not trusted blindly. */
export function readDescription(value: unknown, queue: string): ServiceDescription {
  const bad = (what: string) => new RpcError(Code.INTERNAL, `the server on ${queue} sent a malformed description: ${what}`)
  if (!isRecord(value)) throw bad('not an object')
  if (typeof value.name !== 'string') throw bad('no service name')
  if (!isRecord(value.methods)) throw bad('no methods')
  for (const [name, method] of Object.entries(value.methods)) {
    if (!isRecord(method) || !isRecord(method.input)) throw bad(`method '${name}' has no input schema`)
    if (method.output !== null && !isRecord(method.output)) throw bad(`method '${name}' has a bad output schema`)
  }
  const events = isRecord(value.events) ? value.events : {}
  for (const [name, schema] of Object.entries(events)) if (!isRecord(schema)) throw bad(`event '${name}' has no schema`)
  return {
    protocol: typeof value.protocol === 'number' ? value.protocol : 0,
    name: value.name,
    ...(typeof value.version === 'string' ? { version: value.version } : {}),
    fingerprint: typeof value.fingerprint === 'string' ? value.fingerprint : '',
    queue: typeof value.queue === 'string' ? value.queue : queue,
    urgentLane: typeof value.urgentLane === 'string' ? value.urgentLane : `${queue}.urgent`,
    methods: value.methods as Record<string, MethodDescription>,
    events: events as Record<string, JsonSchema>,
  }
}

/** Asks the server on `queue` for its description. */
export async function fetchDescription(queue: string, options: ConnectOptions = {}): Promise<ServiceDescription> {
  const client = await connectBare(queue, options)
  try {
    return readDescription(await client.call('$describe', {}, { timeoutMs: options.timeoutMs ?? 5000 }), queue)
  } finally {
    await client.close()
  }
}

/** A service built from a description: its methods and events checked by the live schemas. */
export function serviceFromDescription(description: ServiceDescription): AnyService {
  const methods: Record<string, MethodSpec> = {}
  for (const [name, method] of Object.entries(description.methods)) {
    methods[name] = {
      input: schemaFromJson(method.input),
      ...(method.output === null ? {} : { output: schemaFromJson(method.output) }),
      priority: method.priority === 'urgent' ? 'urgent' : 'normal',
      oneWay: method.oneWay === true,
      // An unknown kind (a newer server) is left out: defineService would refuse it.
      ...(method.stream === 'server' || method.stream === 'client' || method.stream === 'bidi' ? { stream: method.stream } : {}),
      ...(typeof method.description === 'string' ? { description: method.description } : {}),
    }
  }
  const events: Record<string, TSchema> = {}
  for (const [name, schema] of Object.entries(description.events)) events[name] = schemaFromJson(schema)
  return defineService(description.name, { methods, events })
}

/** A client typed at run time from the live server's description. */
export interface DynamicConnection {
  readonly description: ServiceDescription
  readonly service: AnyService
  readonly client: Client<AnyService>
}

/** Describes the server on `queue`, then connects a client built from that description. */
export async function connectDynamic(queue: string, options: ConnectOptions = {}): Promise<DynamicConnection> {
  const description = await fetchDescription(queue, options)
  const service = serviceFromDescription(description)
  const client = await connect(service, queue, options.timeoutMs ?? 5000, options.transport)
  return { description, service, client }
}
