/**
 * The server's side of interceptors and built-in methods that take time:
 * dispatch.ts calls in here, so that its own flow stays as it was.
 * @module
 */
import { Code } from '../protocol/code.js'
import { FrameType } from '../protocol/frame.js'
import { RpcError } from '../protocol/rpc-error.js'
import { setClampedTimeout } from '../util/settle-once.js'
import type { CallContext } from './context.js'
import { type CallNext, callKind, chainInterceptors, type Interceptor, type RpcCall } from './interceptor.js'
import { LazyAbort } from './lazy-abort.js'
import type { CompiledMethod } from './service.js'
import type { Session } from './session.js'

// biome-ignore lint/suspicious/noExplicitAny: handlers are typed at createServer
type Handler = (input: any, ctx: CallContext) => unknown

// One chain per server (its interceptors array), built on first use.
const chains = new WeakMap<readonly Interceptor[], CallNext>()

function chainOf(interceptors: readonly Interceptor[], handlers: Readonly<Record<string, Handler>>): CallNext {
  let chain = chains.get(interceptors)
  if (chain === undefined) {
    chain = chainInterceptors(interceptors, async (call) => {
      const handler = handlers[call.method] as Handler
      return handler(call.input, call.ctx as CallContext)
    })
    chains.set(interceptors, chain)
  }
  return chain
}

/** Runs the handler of an accepted call, through the server's interceptors when it has any. */
export function runHandler(
  serviceName: string,
  method: CompiledMethod,
  input: unknown,
  ctx: CallContext,
  handlers: Readonly<Record<string, Handler>>,
  interceptors: readonly Interceptor[] | undefined,
): unknown {
  if (interceptors === undefined || interceptors.length === 0) return (handlers[method.name] as Handler)(input, ctx)
  const call: RpcCall = {
    side: 'server',
    service: serviceName,
    method: method.name,
    kind: callKind(method),
    input,
    metadata: ctx.metadata as Record<string, string>,
    deadline: ctx.deadline,
    // A getter: most calls never look, and the signal is made on first use.
    get signal() {
      return ctx.signal
    },
    idempotent: method.spec.idempotent === true,
    ctx,
    peer: ctx.peer,
  }
  return chainOf(interceptors, handlers)(call)
}

/** What a built-in method gets besides its session. */
export interface BuiltinCall {
  readonly input: unknown
  /** Aborts when the caller cancels, the deadline passes, or the session ends. */
  readonly signal: AbortSignal
}

/** A built-in method (`$describe`, `$stats`, `$health.*`): answers at once, or with a promise that settles when `signal` aborts. */
export type BuiltinHandler = (session: Session, call: BuiltinCall) => unknown

/**
 * Answers a built-in. One whose answer is a promise (`$health.watch` waits
 * for a change) counts as in flight while it waits, so CANCEL, the deadline
 * and the session's end reach it, and an answer nobody waits for is dropped.
 */
export function answerBuiltin(
  session: Session,
  callId: number,
  urgent: boolean,
  deadline: number | null,
  input: unknown,
  builtin: BuiltinHandler,
  reply: (type: FrameType, value: unknown) => void,
  fail: (error: RpcError) => void,
): void {
  const controller = new LazyAbort()
  let answer: unknown
  try {
    answer = builtin(session, {
      input,
      get signal() {
        return controller.signal
      },
    })
  } catch (error) {
    fail(RpcError.from(error))
    return
  }
  if (!(answer instanceof Promise)) {
    reply(FrameType.RESPONSE, answer)
    return
  }
  session.inFlight.set(callId, { controller, urgent, deadline: deadline ?? undefined })
  const timer =
    deadline === null
      ? undefined
      : setClampedTimeout(() => controller.abort(new RpcError(Code.DEADLINE_EXCEEDED, 'deadline passed')), deadline - Date.now())
  answer
    .then(
      (value: unknown) => {
        if (!controller.aborted) reply(FrameType.RESPONSE, value)
      },
      (error: unknown) => {
        if (!controller.aborted) fail(RpcError.from(error))
      },
    )
    .finally(() => {
      if (timer !== undefined) clearTimeout(timer)
      if (session.inFlight.get(callId)?.controller === controller) session.inFlight.delete(callId)
    })
}
