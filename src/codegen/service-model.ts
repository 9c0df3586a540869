/**
 * What the emitters need to know of one service, read once from the live
 * definition: its names in TypeScript, its JSON Schemas (in declaration
 * order for the types, canonical for the embedded copy) and its fingerprint.
 * @module
 */
import type { AnyService } from '../index.js'
import { camelCase, pascalCase } from './format.js'

type Json = unknown

/** One method, as the emitters see it. */
export interface MethodModel {
  readonly name: string
  readonly description: string | undefined
  readonly priority: 'normal' | 'urgent'
  readonly oneWay: boolean
  /** 'server', 'client' or 'bidi' for streaming methods (input and output are then element schemas). */
  readonly stream: 'server' | 'client' | 'bidi' | undefined
  /** The schema marks it idempotent (the retry interceptor may send it again). */
  readonly idempotent: boolean
  /** JSON Schema of the input, keys in declaration order. */
  readonly input: Json
  /** JSON Schema of the output; undefined for one-way methods. */
  readonly output: Json | undefined
  readonly inputType: string
  readonly outputType: string | undefined
}

/** One event, as the emitters see it. */
export interface EventModel {
  readonly name: string
  readonly schema: Json
  readonly payloadType: string
}

/** One service, as the emitters see it. */
export interface ServiceModel {
  readonly name: string
  readonly description: string | undefined
  /** The spec's semver version, re-emitted so that the stubs' service says it too. */
  readonly version: string | undefined
  readonly fingerprint: string
  /** The canonical JSON description the fingerprint covers (what serviceShape gives). */
  readonly shape: Json
  readonly methods: readonly MethodModel[]
  readonly events: readonly EventModel[]
  /** Identifiers of the generated modules. */
  readonly names: {
    readonly pascal: string
    readonly client: string
    readonly clientEvents: string
    readonly connect: string
    readonly handlers: string
    readonly server: string
    readonly serve: string
    readonly eventMap: string
    readonly service: string
    readonly schema: string
    readonly fingerprint: string
  }
}

/** A value as JSON sees it: what survives a round trip, keys in their order. */
export function toJson(value: unknown): Json {
  return JSON.parse(JSON.stringify(value ?? null)) as Json
}

/** Keys sorted at every depth, as the fingerprint's canonical form has them. */
export function canonical(value: Json): Json {
  if (Array.isArray(value)) return value.map(canonical)
  if (typeof value !== 'object' || value === null) return value
  const sorted: Record<string, Json> = {}
  for (const key of Object.keys(value).sort()) sorted[key] = canonical((value as Record<string, Json>)[key])
  return sorted
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

// Names the generated modules import from mqrpc or declare for themselves.
const IMPORTED = new Set([
  'Binary',
  'CallContext',
  'CallOptions',
  'Client',
  'ClientOptions',
  'ClientState',
  'MethodSpec',
  'RpcError',
  'Schema',
  'Server',
  'ServerOptions',
  'createClient',
  'createServer',
  'defineService',
  'schemaFromJson',
])

/** The model of `service`; throws when two generated names would clash. */
export function serviceModel(service: AnyService): ServiceModel {
  const pascal = pascalCase(service.name)
  const camel = camelCase(service.name)
  const methods: MethodModel[] = []
  const methodShapes: Record<string, Json> = {}
  for (const [name, method] of service.methods) {
    const input = toJson(method.input.schema)
    const output = method.output === undefined ? undefined : toJson(method.output.schema)
    methodShapes[name] = {
      input,
      output: output ?? null,
      priority: method.priority,
      oneWay: method.oneWay,
      ...(method.stream === undefined ? {} : { stream: method.stream }),
    }
    methods.push({
      name,
      description: text(method.spec.description),
      priority: method.priority,
      oneWay: method.oneWay,
      stream: method.stream,
      idempotent: method.spec.idempotent === true,
      input,
      output,
      inputType: `${pascalCase(name)}Input`,
      outputType: output === undefined ? undefined : `${pascalCase(name)}Output`,
    })
  }
  const events: EventModel[] = []
  const eventShapes: Record<string, Json> = {}
  for (const [name, checker] of service.events) {
    const schema = toJson(checker.schema)
    eventShapes[name] = schema
    events.push({ name, schema, payloadType: `${pascalCase(name)}Event` })
  }
  const names = {
    pascal,
    client: `${pascal}Client`,
    clientEvents: `${pascal}ClientEvents`,
    connect: `connect${pascal}`,
    handlers: `${pascal}Handlers`,
    server: `${pascal}Server`,
    serve: `serve${pascal}`,
    eventMap: `${pascal}EventMap`,
    service: `${camel}Service`,
    schema: `${camel}Schema`,
    fingerprint: `${camel}Fingerprint`,
  }
  const declared = new Map<string, string>()
  const declare = (identifier: string, what: string) => {
    const clash = IMPORTED.has(identifier) ? 'a name the generated code imports from mqrpc' : declared.get(identifier)
    if (clash !== undefined) {
      throw new Error(`service '${service.name}': ${what} would be named ${identifier}, like ${clash}; rename one of them`)
    }
    declared.set(identifier, what)
  }
  for (const [key, identifier] of Object.entries(names)) if (key !== 'pascal') declare(identifier, `the generated ${key}`)
  for (const method of methods) {
    declare(method.inputType, `the input type of method '${method.name}'`)
    if (method.outputType !== undefined) declare(method.outputType, `the output type of method '${method.name}'`)
  }
  for (const event of events) declare(event.payloadType, `the payload type of event '${event.name}'`)
  for (const method of methods) {
    // Members of the generated client class besides the methods.
    if (method.name === 'replyQueue') {
      throw new Error(
        `service '${service.name}': method 'replyQueue' would clash with the client's own replyQueue; rename the method`,
      )
    }
  }
  return {
    name: service.name,
    description: text((service.spec as { description?: unknown }).description),
    version: text((service.spec as { version?: unknown }).version),
    fingerprint: service.fingerprint,
    shape: canonical({ name: service.name, methods: methodShapes, events: eventShapes }),
    methods,
    events,
    names,
  }
}
