/**
 * The server's side of a streaming call (docs/PROTOCOL.md section 14): runs
 * the handler, pulls output elements from its async iterable only while the
 * client has granted credit, feeds input elements to it through a bounded
 * inbox, and ends the call with STREAM_END, RESPONSE or ERROR. A cancel, the
 * deadline or the session's end aborts `ctx.signal` and calls the output
 * generator's `return()`, so its `finally` runs.
 * @module
 */
import { Code } from '../protocol/code.js'
import { type Frame, FrameType } from '../protocol/frame.js'
import { ReassemblyError } from '../protocol/reassembly.js'
import { RpcError, rpcErrorToWire } from '../protocol/rpc-error.js'
import { decodeBody, readCredit } from '../protocol/wire.js'
import { performance } from '../util/clock.js'
import { setClampedTimeout } from '../util/settle-once.js'
import type { CallContext } from './context.js'
import type { AnyHandler, DispatchDeps } from './dispatch.js'
import type { LazyAbort } from './lazy-abort.js'
import { runHandler } from './server-intercept.js'
import { type CompiledMethod, describeViolations, outputMismatch } from './service.js'
import type { Session } from './session.js'
import { CreditGate, windowLimits } from './stream-credit.js'
import { StreamInbox } from './stream-inbox.js'

/** Everything a streaming call starts with, as dispatch accepted it. */
export interface StreamStart {
  readonly session: Session
  readonly callId: number
  readonly method: CompiledMethod
  /** The REQUEST's input: the argument of a server stream, ignored for client and bidi streams. */
  readonly input: unknown
  readonly ctx: CallContext
  readonly controller: LazyAbort
  readonly urgent: boolean
  readonly deps: DispatchDeps
  /** A built-in stream's handler (`$health.watch`): run as is, outside the service's handlers and interceptors. */
  readonly builtin?: AnyHandler | undefined
}

/** Whether a method reads a stream of inputs (its REQUEST carries no argument). */
export function streamsInput(method: CompiledMethod): boolean {
  return method.stream === 'client' || method.stream === 'bidi'
}

/**
 * Registers a streaming call on its session and queues its start. The
 * handler holds a scheduler slot only while it starts: a stream may live for
 * hours, and must not keep unary calls waiting; maxInFlight bounds streams.
 */
export function startServerStream(start: StreamStart): void {
  const stream = new ServerStream(start)
  start.session.inFlight.set(start.callId, {
    controller: start.controller,
    urgent: start.urgent,
    deadline: start.ctx.deadline,
    stream,
  })
  start.deps.scheduler.submit({ urgent: start.urgent, owner: start.session, run: () => stream.start() })
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function'
}

class ServerStream {
  private readonly gate: CreditGate | undefined
  private readonly inbox: StreamInbox<unknown> | undefined
  private done = false
  private timer: NodeJS.Timeout | undefined
  private startedAt = 0

  constructor(private readonly call: StreamStart) {
    const kind = call.method.stream
    this.gate = kind === 'server' || kind === 'bidi' ? new CreditGate() : undefined
    this.inbox = streamsInput(call.method)
      ? new StreamInbox<unknown>(windowLimits(call.deps.options), {
          grant: (n) => this.post(FrameType.CREDIT, n),
          stopped: () => {},
        })
      : undefined
  }

  /** Runs the handler up to its first await; the rest goes on outside the scheduler. */
  start(): Promise<void> {
    const { method, ctx, controller, deps, input } = this.call
    // Cancelled, or out of time, while it waited for a slot: it never starts.
    if (controller.aborted || (ctx.deadline !== undefined && ctx.deadline <= Date.now())) {
      this.cleanUp()
      return Promise.resolve()
    }
    controller.signal.addEventListener('abort', () => this.onAbort(), { once: true })
    if (ctx.deadline !== undefined) {
      this.timer = setClampedTimeout(
        () => controller.abort(new RpcError(Code.DEADLINE_EXCEEDED, `deadline of '${method.name}' passed`)),
        ctx.deadline - Date.now(),
      )
    }
    this.startedAt = performance.now()
    if (this.inbox !== undefined) this.post(FrameType.CREDIT, this.inbox.window)
    let result: unknown
    try {
      // Through the server's interceptors, like a unary call: with any, the
      // handler's stream (or a client stream's answer) arrives as a promise.
      result =
        this.call.builtin !== undefined
          ? this.call.builtin(input, ctx)
          : runHandler(deps.service.name, method, this.inbox ?? input, ctx, deps.handlers, deps.options.interceptors)
    } catch (thrown) {
      this.fail(thrown)
      return Promise.resolve()
    }
    if (method.stream === 'client') void this.answer(result)
    else
      Promise.resolve(result).then(
        (stream) => void this.pump(stream),
        (thrown: unknown) => this.fail(thrown),
      )
    return Promise.resolve()
  }

  /** A frame of this call from the client: credit for outputs, an input element, or the end of inputs. */
  onFrame(frame: Frame): void {
    if (this.done) return
    const { method, session } = this.call
    try {
      if (frame.type === FrameType.CREDIT) {
        if (this.gate === undefined)
          throw new RpcError(Code.INVALID_ARGUMENT, `'${method.name}' streams no output to grant credit for`)
        if (frame.chunk.byteLength !== frame.bodyLength) throw new RpcError(Code.INVALID_ARGUMENT, 'CREDIT must fit in one frame')
        this.gate.grant(readCredit(decodeBody(frame.chunk, 'CREDIT')))
        return
      }
      if (this.inbox === undefined) throw new RpcError(Code.INVALID_ARGUMENT, `'${method.name}' takes no input stream`)
      if (frame.type === FrameType.STREAM_END) {
        this.inbox.finish()
        return
      }
      const body = session.reassembler.accept(frame)
      if (body === undefined) return
      const element = decodeBody(body, 'STREAM_DATA')
      if (!method.input.check(element)) {
        const list = describeViolations(method.input.violations(element))
        throw new RpcError(Code.INVALID_ARGUMENT, `input element of '${method.name}' does not match its schema: ${list}`, {
          violations: method.input.violations(element),
        })
      }
      if (!this.inbox.push(element, body.length))
        throw new RpcError(Code.RESOURCE_EXHAUSTED, `client sent an element of '${method.name}' without credit`)
    } catch (error) {
      if (error instanceof ReassemblyError) {
        const quota = error.reason === 'too-large' || error.reason === 'too-many-partials'
        this.fail(
          new RpcError(quota ? Code.RESOURCE_EXHAUSTED : Code.INVALID_ARGUMENT, `input element dropped: ${error.message}`),
        )
      } else {
        this.fail(RpcError.from(error, Code.INVALID_ARGUMENT))
      }
    }
  }

  /** A client stream's handler settles with the one result. */
  private async answer(result: unknown): Promise<void> {
    try {
      const output = await result
      if (this.done) return
      const { method, deps } = this.call
      const error = outputMismatch(method, output)
      if (error !== undefined) {
        deps.reportError(error)
        this.fail(error)
        return
      }
      this.finish(FrameType.RESPONSE, output)
    } catch (thrown) {
      this.fail(thrown)
    }
  }

  /** Pulls one output element per unit of credit, never ahead of it. */
  private async pump(result: unknown): Promise<void> {
    const { method, deps } = this.call
    if (!isAsyncIterable(result)) {
      this.fail(new Error(`a ${method.stream} stream handler must return an AsyncIterable (an async generator)`))
      return
    }
    const iterator = result[Symbol.asyncIterator]()
    let exhausted = false
    try {
      for (;;) {
        const gate = this.gate as CreditGate
        if (!gate.tryTake() && !(await gate.take())) return
        // Awaited as it is: when the call ends meanwhile, nothing is sent
        // after this element, and return() below could not stop the
        // generator any sooner (it waits for the generator's next yield
        // either way). No promise or closure of our own per element.
        const step = await iterator.next()
        if (this.done) return
        if (step.done === true) {
          exhausted = true
          this.finish(FrameType.STREAM_END, undefined)
          return
        }
        if (method.output !== undefined && !method.output.check(step.value)) {
          const list = describeViolations(method.output.violations(step.value))
          const error = new RpcError(
            Code.INTERNAL,
            `handler '${method.name}' yielded an element that does not match its output schema: ${list}`,
          )
          deps.reportError(error)
          this.fail(error)
          return
        }
        this.post(FrameType.STREAM_DATA, step.value, true)
      }
    } catch (thrown) {
      exhausted = true
      this.fail(thrown)
    } finally {
      // return() cannot interrupt a pending await; it runs once the generator next yields (or at once, when it waits at a yield).
      if (!exhausted) Promise.resolve(iterator.return?.()).catch(() => undefined)
    }
  }

  private post(type: FrameType, value: unknown, later = false): void {
    const { session, callId, urgent } = this.call
    session.post(type, callId, value, urgent, later)
  }

  /** The normal end: STREAM_END after the last output, or the client stream's RESPONSE. */
  private finish(type: FrameType, value: unknown): void {
    if (this.done) return
    this.done = true
    this.call.deps.stats.record(this.call.method.name, true, performance.now() - this.startedAt)
    this.post(type, value)
    this.endOthers(new RpcError(Code.CANCELLED, `'${this.call.method.name}' already answered`))
  }

  /** The handler threw, or the stream broke a rule: ERROR with the code, and the handler is told through its signal. */
  private fail(thrown: unknown): void {
    if (this.done) return
    this.done = true
    const { method, deps } = this.call
    deps.stats.record(method.name, false, performance.now() - this.startedAt)
    let error: RpcError
    if (thrown instanceof RpcError) error = thrown
    else {
      const message = thrown instanceof Error ? thrown.message : String(thrown)
      error = new RpcError(Code.INTERNAL, `handler '${method.name}' failed: ${message}`, undefined, { cause: thrown })
      deps.reportError(error)
    }
    this.post(FrameType.ERROR, rpcErrorToWire(error))
    this.endOthers(error)
  }

  /** Cancel, deadline or session end: the client has given up, so nothing more is sent. */
  private onAbort(): void {
    if (this.done) {
      this.cleanUp()
      return
    }
    this.done = true
    this.call.deps.stats.record(this.call.method.name, false, performance.now() - this.startedAt)
    this.inbox?.fail(this.call.controller.signal.reason)
    this.cleanUp()
  }

  /** After the answer: stop the producer and any reader of inputs still running. */
  private endOthers(reason: RpcError): void {
    this.inbox?.fail(reason)
    this.cleanUp()
    this.call.controller.abort(reason)
  }

  private cleanUp(): void {
    clearTimeout(this.timer)
    this.gate?.close()
    const { session, callId, controller } = this.call
    if (session.inFlight.get(callId)?.controller === controller) session.inFlight.delete(callId)
  }
}
