/**
 * From a REQUEST body to a RESPONSE or ERROR: decode, check every limit,
 * validate the input, run the handler under the scheduler, check the output.
 * @module
 */

import { Code } from '../protocol/code.js'
import { FrameFlag, FrameType } from '../protocol/frame.js'
import { RpcError, rpcErrorToWire } from '../protocol/rpc-error.js'
import { decodeBody, readRequest } from '../protocol/wire.js'
import { performance } from '../util/clock.js'
import { setClampedTimeout } from '../util/settle-once.js'
import type { CallContext, Peer } from './context.js'
import { LazyAbort } from './lazy-abort.js'
import { checkMetadata, type Metadata } from './metadata.js'
import type { RateLimiter } from './rate-limiter.js'
import type { Scheduler, Task } from './scheduler.js'
import { answerBuiltin, type BuiltinHandler, runHandler } from './server-intercept.js'
import type { ResolvedServerOptions } from './server-options.js'
import { type AnyService, assertValid, type CompiledMethod, outputMismatch } from './service.js'
import type { InFlightCall, Session } from './session.js'
import type { ServerStats } from './stats.js'
import { startServerStream, streamsInput } from './stream-server.js'

// biome-ignore lint/suspicious/noExplicitAny: handlers are typed at createServer
export type AnyHandler = (input: any, ctx: CallContext) => unknown

/** Built-in methods every server answers (`$describe`, `$stats`, `$health.*`). */
export type { BuiltinHandler }

/** A built-in streaming method: its schemas, and a handler outside the service's interceptors. */
export interface BuiltinStream {
  readonly method: CompiledMethod
  readonly handler: AnyHandler
}

/** What a dispatch needs from its server. */
export interface DispatchDeps {
  readonly service: AnyService
  readonly handlers: Readonly<Record<string, AnyHandler>>
  readonly builtins: ReadonlyMap<string, BuiltinHandler>
  /** Built-in streaming methods (`$health.watch`), served like the service's streams. */
  readonly builtinStreams: ReadonlyMap<string, BuiltinStream>
  readonly options: ResolvedServerOptions
  readonly scheduler: Scheduler
  readonly stats: ServerStats
  readonly principalLimiter: (principal: string) => RateLimiter | undefined
  /** A handler failed in a way the caller only sees as INTERNAL; the server reports the whole story. */
  readonly reportError: (error: Error) => void
  /** Writing to the session failed (e.g. its reply queue stayed full): the session must end. */
  readonly sendFailed: (session: Session, error: unknown) => void
}

const DOLLAR = 0x24

/** Handles one whole REQUEST body from an open session. */
export function dispatchRequest(session: Session, callId: number, flags: number, body: Uint8Array, deps: DispatchDeps): void {
  if (session.inFlight.has(callId)) {
    // Any answer would carry the running call's id and be taken for that
    // call's own: drop the duplicate, whatever it holds, and count it.
    deps.stats.dropped.malformed++
    deps.reportError(
      new RpcError(Code.INVALID_ARGUMENT, `dropped a REQUEST of session ${session.id}: call id ${callId} is already in flight`),
    )
    return
  }
  const urgent = (flags & FrameFlag.URGENT) !== 0
  const oneWay = (flags & FrameFlag.ONE_WAY) !== 0
  let methodName: string
  let input: unknown
  let deadline: number | null
  let metadata: Metadata
  try {
    let rawMetadata: unknown
    ;[methodName, input, deadline, rawMetadata] = readRequest(decodeBody(body, 'REQUEST'))
    metadata = checkMetadata(rawMetadata, methodName)
  } catch (error) {
    deps.stats.dropped.malformed++
    answerError(session, callId, urgent, oneWay, RpcError.from(error, Code.INVALID_ARGUMENT))
    return
  }
  // Only built-in names start with "$" (a service's are identifiers): one lookup for a service's method.
  const isBuiltin = methodName.charCodeAt(0) === DOLLAR
  const builtin = isBuiltin ? deps.builtins.get(methodName) : undefined
  if (builtin !== undefined) {
    dispatchBuiltin(session, callId, urgent, oneWay, methodName, deadline, input, builtin, deps)
    return
  }
  const builtinStream = isBuiltin ? deps.builtinStreams.get(methodName) : undefined
  const method = isBuiltin ? builtinStream?.method : deps.service.methods.get(methodName)
  if (method === undefined) {
    // One bucket for every unknown name: callers choose them, and must not grow the table.
    deps.stats.record('$unknown', false, 0)
    answerError(
      session,
      callId,
      urgent,
      oneWay,
      new RpcError(Code.UNIMPLEMENTED, `method '${methodName}' is not part of service '${deps.service.name}'`),
    )
    return
  }
  const refusal = checkLimits(session, method, deadline, deps)
  if (refusal !== undefined) {
    deps.stats.record(method.name, false, 0)
    answerError(session, callId, urgent, oneWay, refusal)
    return
  }
  try {
    // A client or bidi stream's inputs come as elements, each checked as it arrives.
    if (!streamsInput(method)) assertValid(method.input, input, `input of '${method.name}'`)
  } catch (error) {
    deps.stats.record(method.name, false, 0)
    answerError(session, callId, urgent, oneWay, error as RpcError)
    return
  }
  if (method.stream !== undefined) {
    const controller = new LazyAbort()
    const ctx = callContext(session, controller, method, deadline, metadata, urgent)
    startServerStream({ session, callId, method, input, ctx, controller, urgent, deps, builtin: builtinStream?.handler })
    return
  }
  const call = new UnaryCall(session, callId, method, input, deadline, metadata, urgent, oneWay, deps)
  session.inFlight.set(callId, call)
  deps.scheduler.submit(call)
}

/**
 * A call to a built-in method (`$describe`, `$stats`, `$health.*`). Apart
 * from dispatchRequest, whose every call would otherwise pay for the
 * closures made here (they would capture its variables).
 */
function dispatchBuiltin(
  session: Session,
  callId: number,
  urgent: boolean,
  oneWay: boolean,
  methodName: string,
  deadline: number | null,
  input: unknown,
  builtin: BuiltinHandler,
  deps: DispatchDeps,
): void {
  const fail = (error: RpcError) => answerError(session, callId, urgent, oneWay, error)
  const denied = permissionDenied(session, methodName, deps)
  if (denied !== undefined) {
    fail(denied)
    return
  }
  const reply = (type: FrameType, value: unknown) => {
    if (!oneWay) session.post(type, callId, value, urgent)
  }
  answerBuiltin(session, callId, urgent, deadline, input, builtin, reply, fail)
}

/** Answers a call with ERROR, unless it is one-way (its caller waits for nothing). */
function answerError(session: Session, callId: number, urgent: boolean, oneWay: boolean, error: RpcError): void {
  if (!oneWay) session.post(FrameType.ERROR, callId, rpcErrorToWire(error), urgent)
}

/** Whether a handler returned a promise (or any thenable) rather than its value. */
function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function'
}

/** What the handler gets as its second argument. */
function callContext(
  session: Session,
  controller: LazyAbort,
  method: CompiledMethod,
  deadline: number | null,
  metadata: Metadata,
  urgent: boolean,
): CallContext {
  return new HandlerContext(session.peer, controller, deadline ?? undefined, metadata, method.name, urgent, session.id)
}

/**
 * A handler's `ctx`. A class rather than an object literal with a getter:
 * the getter lives once on the prototype instead of being made per call,
 * and the signal itself is made only when a handler asks for it.
 */
class HandlerContext implements CallContext {
  readonly #controller: LazyAbort

  constructor(
    readonly peer: Peer,
    controller: LazyAbort,
    readonly deadline: number | undefined,
    readonly metadata: Metadata,
    readonly method: string,
    readonly urgent: boolean,
    readonly sessionId: string,
  ) {
    this.#controller = controller
  }

  get signal(): AbortSignal {
    return this.#controller.signal
  }
}

/** The `authorize` option's refusal of `method` for this session's peer, if it refuses. */
function permissionDenied(session: Session, method: string, deps: DispatchDeps): RpcError | undefined {
  const { authorize } = deps.options
  if (authorize === undefined || authorize(session.peer, method)) return undefined
  return new RpcError(Code.PERMISSION_DENIED, `${session.peer.principal} may not call '${method}'`)
}

/** How many times maxInFlight a session may hold when the extra calls are one-way. */
const ONE_WAY_ROOM = 4

function checkLimits(
  session: Session,
  method: CompiledMethod,
  deadline: number | null,
  deps: DispatchDeps,
): RpcError | undefined {
  const { options } = deps
  // The client sends one-way calls without waiting for a slot (it never
  // learns when they end), so they have room of their own beside
  // maxInFlight; past that they are refused, which a one-way caller does not hear.
  const room = method.oneWay ? options.maxInFlight * ONE_WAY_ROOM : options.maxInFlight
  if (session.inFlight.size >= room) {
    return new RpcError(
      Code.RESOURCE_EXHAUSTED,
      `session has ${options.maxInFlight} calls in flight, the server's maxInFlight; wait for some to finish`,
    )
  }
  if (session.limiter !== undefined && !session.limiter.take()) {
    return new RpcError(
      Code.RESOURCE_EXHAUSTED,
      `session exceeds ${options.maxCallsPerSecond} calls per second (maxCallsPerSecond)`,
    )
  }
  const principalLimiter = deps.principalLimiter(session.peer.principal)
  if (principalLimiter !== undefined && !principalLimiter.take()) {
    return new RpcError(
      Code.RESOURCE_EXHAUSTED,
      `${session.peer.principal} exceeds ${options.maxCallsPerSecondPerPrincipal} calls per second (maxCallsPerSecondPerPrincipal)`,
    )
  }
  const denied = permissionDenied(session, method.name, deps)
  if (denied !== undefined) return denied
  if (deadline !== null && deadline <= Date.now()) {
    return new RpcError(Code.DEADLINE_EXCEEDED, `deadline of '${method.name}' had passed when the server received it`)
  }
  return undefined
}

/**
 * One accepted unary or one-way call, from its place in the scheduler to
 * its reply: the scheduler's task and the session's in-flight entry at once,
 * so that a call costs one object here rather than a handful of closures.
 */
class UnaryCall implements Task, InFlightCall {
  readonly controller = new LazyAbort()
  readonly ctx: CallContext
  readonly deadline: number | undefined
  private timer: NodeJS.Timeout | undefined
  private started = 0

  constructor(
    readonly session: Session,
    readonly callId: number,
    readonly method: CompiledMethod,
    readonly input: unknown,
    deadline: number | null,
    metadata: Metadata,
    readonly urgent: boolean,
    readonly oneWay: boolean,
    readonly deps: DispatchDeps,
  ) {
    this.deadline = deadline ?? undefined
    this.ctx = callContext(session, this.controller, method, deadline, metadata, urgent)
  }

  /** Round-robin is over sessions. */
  get owner(): Session {
    return this.session
  }

  /**
   * Starts the handler. A handler that returns a plain value (not a
   * promise) is finished before this returns, with no promise and no
   * promise job: the scheduler's slot is free at once and the reply is
   * posted in the same run of starts.
   */
  run(): Promise<void> | undefined {
    const { session, callId, method, controller, deps } = this
    // Cancelled (or its session ended) while it waited for a slot: nobody
    // waits for an answer, and the handler never starts.
    if (controller.aborted) {
      session.inFlight.delete(callId)
      return undefined
    }
    // Out of time while it waited: the handler never starts, and the caller is
    // told so, as it would be had the deadline passed before arrival.
    if (this.deadline !== undefined && this.deadline <= Date.now()) {
      session.inFlight.delete(callId)
      deps.stats.record(method.name, false, 0)
      this.fail(new RpcError(Code.DEADLINE_EXCEEDED, `deadline of '${method.name}' passed while the call waited for a slot`))
      return undefined
    }
    if (this.deadline !== undefined) this.armDeadline(this.deadline)
    this.started = performance.now()
    let output: unknown
    try {
      output = runHandler(deps.service.name, method, this.input, this.ctx, deps.handlers, deps.options.interceptors)
    } catch (thrown) {
      this.failed(thrown)
      return undefined
    }
    if (isPromiseLike(output)) return this.settleLater(output)
    this.succeeded(output)
    return undefined
  }

  // The closures live in methods of their own: made in run(), they would
  // cost every call a context, even a synchronous call without a deadline.
  private armDeadline(deadline: number): void {
    const { controller, method } = this
    this.timer = setClampedTimeout(
      () => controller.abort(new RpcError(Code.DEADLINE_EXCEEDED, `deadline of '${method.name}' passed`)),
      deadline - Date.now(),
    )
  }

  private settleLater(output: PromiseLike<unknown>): Promise<void> {
    return Promise.resolve(output).then(
      (value) => this.succeeded(value),
      (thrown: unknown) => this.failed(thrown),
    )
  }

  private succeeded(output: unknown): void {
    const { method, deps } = this
    this.end()
    // The caller has given up (cancel, deadline, session end): nobody is
    // waiting for this result, and it must not reach a later call.
    if (this.controller.aborted) return
    const error = outputMismatch(method, output)
    if (error !== undefined) {
      deps.reportError(error)
      deps.stats.record(method.name, false, performance.now() - this.started)
      this.fail(error)
      return
    }
    deps.stats.record(method.name, true, performance.now() - this.started)
    if (this.oneWay) return
    try {
      this.session.post(FrameType.RESPONSE, this.callId, output, this.urgent)
    } catch (thrown) {
      // Valid by its schema yet not msgpack (a bigint or a function in an open object, say).
      const reason = thrown instanceof Error ? thrown.message : String(thrown)
      const error = new RpcError(Code.INTERNAL, `output of '${method.name}' cannot be encoded: ${reason}`, undefined, {
        cause: thrown,
      })
      deps.reportError(error)
      this.fail(error)
    }
  }

  private failed(thrown: unknown): void {
    const { method, deps } = this
    this.end()
    deps.stats.record(method.name, false, performance.now() - this.started)
    if (this.controller.aborted) return
    if (thrown instanceof RpcError) {
      this.fail(thrown)
      return
    }
    const message = thrown instanceof Error ? thrown.message : String(thrown)
    const error = new RpcError(Code.INTERNAL, `handler '${method.name}' failed: ${message}`, undefined, { cause: thrown })
    deps.reportError(error)
    this.fail(error)
  }

  /** The handler has returned or thrown: the call leaves the session's table and its deadline timer stops. */
  private end(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.session.inFlight.delete(this.callId)
  }

  private fail(error: RpcError): void {
    answerError(this.session, this.callId, this.urgent, this.oneWay, error)
  }
}
