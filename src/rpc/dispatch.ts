/**
 * From a REQUEST body to a RESPONSE or ERROR: decode, check every limit,
 * validate the input, run the handler under the scheduler, check the output.
 * @module
 */

import { Code } from '../protocol/code.js'
import { FrameFlag, FrameType } from '../protocol/frame.js'
import { RpcError, rpcErrorToWire } from '../protocol/rpc-error.js'
import { decodeBody, readRequest } from '../protocol/wire.js'
import { setClampedTimeout } from '../util/settle-once.js'
import type { CallContext } from './context.js'
import { LazyAbort } from './lazy-abort.js'
import { checkMetadata, type Metadata } from './metadata.js'
import type { RateLimiter } from './rate-limiter.js'
import type { Scheduler } from './scheduler.js'
import { answerBuiltin, type BuiltinHandler, runHandler } from './server-intercept.js'
import type { ResolvedServerOptions } from './server-options.js'
import { type AnyService, assertValid, type CompiledMethod, outputMismatch } from './service.js'
import type { Session } from './session.js'
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
  const onFailure = (error: unknown) => deps.sendFailed(session, error)
  const reply = (type: FrameType, value: unknown) => {
    if (!oneWay) session.post(type, callId, value, urgent, onFailure)
  }
  const fail = (error: RpcError) => {
    if (!oneWay) session.post(FrameType.ERROR, callId, rpcErrorToWire(error), urgent, onFailure)
  }
  let methodName: string
  let input: unknown
  let deadline: number | null
  let metadata: Metadata
  try {
    let rawMetadata: unknown
    ;[methodName, input, deadline, rawMetadata] = readRequest(decodeBody(body, 'REQUEST'))
    metadata = checkMetadata(rawMetadata, `metadata of the call to '${methodName}'`)
  } catch (error) {
    deps.stats.dropped.malformed++
    fail(RpcError.from(error, Code.INVALID_ARGUMENT))
    return
  }
  const builtin = deps.builtins.get(methodName)
  if (builtin !== undefined) {
    const denied = permissionDenied(session, methodName, deps)
    if (denied !== undefined) {
      fail(denied)
      return
    }
    answerBuiltin(session, callId, urgent, deadline, input, builtin, reply, fail)
    return
  }
  const builtinStream = deps.builtinStreams.get(methodName)
  const method = builtinStream?.method ?? deps.service.methods.get(methodName)
  if (method === undefined) {
    // One bucket for every unknown name: callers choose them, and must not grow the table.
    deps.stats.record('$unknown', false, 0)
    fail(new RpcError(Code.UNIMPLEMENTED, `method '${methodName}' is not part of service '${deps.service.name}'`))
    return
  }
  const refusal = checkLimits(session, method, deadline, deps)
  if (refusal !== undefined) {
    deps.stats.record(method.name, false, 0)
    fail(refusal)
    return
  }
  try {
    // A client or bidi stream's inputs come as elements, each checked as it arrives.
    if (!streamsInput(method)) assertValid(method.input, input, `input of '${method.name}'`)
  } catch (error) {
    deps.stats.record(method.name, false, 0)
    fail(error as RpcError)
    return
  }
  const controller = new LazyAbort()
  session.inFlight.set(callId, { controller, urgent, deadline: deadline ?? undefined })
  const ctx: CallContext = {
    peer: session.peer,
    get signal() {
      return controller.signal
    },
    deadline: deadline ?? undefined,
    metadata,
    method: method.name,
    urgent,
    sessionId: session.id,
  }
  if (method.stream !== undefined) {
    startServerStream({ session, callId, method, input, ctx, controller, urgent, deps, builtin: builtinStream?.handler })
    return
  }
  const call: RunningCall = { session, callId, method, input, ctx, controller, deps, reply, fail }
  deps.scheduler.submit({ urgent, owner: session, run: () => runCall(call) })
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

/** One accepted call, from its slot in the scheduler to its reply. */
interface RunningCall {
  readonly session: Session
  readonly callId: number
  readonly method: CompiledMethod
  readonly input: unknown
  readonly ctx: CallContext
  readonly controller: LazyAbort
  readonly deps: DispatchDeps
  readonly reply: (type: FrameType, value: unknown) => void
  readonly fail: (error: RpcError) => void
}

async function runCall(call: RunningCall): Promise<void> {
  const { session, callId, method, input, ctx, controller, deps, reply, fail } = call
  // Cancelled (or its session ended) while it waited for a slot: nobody
  // waits for an answer, and the handler never starts.
  if (controller.aborted) {
    session.inFlight.delete(callId)
    return
  }
  // Out of time while it waited: the handler never starts, and the caller is
  // told so, as it would be had the deadline passed before arrival.
  if (ctx.deadline !== undefined && ctx.deadline <= Date.now()) {
    session.inFlight.delete(callId)
    deps.stats.record(method.name, false, 0)
    return fail(new RpcError(Code.DEADLINE_EXCEEDED, `deadline of '${method.name}' passed while the call waited for a slot`))
  }
  const timer =
    ctx.deadline === undefined
      ? undefined
      : setClampedTimeout(
          () => controller.abort(new RpcError(Code.DEADLINE_EXCEEDED, `deadline of '${method.name}' passed`)),
          ctx.deadline - Date.now(),
        )
  const started = performance.now()
  try {
    const output = await runHandler(deps.service.name, method, input, ctx, deps.handlers, deps.options.interceptors)
    // The caller has given up (cancel, deadline, session end): nobody is
    // waiting for this result, and it must not reach a later call.
    if (controller.aborted) return
    const error = outputMismatch(method, output)
    if (error !== undefined) {
      deps.reportError(error)
      deps.stats.record(method.name, false, performance.now() - started)
      return fail(error)
    }
    deps.stats.record(method.name, true, performance.now() - started)
    reply(FrameType.RESPONSE, output)
  } catch (thrown) {
    deps.stats.record(method.name, false, performance.now() - started)
    if (controller.aborted) return
    if (thrown instanceof RpcError) return fail(thrown)
    const message = thrown instanceof Error ? thrown.message : String(thrown)
    const error = new RpcError(Code.INTERNAL, `handler '${method.name}' failed: ${message}`, undefined, { cause: thrown })
    deps.reportError(error)
    fail(error)
  } finally {
    if (timer !== undefined) clearTimeout(timer)
    session.inFlight.delete(callId)
  }
}
