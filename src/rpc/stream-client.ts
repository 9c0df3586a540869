/**
 * The client's side of a streaming call (docs/PROTOCOL.md section 14): grants
 * the server credit for output elements as the caller consumes them, checks
 * each against its schema, and writes input elements only while the server
 * has granted credit, pulling each from the caller's iterable just before it
 * goes. Stopping the iteration (`break`) cancels the call.
 * @module
 */
import { Code } from '../protocol/code.js'
import { type Frame, FrameType } from '../protocol/frame.js'
import { type Reassembler, ReassemblyError } from '../protocol/reassembly.js'
import { RpcError } from '../protocol/rpc-error.js'
import { decodeBody, EMPTY, encodeBody, readCredit } from '../protocol/wire.js'
import { IdTable } from '../util/id-table.js'
import type { CallOptions } from './client-options.js'
import { type Checker, type CompiledMethod, describeViolations, type StreamKind } from './service.js'
import { CreditGate, checkStreamWindow, checkStreamWindowBytes, type WindowLimits } from './stream-credit.js'
import { StreamInbox } from './stream-inbox.js'
import type { StreamInput } from './stream-types.js'

/** A call as the client started it for a stream. */
export interface StartedCall {
  /** Settles with the call: the RESPONSE of a client stream, null after a STREAM_END, or the error. */
  readonly result: Promise<unknown>
  /** Fails the call with `error` and tells the server (CANCEL). */
  cancel(error: RpcError): void
  /** The server ended its output normally. */
  end(): void
}

/** What streaming calls need from their client (src/rpc/client.ts). */
export interface StreamLink {
  /** The method as the client's schema knows it. */
  method(name: string): CompiledMethod | undefined
  /** Starts the call as a unary call starts (same checks, lanes, deadline, signal); `stream` hears its id once it is sent. */
  begin(method: string, input: unknown, options: CallOptions, deadline: number | undefined, stream: ClientStream): StartedCall
  /** Writes one frame of a call after everything written before it; `onError` hears a failed write. */
  post(
    callId: number,
    urgent: boolean,
    type: FrameType,
    body: Uint8Array,
    onError: (error: RpcError) => void,
    /** May wait for the end of this loop turn, packed with others (FrameWriter.postLater). */
    later?: boolean,
  ): void
  /** The largest element body the server accepts (its maxBodyBytes). */
  maxElementBytes(): number
  /** The client's output window (ClientOptions.streamWindow and streamWindowBytes). */
  streamWindow(): WindowLimits
}

/** The client's streaming calls, by the pending call before it is sent and by call id after. */
export class ClientStreams {
  private readonly byId = new IdTable<ClientStream>()
  private readonly unsent = new WeakMap<object, ClientStream>()

  constructor(readonly link: StreamLink) {}

  /** Streams whose REQUEST has gone and that have not ended: their frames may arrive. */
  get running(): number {
    return this.byId.size
  }

  /** `call` (a pending call) belongs to `stream`. */
  expect(call: object, stream: ClientStream): void {
    this.unsent.set(call, stream)
  }

  /** `call` has its id and its REQUEST is on its way (through the urgent lane or not): its stream may now write. */
  started(call: object, callId: number, urgent: boolean): void {
    const stream = this.unsent.get(call)
    if (stream === undefined) return
    this.unsent.delete(call)
    this.byId.set(callId, stream)
    stream.started(callId, urgent)
  }

  /** A CREDIT, STREAM_DATA or STREAM_END frame from the server; frames of a call that has ended are dropped. */
  onFrame(frame: Frame, reassembler: Reassembler): void {
    this.byId.get(frame.callId)?.onFrame(frame, reassembler)
  }

  /** The call of `stream` has ended. */
  forget(callId: number, stream: ClientStream): void {
    if (this.byId.get(callId) === stream) this.byId.delete(callId)
  }
}

function toAsyncIterator<T>(inputs: StreamInput<T>): AsyncIterator<T> {
  if (typeof (inputs as AsyncIterable<T>)[Symbol.asyncIterator] === 'function') {
    return (inputs as AsyncIterable<T>)[Symbol.asyncIterator]()
  }
  const iterator = (inputs as Iterable<T>)[Symbol.iterator]()
  return {
    next: async () => iterator.next(),
    return: async () => iterator.return?.() ?? { value: undefined, done: true },
  }
}

/** One streaming call on the client. */
export class ClientStream {
  private callId = 0
  private urgent = false
  private call: StartedCall | undefined
  private readonly gate: CreditGate | undefined
  /** Output elements received and not yet consumed, for server and bidi streams. */
  readonly inbox: StreamInbox<unknown> | undefined
  private settled = false
  private inputError: RpcError | undefined
  /** The check of each output element, looked up once rather than per element. */
  private readonly output: Checker | undefined

  constructor(
    private readonly streams: ClientStreams,
    private readonly name: string,
    kind: StreamKind,
    private readonly inputs: StreamInput<unknown> | undefined,
    /** The output window of a server or bidi stream; none for a client stream, which reads no outputs. */
    window: WindowLimits | undefined,
  ) {
    this.gate = kind === 'client' || kind === 'bidi' ? new CreditGate() : undefined
    this.output = streams.link.method(name)?.output
    this.inbox =
      window !== undefined
        ? new StreamInbox<unknown>(window, {
            grant: (n) => this.post(FrameType.CREDIT, encodeBody(n)),
            stopped: () => this.call?.cancel(new RpcError(Code.CANCELLED, `the caller stopped reading '${name}'`)),
          })
        : undefined
  }

  /** Starts the call; settles as it ends (an error from the caller's inputs wins over the CANCELLED it caused). */
  open(input: unknown, options: CallOptions, deadline: number | undefined): Promise<unknown> {
    const call = this.streams.link.begin(this.name, input, options, deadline, this)
    this.call = call
    return call.result.then(
      (value) => {
        this.ended()
        this.inbox?.finish()
        return value
      },
      (error: unknown) => {
        this.ended()
        const reason = this.inputError ?? error
        this.inbox?.fail(reason)
        throw reason
      },
    )
  }

  /** @internal the REQUEST is on its way with this id. */
  started(callId: number, urgent: boolean): void {
    this.callId = callId
    this.urgent = urgent
    if (this.inbox !== undefined) this.post(FrameType.CREDIT, encodeBody(this.inbox.window))
    if (this.gate !== undefined && this.inputs !== undefined) void this.pumpInputs(this.inputs)
  }

  /** @internal a frame of this call from the server. */
  onFrame(frame: Frame, reassembler: Reassembler): void {
    if (this.settled) return
    try {
      if (frame.type === FrameType.CREDIT) {
        if (frame.chunk.byteLength !== frame.bodyLength) throw new Error('CREDIT must fit in one frame')
        this.gate?.grant(readCredit(decodeBody(frame.chunk, 'CREDIT')))
      } else if (frame.type === FrameType.STREAM_END) {
        if (this.inbox !== undefined) this.call?.end()
      } else if (this.inbox !== undefined) {
        const body = reassembler.accept(frame)
        if (body === undefined) return
        this.onElement(decodeBody(body, 'STREAM_DATA'), body.length)
      }
    } catch (error) {
      const code = error instanceof ReassemblyError ? Code.RESOURCE_EXHAUSTED : Code.INTERNAL
      this.call?.cancel(new RpcError(code, `stream of '${this.name}' broken: ${(error as Error).message}`))
    }
  }

  private onElement(element: unknown, bytes: number): void {
    const output = this.output
    if (output !== undefined && !output.check(element)) {
      const violations = output.violations(element)
      throw new RpcError(
        Code.INTERNAL,
        `output element of '${this.name}' does not match its schema: ${describeViolations(violations)}`,
        { violations },
      )
    }
    if (!this.inbox?.push(element, bytes)) throw new Error('the server sent an element without credit')
  }

  private async pumpInputs(inputs: StreamInput<unknown>): Promise<void> {
    const gate = this.gate as CreditGate
    let iterator: AsyncIterator<unknown> | undefined
    let exhausted = false
    try {
      iterator = toAsyncIterator(inputs)
      for (;;) {
        if (!gate.tryTake() && !(await gate.take())) return
        const step = await iterator.next()
        if (this.settled) return
        if (step.done === true) {
          exhausted = true
          this.post(FrameType.STREAM_END, EMPTY)
          return
        }
        const body = encodeBody(step.value)
        const limit = this.streams.link.maxElementBytes()
        if (body.length > limit) {
          throw new RpcError(
            Code.RESOURCE_EXHAUSTED,
            `input element of '${this.name}' is ${body.length} bytes; the server accepts at most ${limit} (its maxBodyBytes)`,
          )
        }
        this.post(FrameType.STREAM_DATA, body, true)
      }
    } catch (thrown) {
      exhausted = true
      this.inputError =
        thrown instanceof RpcError
          ? thrown
          : new RpcError(
              Code.CANCELLED,
              `inputs of '${this.name}' failed: ${(thrown as Error)?.message ?? String(thrown)}`,
              undefined,
              {
                cause: thrown,
              },
            )
      this.call?.cancel(this.inputError)
    } finally {
      if (!exhausted) Promise.resolve(iterator?.return?.()).catch(() => undefined)
    }
  }

  private post(type: FrameType, body: Uint8Array, later = false): void {
    // Called from within begin() (the REQUEST is sent synchronously), before `call` is set.
    if (this.settled || this.callId === 0) return
    this.streams.link.post(this.callId, this.urgent, type, body, (error) => this.call?.cancel(error), later)
  }

  private ended(): void {
    this.settled = true
    this.gate?.close()
    this.streams.forget(this.callId, this)
  }
}

/** A call's output window: the client's, with the call's own options over it. */
function callWindow(client: WindowLimits, options: CallOptions, name: string): WindowLimits {
  const where = `the call to '${name}' has`
  return {
    elements: options.streamWindow === undefined ? client.elements : checkStreamWindow(options.streamWindow, where),
    bytes: options.streamWindowBytes === undefined ? client.bytes : checkStreamWindowBytes(options.streamWindowBytes, where),
  }
}

/**
 * Calls streaming method `name`: for server and bidi streams an AsyncIterable
 * of outputs (the call starts when iteration starts; `break` cancels it), for
 * client streams a promise of the result. `input` is the argument of a server
 * stream, the iterable of inputs otherwise. A method the schema does not know
 * is called as a server stream. `deadline` is absolute (epoch ms).
 */
export function openStream(
  streams: ClientStreams,
  name: string,
  input: unknown,
  options: CallOptions,
  deadline: number | undefined,
): AsyncIterable<unknown> | Promise<unknown> {
  const kind = streams.link.method(name)?.stream ?? 'server'
  if (kind === 'client') {
    // A client stream reads no outputs: its window is the server's.
    return new ClientStream(streams, name, kind, input as StreamInput<unknown>, undefined).open(null, options, deadline)
  }
  let iterated = false
  return {
    [Symbol.asyncIterator]: () => {
      if (iterated) throw new TypeError(`a stream of '${name}' can be iterated only once; call the method again`)
      iterated = true
      const window = callWindow(streams.link.streamWindow(), options, name)
      const inputs = kind === 'bidi' ? (input as StreamInput<unknown>) : undefined
      const stream = new ClientStream(streams, name, kind, inputs, window)
      stream.open(kind === 'bidi' ? null : input, options, deadline).catch(() => undefined)
      return (stream.inbox as StreamInbox<unknown>)[Symbol.asyncIterator]()
    },
  }
}
