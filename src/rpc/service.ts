/**
 * Service definitions: a name, methods with TypeBox input and output schemas,
 * and typed events. Every schema is compiled once, here, so that a call
 * costs one compiled check; the error list is only computed on failure.
 * @module
 */
import { createHash } from 'node:crypto'
import type { Static, TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { Code } from '../protocol/code.js'
import { RpcError } from '../protocol/rpc-error.js'

/** Which lane a method's calls take by default. */
export type Priority = 'normal' | 'urgent'

/** Which directions of a method stream: the server's output, the client's input, or both. */
export type StreamKind = 'server' | 'client' | 'bidi'

/** One method of a service. */
export interface MethodSpec {
  /** Schema of the argument. */
  readonly input: TSchema
  /** Schema of the result. Not needed for one-way methods. */
  readonly output?: TSchema
  /** 'urgent' sends calls through the service's urgent lane. Defaults to 'normal'. */
  readonly priority?: Priority
  /** The caller gets no reply and does not wait for one. Defaults to false. */
  readonly oneWay?: boolean
  /**
   * A streaming method: `input` and `output` are then the schemas of each
   * element of the streamed direction (src/rpc/stream-types.ts has the
   * handler and client shapes). Defaults to unary.
   */
  readonly stream?: StreamKind
  /**
   * Calling it twice has the effect of calling it once, so a call that
   * failed UNAVAILABLE may be sent again (the retry interceptor does so only
   * for such methods). Shown by `$describe`. Defaults to false.
   */
  readonly idempotent?: boolean
  /** Shown in introspection and generated code. */
  readonly description?: string
}

/** What {@link defineService} takes. */
export interface ServiceSpec {
  readonly methods: Readonly<Record<string, MethodSpec>>
  readonly events?: Readonly<Record<string, TSchema>>
  readonly description?: string
  /**
   * The API's semver version, e.g. '1.4.0': shown by `$describe` and `mqrpc
   * describe`. A label for people and tools, not part of the fingerprint;
   * docs/SCHEMA-EVOLUTION.md says which change needs which bump.
   */
  readonly version?: string
}

/** One failing field of a validated value. */
export interface Violation {
  readonly path: string
  readonly message: string
}

/** A compiled schema: a fast check, and the failing paths on demand. */
export interface Checker {
  readonly schema: TSchema
  check(value: unknown): boolean
  violations(value: unknown): Violation[]
}

/** A method with its compiled checks. */
export interface CompiledMethod {
  readonly name: string
  readonly spec: MethodSpec
  readonly priority: Priority
  readonly oneWay: boolean
  /** Undefined for unary methods. */
  readonly stream: StreamKind | undefined
  readonly input: Checker
  readonly output: Checker | undefined
}

/** A service made by {@link defineService}. */
export interface Service<Name extends string = string, Spec extends ServiceSpec = ServiceSpec> {
  readonly name: Name
  readonly spec: Spec
  readonly methods: ReadonlyMap<string, CompiledMethod>
  readonly events: ReadonlyMap<string, Checker>
  /** The spec's semver version, if it has one. */
  readonly version: string | undefined
  /** Hash of the schemas: equal on both sides when they agree on the API. */
  readonly fingerprint: string
}

// biome-ignore lint/suspicious/noExplicitAny: the widest service, for constraints
export type AnyService = Service<string, any>

type MethodsOf<S extends AnyService> = S['spec']['methods']
type EventsOf<S extends AnyService> = NonNullable<S['spec']['events']>

/** The argument type of method `M`. */
export type InputOf<M> = M extends { readonly input: infer I extends TSchema } ? Static<I> : never
/** The result type of method `M` (void for one-way methods). */
export type OutputOf<M> = M extends { readonly oneWay: true }
  ? // biome-ignore lint/suspicious/noConfusingVoidType: a one-way call resolves to nothing, as Promise<void> says
    void
  : M extends { readonly output: infer O extends TSchema }
    ? Static<O>
    : // biome-ignore lint/suspicious/noConfusingVoidType: a method without an output resolves to nothing
      void

/** Method names of a service. */
export type MethodName<S extends AnyService> = keyof MethodsOf<S> & string
/** Event names of a service. */
export type EventName<S extends AnyService> = keyof EventsOf<S> & string
/** Argument type of a method of a service. */
export type MethodInput<S extends AnyService, K extends MethodName<S>> = InputOf<MethodsOf<S>[K]>
/** Result type of a method of a service. */
export type MethodOutput<S extends AnyService, K extends MethodName<S>> = OutputOf<MethodsOf<S>[K]>
/** Payload type of an event of a service. */
export type EventPayload<S extends AnyService, K extends EventName<S>> = EventsOf<S>[K] extends infer T extends TSchema
  ? Static<T>
  : never

// Client objects carry these members; a method or event with the same name
// would shadow them (and `then` would make every client a thenable).
const RESERVED_METHOD_NAMES = new Set([
  'close',
  'on',
  'off',
  'once',
  'emit',
  'addListener',
  'removeListener',
  'removeAllListeners',
  'listeners',
  'listenerCount',
  'eventNames',
  'then',
  'constructor',
  'state',
  'service',
  'call',
])
const LIFECYCLE_EVENTS = new Set(['connect', 'disconnect', 'reconnect', 'error', 'session', 'sessionEnd'])
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
const SERVICE_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/
// semver.org's grammar: MAJOR.MINOR.PATCH, an optional -prerelease and +build.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/

function compile(schema: TSchema): Checker {
  const validator = Compile(schema)
  return {
    schema,
    check: (value) => validator.Check(value),
    violations: (value) =>
      [...validator.Errors(value)].map((error) => ({
        path: error.instancePath === '' ? '/' : error.instancePath,
        message: error.message,
      })),
  }
}

/** A method's schemas compiled into validators, under `name` (the built-ins use it too: `$health.watch`). */
export function compileMethod(name: string, method: MethodSpec): CompiledMethod {
  return {
    name,
    spec: method,
    priority: method.priority ?? 'normal',
    oneWay: method.oneWay === true,
    stream: method.stream,
    input: compile(method.input),
    output: method.output === undefined || method.oneWay === true ? undefined : compile(method.output),
  }
}

/** Throws INVALID_ARGUMENT (or `code`) naming every failing path, when `value` does not fit. */
export function assertValid(checker: Checker, value: unknown, what: string, code: Code = Code.INVALID_ARGUMENT): void {
  if (checker.check(value)) return
  const violations = checker.violations(value)
  throw new RpcError(code, `${what} does not match its schema: ${describeViolations(violations) || 'value rejected'}`, {
    violations,
  })
}

/** Failing paths in words: `/a must be number; /b must be string`. */
export function describeViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.path} ${v.message}`).join('; ')
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (typeof value !== 'object' || value === null) return value
  const sorted: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) sorted[key] = canonical((value as Record<string, unknown>)[key])
  return sorted
}

/** The JSON-visible description of a service that its fingerprint covers. */
export function serviceShape(service: AnyService): unknown {
  const methods: Record<string, unknown> = {}
  for (const [name, method] of service.methods) {
    methods[name] = {
      input: method.input.schema,
      output: method.output?.schema ?? null,
      priority: method.priority,
      oneWay: method.oneWay,
      // Only for streams, so that unary methods keep the fingerprint they always had.
      ...(method.stream === undefined ? {} : { stream: method.stream }),
    }
  }
  const events: Record<string, unknown> = {}
  for (const [name, checker] of service.events) events[name] = checker.schema
  return canonical({ name: service.name, methods, events })
}

function fail(service: string, message: string): never {
  throw new TypeError(`defineService('${service}'): ${message}`)
}

/**
 * Defines a service. Names are checked here, once, so that a clash with a
 * client member or a lifecycle event is an error at definition, not a
 * mystery at run time.
 */
export function defineService<const Name extends string, const Spec extends ServiceSpec>(
  name: Name,
  spec: Spec,
): Service<Name, Spec> {
  if (!SERVICE_NAME.test(name)) fail(name, 'a service name is a letter followed by letters, digits, "_", "." or "-"')
  const version: unknown = spec.version
  if (version !== undefined && (typeof version !== 'string' || !SEMVER.test(version)))
    fail(name, `version ${JSON.stringify(version)} is not a semver version such as '1.2.0'`)
  const methods = new Map<string, CompiledMethod>()
  for (const [methodName, method] of Object.entries(spec.methods)) {
    if (!IDENTIFIER.test(methodName)) fail(name, `method name "${methodName}" must be an identifier ("$" names are reserved)`)
    if (RESERVED_METHOD_NAMES.has(methodName)) fail(name, `method name "${methodName}" is reserved by the client object`)
    if (method.oneWay !== true && method.output === undefined)
      fail(name, `method "${methodName}" needs an output schema (or oneWay: true)`)
    const stream: unknown = method.stream
    if (stream !== undefined && stream !== 'server' && stream !== 'client' && stream !== 'bidi')
      fail(name, `method "${methodName}": stream must be 'server', 'client' or 'bidi'`)
    if (stream !== undefined && method.oneWay === true) fail(name, `method "${methodName}": a stream cannot be one-way`)
    methods.set(methodName, compileMethod(methodName, method))
  }
  const events = new Map<string, Checker>()
  for (const [eventName, schema] of Object.entries(spec.events ?? {})) {
    if (!IDENTIFIER.test(eventName)) fail(name, `event name "${eventName}" must be an identifier`)
    if (LIFECYCLE_EVENTS.has(eventName)) fail(name, `event name "${eventName}" is reserved for lifecycle events`)
    events.set(eventName, compile(schema))
  }
  // The version stays out of the fingerprint: bumping it alone changes no schema.
  const service = { name, spec, methods, events, version: spec.version, fingerprint: '' }
  service.fingerprint = createHash('sha256')
    .update(JSON.stringify(serviceShape(service)))
    .digest('hex')
    .slice(0, 32)
  return service
}

/**
 * Why a handler's result does not match its method's output schema, as the
 * INTERNAL error both the caller and the server's `error` event get; or
 * undefined when it matches (or the method has no output schema).
 */
export function outputMismatch(method: CompiledMethod, output: unknown): RpcError | undefined {
  if (method.output === undefined || method.output.check(output)) return undefined
  const list = describeViolations(method.output.violations(output))
  return new RpcError(Code.INTERNAL, `handler '${method.name}' returned a value that does not match its output schema: ${list}`)
}
