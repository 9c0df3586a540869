/**
 * The client: owns a private reply path, shakes hands with the server, sends
 * calls through the request lane or the urgent lane, routes replies to their
 * callers, keeps the session alive with heartbeats, and reconnects on its
 * own when the server goes away. It knows its transport only through
 * src/transport/transport.ts.
 * @module
 */
import type { EventEmitter } from 'eventemitter3'
import { Code, isCode } from '../protocol/code.js'
import { type Frame, FrameError, FrameFlag, FrameType, forEachFrame } from '../protocol/frame.js'
import { FrameWriter } from '../protocol/frame-writer.js'
import { Reassembler, ReassemblyError } from '../protocol/reassembly.js'
import { RpcError, rpcErrorFromWire } from '../protocol/rpc-error.js'
import { decodeBody, EMPTY, encodeBody, readEvent, readGoodbye } from '../protocol/wire.js'
import { defaultTransport } from '../transport/mq/mq-transport.js'
import type { ReplyPath, Transport } from '../transport/transport.js'
import { setClampedTimeout } from '../util/settle-once.js'
import { CallQueue } from './call-queue.js'
import type { ClientEvents, ClientState } from './client-events.js'
import { interceptClientCall, interceptClientStream, outgoingMetadata, requestBody } from './client-intercept.js'
import { ClientKeepalive, ListenedEmitter } from './client-keepalive.js'
import { type CallOptions, type ClientOptions, type ResolvedClientOptions, resolveClientOptions } from './client-options.js'
import { ClientHandshake } from './handshake-client.js'
import { silenceLimitMs, silentTooLong } from './heartbeat.js'
import type { Metadata } from './metadata.js'
import { PendingCall } from './pending-call.js'
import { retryWithBackoff } from './reconnect.js'
import { judgeServerSchema } from './schema-compat.js'
import type { AnyService, MethodInput, MethodName, MethodOutput } from './service.js'
import { NORMAL_PRIORITY, URGENT_PRIORITY } from './session.js'
import { type ClientStream, ClientStreams, openStream, type StartedCall } from './stream-client.js'
import { replyStreamWindow, type WindowLimits } from './stream-credit.js'
import type { ClientMethodOf } from './stream-types.js'
import { toRpcError } from './transport-errors.js'

/** The typed methods of a client of service `S`. */
export type ClientMethods<S extends AnyService> = {
  readonly [K in MethodName<S>]: ClientMethodOf<S['spec']['methods'][K], MethodInput<S, K>, MethodOutput<S, K>>
}

/** A client of service `S`: its methods, plus events, `call`, `state` and `close`. */
export type Client<S extends AnyService> = ServiceClient<S> & ClientMethods<S>

/** The class of every client: `call`, events, `state`, `close`; the typed methods are added per service. */
export class ServiceClient<S extends AnyService> extends ListenedEmitter<ClientEvents<S>> {
  private stateNow: ClientState = 'connecting'
  private token = 0n
  private requests: FrameWriter | undefined
  private urgent: FrameWriter | undefined
  private readonly calls = new CallQueue()
  private readonly reassembler: Reassembler
  /** The window of output streams, unless a call sets its own (ClientOptions.streamWindow, streamWindowBytes). */
  private readonly outputWindow: WindowLimits
  private readonly transport: Transport
  private handshake: ClientHandshake | undefined
  private heartbeatMs = 1000
  private lastHeard = Date.now()
  private heartbeat: NodeJS.Timeout | undefined
  private reconnecting: Promise<void> | undefined
  /** Holds this client while something waits on it, and ends its session if it is dropped unclosed. */
  private readonly keepalive: ClientKeepalive<this>
  // Made once, not per call.
  private readonly abandonCall = (call: PendingCall) => this.abandon(call)
  private readonly releaseCall = () => this.keepalive.release()
  /** Made once: every message's frames go here. */
  private readonly frameSink = (frame: Frame): void => this.onFrame(frame)
  /** What the reply path was last told (Inbound.expectOneAtATime); it reads in batches until told. */
  private oneAtATime = false
  private maxRequestBytes = Number.POSITIVE_INFINITY
  /** Methods of this client that the server's schema breaks, each with what differs. */
  private broken = new Map<string, string>()
  /**
   * Of those, the ones refused here without reaching the server; a method the
   * server lacks is not among them (it answers UNIMPLEMENTED, as documented).
   */
  private refused = new Map<string, string>()
  /** Frames dropped because their token was wrong: forged or stale. */
  forgedFrames = 0
  private readonly streams = new ClientStreams({
    method: (name) => this.service.methods.get(name),
    begin: (method, input, options, deadline, stream) => this.beginStream(method, input, options, deadline, stream),
    post: (callId, urgent, type, body, onError, later) => {
      const writer = urgent ? this.urgent : this.requests
      // No lane: the session is gone, and its calls fail with it.
      if (writer === undefined) return
      const header = { type, flags: urgent ? FrameFlag.URGENT : 0, token: this.token, callId }
      const done = (error?: unknown) => {
        if (error !== undefined) onError(toRpcError(this.transport, error, Code.UNAVAILABLE))
      }
      const priority = urgent ? URGENT_PRIORITY : NORMAL_PRIORITY
      if (later === true) writer.postLater(header, body, priority, done)
      else writer.post(header, body, priority, done)
    },
    maxElementBytes: () => this.maxRequestBytes,
    streamWindow: () => this.outputWindow,
  })

  /** @internal use {@link createClient} */
  constructor(
    readonly service: S,
    private readonly options: ResolvedClientOptions,
    private readonly reply: ReplyPath,
  ) {
    super()
    this.transport = options.transport
    this.reassembler = new Reassembler({ maxBodyBytes: options.maxBodyBytes })
    this.outputWindow = {
      elements: options.streamWindow ?? replyStreamWindow(reply.inbound.messageSize),
      bytes: options.streamWindowBytes,
    }
    this.keepalive = new ClientKeepalive(this, reply)
    // Weakly: a consuming reply path is rooted, and must not keep a dropped client.
    reply.inbound.consume(this.keepalive.weakly(this.onMessage))
  }

  /** Where the client stands now. */
  get state(): ClientState {
    return this.stateNow
  }

  /** Methods the server's schema breaks for this client (empty when the schemas agree), with what differs. */
  get incompatibleMethods(): ReadonlyMap<string, string> {
    return this.broken
  }

  /** The address of this client's private reply path (on POSIX queues, its reply queue's name). */
  get replyQueue(): string {
    return this.reply.inbound.address
  }

  /**
   * Calls `method` by name. The typed methods (`client.add(...)`) use this;
   * it also takes names the schema does not know (they reach the server,
   * which answers UNIMPLEMENTED) and the built-ins `$describe` and `$stats`.
   */
  call(method: string, input: unknown, options: CallOptions = {}): Promise<unknown> {
    // Once for the whole call: an interceptor that sends again stays within it.
    const deadline = this.deadlineOf(options)
    const interceptors = this.options.interceptors
    if (interceptors === undefined || interceptors.length === 0) {
      return this.attempt(method, input, options, deadline, options.metadata)
    }
    return interceptClientCall(this.service, method, input, options, deadline, interceptors, (call) =>
      this.attempt(call.method, call.input, options, call.deadline, call.metadata),
    )
  }

  /** Sends one call (interceptors may make several of one `call`). */
  private attempt(
    method: string,
    input: unknown,
    options: CallOptions,
    deadline: number | undefined,
    metadataAsked: Readonly<Record<string, string>> | undefined,
  ): Promise<unknown> {
    const spec = this.service.methods.get(method)
    const urgent = (options.priority ?? spec?.priority) === 'urgent'
    const oneWay = spec?.oneWay ?? false
    let metadata: Metadata
    try {
      metadata = outgoingMetadata(method, metadataAsked)
    } catch (error) {
      return Promise.reject(error)
    }
    const refusal = this.refusal(method, options.signal)
    if (refusal !== undefined) return Promise.reject(refusal)
    return new Promise((resolve, reject) => {
      const request = { method, input, deadline, urgent, oneWay, metadata, signal: options.signal, resolve, reject }
      this.keepalive.acquire()
      const call = new PendingCall(request, this.abandonCall, this.releaseCall)
      if (this.stateNow === 'open') this.send(call)
      else this.calls.wait(call)
    })
  }

  /** Why a call to `method` fails before it is sent, if it does: the client's state, the signal, or the server's schema. */
  private refusal(method: string, signal: AbortSignal | undefined): RpcError | undefined {
    if (this.stateNow === 'closed') return this.closedError()
    if ((this.stateNow === 'disconnected' || this.stateNow === 'draining') && !this.options.reconnect) {
      return this.noReconnectError()
    }
    if (signal?.aborted) return new RpcError(Code.CANCELLED, `call to '${method}' was cancelled before it was sent`)
    const incompatible = this.refused.get(method)
    if (incompatible !== undefined) return new RpcError(Code.FAILED_PRECONDITION, `${incompatible}; regenerate the client`)
    return undefined
  }

  private deadlineOf(options: CallOptions): number | undefined {
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs
    return timeoutMs === undefined ? undefined : Date.now() + timeoutMs
  }

  /**
   * Calls a streaming method by name (src/rpc/stream-client.ts): for server
   * and bidi streams an AsyncIterable of outputs (`break` cancels the call),
   * for client streams the result. The typed methods of streams use this.
   * The client's interceptors wrap it as they wrap `call` (client-intercept.ts).
   */
  stream(method: string, input: unknown, options: CallOptions = {}): AsyncIterable<unknown> | Promise<unknown> {
    const deadline = this.deadlineOf(options)
    const interceptors = this.options.interceptors
    if (interceptors === undefined || interceptors.length === 0) {
      return openStream(this.streams, method, input, options, deadline)
    }
    return interceptClientStream(this.service, method, input, options, deadline, interceptors, (call) =>
      openStream(this.streams, call.method, call.input, { ...options, metadata: call.metadata }, call.deadline),
    )
  }

  /** A stream's call starts as `call` starts one; its stream hears the id once the REQUEST is on its way. */
  private beginStream(
    method: string,
    input: unknown,
    options: CallOptions,
    deadline: number | undefined,
    stream: ClientStream,
  ): StartedCall {
    const urgent = (options.priority ?? this.service.methods.get(method)?.priority) === 'urgent'
    let pending: PendingCall | undefined
    const refusal = this.refusal(method, options.signal)
    const result =
      refusal !== undefined
        ? Promise.reject(refusal)
        : new Promise<unknown>((resolve, reject) => {
            const signal = options.signal
            // Thrown here (a bound broken), it rejects the call.
            const metadata = outgoingMetadata(method, options.metadata)
            const request = { method, input, deadline, urgent, oneWay: false, metadata, signal, resolve, reject }
            this.keepalive.acquire()
            pending = new PendingCall(request, this.abandonCall, this.releaseCall)
            this.streams.expect(pending, stream)
            if (this.stateNow === 'open') this.send(pending)
            else this.calls.wait(pending)
          })
    return {
      result,
      cancel: (error) => {
        if (pending === undefined || pending.settled) return
        pending.reject(error)
        this.abandon(pending)
      },
      end: () => {
        if (pending === undefined || pending.id === 0 || this.calls.get(pending.id) !== pending) return
        this.calls.finish(pending.id)
        pending.resolve(null)
        this.pump()
      },
    }
  }

  /** Ends the session, fails what is pending with CANCELLED, and removes the reply path. */
  async close(): Promise<void> {
    if (this.stateNow === 'closed') return
    const wasOpen = this.stateNow === 'open' || this.stateNow === 'draining'
    this.stateNow = 'closed'
    this.keepalive.end()
    clearInterval(this.heartbeat)
    if (wasOpen) this.trySendControl(FrameType.GOODBYE)
    this.handshake?.fail(this.closedError())
    this.calls.failAll(this.closedError())
    await this.dropServerLanes()
    await this.reply.close()
  }

  /** @internal Makes the first session, or a new one after a disconnect. */
  async connect(timeoutMs: number): Promise<void> {
    await this.dropServerLanes()
    const queue = this.options.queue
    let lanes: Awaited<ReturnType<Transport['connect']>>
    try {
      lanes = await this.transport.connect(queue, this.replyQueue)
    } catch (error) {
      throw toRpcError(this.transport, error, Code.UNAVAILABLE)
    }
    // No send timeout: a call waits for room in a busy server's lane for as
    // long as its own deadline allows (back-pressure, not failure). Only the
    // HELLO is bounded, by the handshake timer below.
    this.requests = new FrameWriter(lanes.requests)
    this.urgent = new FrameWriter(lanes.urgent)
    const handshake = new ClientHandshake(this.service, this.options.maxBodyBytes)
    this.handshake = handshake
    const timer = setClampedTimeout(
      () =>
        handshake.fail(
          new RpcError(
            Code.UNAVAILABLE,
            `server on ${queue} did not finish the handshake within ${timeoutMs} ms: it may be overloaded or hung, or the queue may be a stale one left by a server that died (\`mqrpc gc --probe\` finds and removes those)`,
          ),
        ),
      timeoutMs,
    )
    try {
      const hello = handshake.hello(this.replyQueue, this.options.fingerprint)
      const helloSent = this.requests.write({ type: FrameType.HELLO, flags: 0, token: 0n, callId: 0 }, hello)
      // Rejected (lane closed) when the timer gives up on a full lane first.
      helloSent.catch(() => undefined)
      await Promise.race([helloSent, handshake.done])
      const welcome = await handshake.done
      this.heartbeatMs = welcome.heartbeatMs
      this.maxRequestBytes = welcome.maxBodyBytes
      this.calls.maxInFlight = welcome.maxInFlight
      if (welcome.shortFrames === true) {
        this.requests.useShortFrames()
        this.urgent.useShortFrames()
      }
      this.checkSchema(welcome.shape)
    } catch (error) {
      await this.dropServerLanes()
      throw toRpcError(this.transport, error, Code.UNAVAILABLE)
    } finally {
      clearTimeout(timer)
      this.handshake = undefined
    }
    this.stateNow = 'open'
    this.lastHeard = Date.now()
    this.keepalive.opened(lanes, this.token)
    this.heartbeat = this.keepalive.every(this.heartbeatMs, this.beat)
    for (const call of this.calls.takeWaiting()) if (!call.settled) this.send(call)
  }

  /** A WELCOME with the server's shape: the schemas differ; find which methods it breaks. */
  private checkSchema(serverShape: unknown): void {
    const { broken, refused } = judgeServerSchema(this.service, serverShape)
    const before = [...this.broken.keys()].join()
    this.broken = broken
    this.refused = refused
    if (broken.size === 0 || [...broken.keys()].join() === before) return
    const error = new RpcError(
      Code.FAILED_PRECONDITION,
      `the server's schema for '${this.service.name}' on ${this.options.queue} breaks ${broken.size} of this client's methods (the others work): ${[...broken.values()].join('; ')}`,
      { methods: [...broken.keys()] },
    )
    process.emitWarning(error.message, 'MqrpcSchemaWarning')
    setImmediate(() => this.fire('incompatible', error))
  }

  private send(call: PendingCall): void {
    const writer = call.urgent ? this.urgent : this.requests
    if (writer === undefined || !this.calls.hasRoomFor(call)) {
      this.calls.wait(call)
      return
    }
    let body: Uint8Array
    try {
      body = encodeBody(requestBody(call.method, call.input, call.deadline, call.metadata))
    } catch (error) {
      call.reject(new RpcError(Code.INVALID_ARGUMENT, `input of '${call.method}' cannot be encoded: ${(error as Error).message}`))
      return
    }
    if (body.length > this.maxRequestBytes) {
      call.reject(
        new RpcError(
          Code.RESOURCE_EXHAUSTED,
          `input of '${call.method}' is ${body.length} bytes; the server accepts at most ${this.maxRequestBytes} (its maxBodyBytes)`,
        ),
      )
      return
    }
    const callId = this.calls.start(call)
    const flags = (call.urgent ? FrameFlag.URGENT : 0) | (call.oneWay ? FrameFlag.ONE_WAY : 0)
    const header = { type: FrameType.REQUEST, flags, token: this.token, callId }
    // post, not write: no promise per call, as only a failure (or a one-way call's sending) needs an answer.
    writer.post(header, body, call.urgent ? URGENT_PRIORITY : NORMAL_PRIORITY, (error) => {
      if (error === undefined) {
        if (call.oneWay) call.resolve(undefined)
        return
      }
      this.calls.finish(callId)
      call.reject(toRpcError(this.transport, error, Code.UNAVAILABLE))
      this.pump()
    })
    // A stream's first CREDIT and inputs go after its REQUEST, through the same writer.
    this.streams.started(call, callId, call.urgent)
  }

  /** A call ended early (deadline or abort): stop tracking it, and tell the server so it stops. */
  private abandon(call: PendingCall): void {
    if (this.calls.abandon(call)) {
      this.trySendControl(FrameType.CANCEL, call.id, call.urgent)
      this.pump()
    }
  }

  /** Sends calls that waited for room under the server's maxInFlight, in the order they were made. */
  private pump(): void {
    while (this.stateNow === 'open') {
      const call = this.calls.nextReady()
      if (call === undefined) return
      this.send(call)
    }
  }

  private onMessage(data: Uint8Array): void {
    const inFlightBefore = this.calls.inFlightCount
    try {
      forEachFrame(data, this.frameSink)
    } catch (error) {
      if (!(error instanceof FrameError)) throw error
      this.fire(
        'error',
        new RpcError(Code.INVALID_ARGUMENT, `dropped a malformed message in reply path ${this.replyQueue}: ${error.message}`),
      )
    }
    // This message answered the one call in flight: calls made one at a
    // time get their replies one at a time, and the reply path need not
    // read on after each (transport.ts, expectOneAtATime). Anything else (a
    // backlog, a stream, events to an idle client) is read in batches.
    const oneAtATime = inFlightBefore === 1 && this.calls.inFlightCount === 0 && this.streams.running === 0
    if (oneAtATime !== this.oneAtATime) {
      this.oneAtATime = oneAtATime
      this.reply.inbound.expectOneAtATime?.(oneAtATime)
    }
  }

  private onFrame(frame: Frame): void {
    if (frame.type === FrameType.CHALLENGE || frame.type === FrameType.REJECT) {
      this.onHandshakeFrame(frame)
      return
    }
    if (frame.token !== this.token || this.token === 0n) {
      this.forgedFrames++
      return
    }
    this.lastHeard = Date.now()
    switch (frame.type) {
      case FrameType.WELCOME:
      case FrameType.GOODBYE:
        this.onControlFrame(frame)
        return
      case FrameType.RESPONSE:
      case FrameType.ERROR:
      case FrameType.EVENT:
        this.onBodyFrame(frame)
        return
      case FrameType.CREDIT:
      case FrameType.STREAM_DATA:
      case FrameType.STREAM_END:
        this.streams.onFrame(frame, this.reassembler)
        return
      default:
        return // PONG: lastHeard is all it is for.
    }
  }

  /** WELCOME and GOODBYE: like any body, they span frames when the reply path's messages are small. */
  private onControlFrame(frame: Frame): void {
    const handshake = this.handshake
    let goodbye: ReturnType<typeof readGoodbye>
    try {
      const body = this.reassembler.accept(frame)
      if (body === undefined) return
      const value = decodeBody(body, frame.type === FrameType.WELCOME ? 'WELCOME' : 'GOODBYE')
      if (frame.type === FrameType.WELCOME) {
        if (handshake?.awaitsWelcome === true) handshake.welcome(value)
        return
      }
      goodbye = readGoodbye(value)
    } catch (error) {
      const reason = RpcError.from(error)
      if (frame.type === FrameType.WELCOME && handshake !== undefined) handshake.fail(reason)
      else this.fire('error', reason)
      return
    }
    if (handshake !== undefined) {
      // Refused after the PROOF (e.g. maxSessionsPerPrincipal): say why now, not at connectTimeoutMs.
      handshake.fail(new RpcError(isCode(goodbye.code) ? goodbye.code : Code.UNAVAILABLE, goodbye.message))
      return
    }
    if (goodbye.draining) {
      // New calls wait for the next server (or fail at once without reconnect); calls in flight still finish.
      this.stateNow = 'draining'
      if (!this.options.reconnect) for (const call of this.calls.takeWaiting()) call.reject(this.noReconnectError())
    } else {
      this.lost(new RpcError(Code.UNAVAILABLE, goodbye.message))
    }
  }

  private onHandshakeFrame(frame: Frame): void {
    // Outside a handshake they are forged: drop them before they can hold a
    // partial body (and a slot of maxPartials) in the reassembler. A REJECT
    // may carry the server's whole schema, so it can span frames.
    const handshake = this.handshake
    if (handshake === undefined) {
      this.forgedFrames++
      return
    }
    let body: Uint8Array | undefined
    try {
      body = handshake.reassembler.accept(frame)
    } catch {
      this.forgedFrames++
      return
    }
    if (body === undefined) return
    const answer = handshake.answer(frame.type, frame.token, body)
    if (answer.kind === 'forged') {
      this.forgedFrames++
      return
    }
    if (answer.kind !== 'challenge') return
    this.token = answer.token
    this.requests
      ?.write({ type: FrameType.PROOF, flags: 0, token: this.token, callId: 0 }, EMPTY)
      .catch((error: unknown) => handshake.fail(toRpcError(this.transport, error, Code.UNAVAILABLE)))
  }

  private onBodyFrame(frame: Frame): void {
    let body: Uint8Array | undefined
    try {
      body = this.reassembler.accept(frame)
    } catch (error) {
      if (!(error instanceof ReassemblyError)) throw error
      this.bodyDropped(error)
      return
    }
    if (body === undefined) return
    if (frame.type === FrameType.EVENT) {
      this.onEvent(body)
      return
    }
    // A reply to a call that already ended (deadline, cancel) is dropped here.
    const call = this.calls.finish(frame.callId)
    if (call === undefined) return
    this.pump()
    try {
      const value = decodeBody(body, frame.type === FrameType.ERROR ? 'ERROR' : 'RESPONSE')
      if (frame.type === FrameType.ERROR) call.reject(rpcErrorFromWire(value))
      else call.resolve(value === undefined ? null : value)
    } catch (error) {
      call.reject(RpcError.from(error, Code.INTERNAL))
    }
  }

  /** A reply body broke a reassembly bound: its call fails; anything else is reported. */
  private bodyDropped(error: ReassemblyError): void {
    const isReply = error.type === FrameType.RESPONSE || error.type === FrameType.ERROR
    const call = isReply ? this.calls.finish(error.callId) : undefined
    if (call === undefined) {
      this.fire('error', error)
      return
    }
    call.reject(new RpcError(Code.RESOURCE_EXHAUSTED, `reply dropped: ${error.message}`))
    this.pump()
  }

  private onEvent(body: Uint8Array): void {
    try {
      const [name, payload] = readEvent(decodeBody(body, 'EVENT'))
      const checker = this.service.events.get(name)
      if (checker === undefined || !checker.check(payload)) {
        this.fire(
          'error',
          new RpcError(Code.INVALID_ARGUMENT, `dropped event '${name}': unknown to this client's schema or not matching it`),
        )
        return
      }
      this.fire(name, payload)
    } catch (error) {
      this.fire('error', RpcError.from(error))
    }
  }

  private beat(): void {
    if (this.stateNow !== 'open' && this.stateNow !== 'draining') return
    if (silentTooLong(this.lastHeard, this.heartbeatMs)) {
      this.lost(
        new RpcError(
          Code.UNAVAILABLE,
          `server on ${this.options.queue} stopped answering heartbeats (${silenceLimitMs(this.heartbeatMs)} ms)`,
        ),
      )
      return
    }
    // Partial bodies are bounded in time on this side too.
    for (const dropped of this.reassembler.sweep()) this.bodyDropped(dropped)
    this.trySendControl(FrameType.PING)
  }

  /** Control frames never wait: a server whose lane is full or gone is noticed by the heartbeat. */
  private trySendControl(type: FrameType, callId = 0, urgent = false): void {
    const writer = urgent ? this.urgent : this.requests
    writer?.tryWrite(
      { type, flags: urgent ? FrameFlag.URGENT : 0, token: this.token, callId },
      EMPTY,
      urgent ? URGENT_PRIORITY : NORMAL_PRIORITY,
    )
  }

  /** The session is gone: fail what is in flight, and make a new one when allowed. */
  private lost(reason: RpcError): void {
    if (this.stateNow === 'closed' || this.stateNow === 'disconnected') return
    this.stateNow = 'disconnected'
    this.token = 0n
    clearInterval(this.heartbeat)
    this.reassembler.clear()
    this.calls.failInFlight(reason)
    this.fire('disconnect', reason)
    void this.dropServerLanes()
    if (this.options.reconnect) this.reconnecting ??= this.reconnectLoop()
    // No session will come to send them in: calls waiting now would wait forever.
    else for (const call of this.calls.takeWaiting()) call.reject(reason)
  }

  private async reconnectLoop(): Promise<void> {
    const release = this.keepalive.hold()
    try {
      const connected = await retryWithBackoff(
        () => this.connect(this.options.reconnectTimeoutMs),
        () => this.stateNow === 'disconnected',
      )
      if (connected) this.fire('reconnect')
    } finally {
      this.reconnecting = undefined
      release()
    }
  }

  private async dropServerLanes(): Promise<void> {
    const writers = [this.requests, this.urgent]
    this.requests = undefined
    this.urgent = undefined
    for (const writer of writers) await writer?.endpoint.close()
  }

  /** Listeners of the service's own events hold the client (src/rpc/client-keepalive.ts); lifecycle listeners do not. */
  protected override listenersChanged(): void {
    let listening = false
    for (const name of this.service.events.keys()) listening ||= this.listenerCount(name as never) > 0
    this.keepalive.listen(listening)
  }

  /** @internal Emits without the per-event typing, which a generic S cannot narrow inside the class. */
  fire(event: string, ...args: unknown[]): void {
    ;(this as unknown as EventEmitter).emit(event, ...args)
  }

  private noReconnectError(): RpcError {
    return new RpcError(
      Code.UNAVAILABLE,
      `client of '${this.service.name}' lost its session on ${this.options.queue} and does not reconnect (reconnect: false)`,
    )
  }

  private closedError(): RpcError {
    return new RpcError(Code.CANCELLED, `client of '${this.service.name}' on ${this.options.queue} was closed`)
  }
}

/** @deprecated the old name of {@link ServiceClient}. */
export const ClientCore = ServiceClient
/** @deprecated the old name of {@link ServiceClient}. */
export type ClientCore<S extends AnyService> = ServiceClient<S>

/** Connects a typed client to the server on `options.queue`. Rejects with UNAVAILABLE when none answers in time. */
export async function createClient<S extends AnyService>(service: S, options: ClientOptions): Promise<Client<S>> {
  const transport = options.transport ?? defaultTransport
  const resolved = resolveClientOptions(options, transport)
  let reply: ReplyPath
  try {
    reply = await transport.openReplyPath({
      ...(resolved.replyMaxMessages === undefined ? {} : { maxMessages: resolved.replyMaxMessages }),
      ...(resolved.replyMessageSize === undefined ? {} : { messageSize: resolved.replyMessageSize }),
    })
  } catch (error) {
    throw toRpcError(transport, error, Code.UNAVAILABLE)
  }
  const client = new ServiceClient(service, resolved, reply)
  for (const name of service.methods.keys()) {
    const streamed = service.methods.get(name)?.stream !== undefined
    Object.defineProperty(client, name, {
      value: (input: unknown, callOptions?: CallOptions) =>
        streamed ? client.stream(name, input, callOptions) : client.call(name, input, callOptions),
      enumerable: true,
    })
  }
  try {
    await client.connect(resolved.connectTimeoutMs)
  } catch (error) {
    await client.close()
    throw error
  }
  // Fired once the caller's await has resumed: fired here, before the
  // client is returned, no listener could ever hear it.
  setImmediate(() => {
    if (client.state !== 'closed') client.fire('connect')
  })
  return client as Client<S>
}
