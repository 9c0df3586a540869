/**
 * Schema evolution: whether a client built against one version of a
 * service may talk to a server running another. The rule (docs/SCHEMA-EVOLUTION.md):
 * for every method the client knows, every input the client allows is
 * accepted by the server, and every output the server can produce is
 * accepted by the client; every event payload the server can emit is
 * accepted by the client. Methods the client does not know do not matter;
 * a method the server lacks breaks that method only. Pure: no I/O.
 * @module
 */
import { schemaKey } from './schema-nodes.js'
import { isSubschema, type SideNames, type SubsetIssue } from './schema-subset.js'
import { type AnyService, serviceShape } from './service.js'

type Json = unknown

/** One method as a service shape has it (serviceShape() and `$describe` agree on these fields). */
export interface MethodShape {
  readonly input: Json
  readonly output: Json
  readonly priority?: string
  readonly oneWay?: boolean
  /** 'server', 'client' or 'bidi' for streaming methods; absent for unary ones. */
  readonly stream?: string
  readonly description?: string
}

/** A service's JSON form: what serviceShape(service) returns, or a `$describe` answer. */
export interface ServiceShape {
  readonly name?: string
  readonly version?: string
  readonly methods: Readonly<Record<string, MethodShape>>
  readonly events?: Readonly<Record<string, Json>>
}

/** One change that can break a client talking to the server. */
export interface BreakingChange {
  /** `method`, `event`, or `missing` when the server lacks a method the client has. */
  readonly kind: 'method' | 'event' | 'missing'
  /** The method or event it concerns. */
  readonly name: string
  /** JSON path in the service shape, e.g. `/methods/add/input/properties/tags`. */
  readonly path: string
  /** The client's schema at that path (undefined when the client has none there). */
  readonly client: Json
  /** The server's schema at that path (undefined when the server has none there). */
  readonly server: Json
  /** One line, e.g. `the server requires property 'tags', which the client does not send`. */
  readonly reason: string
}

/** What {@link checkCompatibility} found. */
export interface Compatibility {
  /** No breaking change at all. */
  readonly compatible: boolean
  /** Every breaking change, methods (by name) first, then events. */
  readonly breaking: readonly BreakingChange[]
  /** Breaking changes by method; a method absent here is safe to call. */
  readonly brokenMethods: ReadonlyMap<string, readonly BreakingChange[]>
  /** Breaking changes by event: payloads the client would reject. */
  readonly brokenEvents: ReadonlyMap<string, readonly BreakingChange[]>
  /** Methods the client has that the server lacks (also in brokenMethods). */
  readonly missing: readonly string[]
}

const INPUT: SideNames = { narrow: 'the client', wide: 'the server' }
const OUTPUT: SideNames = { narrow: 'the server', wide: 'the client' }

function isRecord(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const sorted = (record: Readonly<Record<string, Json>> | undefined) => Object.keys(record ?? {}).sort()

function issues(kind: BreakingChange['kind'], name: string, found: SubsetIssue[], clientIsNarrow: boolean): BreakingChange[] {
  return found.map((issue) => ({
    kind,
    name,
    path: issue.path,
    client: clientIsNarrow ? issue.narrow : issue.wide,
    server: clientIsNarrow ? issue.wide : issue.narrow,
    reason: issue.reason,
  }))
}

/** The breaking changes of one method the client knows and the server has. */
function methodChanges(name: string, client: MethodShape, server: MethodShape): BreakingChange[] {
  const base = `/methods/${name}`
  // Same schemas: nothing to show (priority does not matter: the frame's flag picks the lane).
  if (
    schemaKey([client.input, client.output, client.oneWay, client.stream ?? null]) ===
    schemaKey([server.input, server.output, server.oneWay, server.stream ?? null])
  )
    return []
  const changes: BreakingChange[] = []
  // A different stream kind means different frames: nothing of the call fits.
  if ((client.stream ?? 'none') !== (server.stream ?? 'none')) {
    const kind = (stream: string | undefined) => (stream === undefined ? 'unary' : `a ${stream} stream`)
    const reason = `'${name}' is ${kind(server.stream)} on the server and ${kind(client.stream)} on the client`
    return [{ kind: 'method', name, path: `${base}/stream`, client: client.stream, server: server.stream, reason }]
  }
  const clientOneWay = client.oneWay === true
  if (!clientOneWay && server.oneWay === true) {
    changes.push({
      kind: 'method',
      name,
      path: `${base}/oneWay`,
      client: false,
      server: true,
      reason: `'${name}' became one-way on the server: the client waits for a result that never comes`,
    })
  }
  const found: SubsetIssue[] = []
  isSubschema(client.input, server.input, `${base}/input`, found, INPUT)
  changes.push(...issues('method', name, found, true))
  // A one-way caller never reads a result, so the output cannot break it.
  if (!clientOneWay && server.oneWay !== true) {
    const outputs: SubsetIssue[] = []
    isSubschema(server.output ?? {}, client.output ?? {}, `${base}/output`, outputs, OUTPUT)
    changes.push(...issues('method', name, outputs, false))
  }
  return changes
}

/**
 * Whether a client built against `client` may talk to a server with
 * `server`, and if not, every breaking change with its path, both sides'
 * schemas and a reason. Decided conservatively: a change is safe only when
 * it can be shown safe. Service names are not compared (the handshake does).
 */
export function checkCompatibility(client: ServiceShape, server: ServiceShape): Compatibility {
  const brokenMethods = new Map<string, BreakingChange[]>()
  const brokenEvents = new Map<string, BreakingChange[]>()
  const missing: string[] = []
  const sameShape =
    schemaKey({ m: client.methods, e: client.events ?? {} }) === schemaKey({ m: server.methods, e: server.events ?? {} })
  if (!sameShape) {
    for (const name of sorted(client.methods)) {
      const mine = client.methods[name] as MethodShape
      const theirs = server.methods[name]
      if (!isRecord(theirs)) {
        missing.push(name)
        const reason = `the server has no method '${name}' (removed or renamed): calls fail with UNIMPLEMENTED`
        brokenMethods.set(name, [{ kind: 'missing', name, path: `/methods/${name}`, client: mine, server: undefined, reason }])
        continue
      }
      const changes = methodChanges(name, mine, theirs as MethodShape)
      if (changes.length > 0) brokenMethods.set(name, changes)
    }
    // Events the client does not know are never delivered to its listeners; events the server lacks never fire.
    for (const name of sorted(server.events)) {
      const theirs = server.events?.[name]
      if (client.events === undefined || !(name in client.events)) continue
      const found: SubsetIssue[] = []
      isSubschema(theirs, client.events[name], `/events/${name}`, found, OUTPUT)
      if (found.length > 0) brokenEvents.set(name, issues('event', name, found, false))
    }
  }
  const breaking = [...[...brokenMethods.values()].flat(), ...[...brokenEvents.values()].flat()]
  return { compatible: breaking.length === 0, breaking, brokenMethods, brokenEvents, missing }
}

/** Whether every change of a method is that the server lacks it: calls to it still go, and get UNIMPLEMENTED. */
export function onlyMissing(changes: readonly BreakingChange[]): boolean {
  return changes.every((change) => change.kind === 'missing')
}

/** One line for a breaking change: `/methods/add/input/properties/tags: the server requires ...`. */
export function describeBreakingChange(change: BreakingChange): string {
  return `${change.path}: ${change.reason}`
}

/**
 * For the handshake: the client's methods that cannot be used against this
 * server, each with one readable message (every breaking change of that
 * method, joined with '; '), in name order. Empty when all are usable.
 */
export function brokenMethodMessages(client: ServiceShape, server: ServiceShape): Map<string, string> {
  const messages = new Map<string, string>()
  for (const [name, changes] of checkCompatibility(client, server).brokenMethods) messages.set(name, methodMessage(name, changes))
  return messages
}

function methodMessage(name: string, changes: readonly BreakingChange[]): string {
  return `method '${name}' is incompatible with the server: ${changes.map(describeBreakingChange).join('; ')}`
}

/**
 * What a client makes of the server's shape (sent in WELCOME when the
 * fingerprints differ): `broken`, every method of the client's schema that
 * the server's breaks, with what differs; `refused`, those of them the
 * client fails itself without sending (a method the server lacks still
 * goes, and the server answers UNIMPLEMENTED).
 */
export function judgeServerSchema(
  service: AnyService,
  serverShape: unknown,
): { broken: Map<string, string>; refused: Map<string, string> } {
  const broken = new Map<string, string>()
  const refused = new Map<string, string>()
  if (serverShape === undefined) return { broken, refused }
  const { brokenMethods } = checkCompatibility(serviceShape(service) as ServiceShape, serverShape as ServiceShape)
  for (const [name, changes] of brokenMethods) {
    const message = methodMessage(name, changes)
    broken.set(name, message)
    if (!onlyMissing(changes)) refused.set(name, message)
  }
  return { broken, refused }
}
