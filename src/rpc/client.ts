/**
 * The client: owns a private reply queue, shakes hands with the server,
 * sends calls through the request queue or the urgent lane, routes replies
 * to their callers, keeps the session alive with heartbeats, and reconnects
 * on its own when the server goes away.
 * @module
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { EventEmitter } from 'eventemitter3'
import { type Frame, FrameError, FrameFlag, FrameType, forEachFrame } from '../protocol/frame.js'
import { FrameWriter } from '../protocol/frame-writer.js'
import { MessageQueue } from '../transport/mq/message-queue.js'
import { MqError } from '../transport/mq/mq-error.js'
import { Reassembler, ReassemblyError } from '../protocol/reassembly.js'
import { setClampedTimeout } from '../util/settle-once.js'
import type { CallOptions, ClientOptions } from './client-options.js'
import { Code } from '../protocol/code.js'
import { forget, removeOnExit } from '../transport/mq/exit-cleanup.js'
import { PendingCall } from './pending-call.js'
import { replyQueueName, urgentLaneName } from '../transport/mq/queue-naming.js'
import { RpcError, rpcErrorFromWire } from './rpc-error.js'
import { diffServiceShapes } from './schema-diff.js'
import {
  type AnyService,
  type EventName,
  type EventPayload,
  type MethodInput,
  type MethodName,
  type MethodOutput,
  serviceShape,
} from './service.js'
import { NORMAL_PRIORITY, URGENT_PRIORITY } from './session.js'
import { decodeBody, EMPTY, encodeBody, readEvent, readGoodbye, readNonce, readWelcome, WIRE_PROTOCOL } from '../protocol/wire.js'

/** Where a client stands. */
export type ClientState = 'connecting' | 'open' | 'draining' | 'disconnected' | 'closed'

/** Events a client emits: the service's own, typed from its schemas, and lifecycle events. */
export type ClientEvents<S extends AnyService> = {
  [K in EventName<S>]: [payload: EventPayload<S, K>]
} & {
  /** The first handshake finished. */
  connect: []
  /** The session was lost (server gone, restarted or shut down); calls in flight failed with UNAVAILABLE. */
  disconnect: [reason: RpcError]
  /** A new session was made after a disconnect. */
  reconnect: []
  /** Something went wrong that no call will report (a forged or malformed frame, a bad event). */
  error: [error: Error]
}

/** The typed methods of a client of service `S`. */
export type ClientMethods<S extends AnyService> = {
  readonly [K in MethodName<S>]: (input: MethodInput<S, K>, options?: CallOptions) => Promise<MethodOutput<S, K>>
}

/** A client of service `S`: its methods, plus events, `call`, `state` and `close`. */
export type Client<S extends AnyService> = ClientCore<S> & ClientMethods<S>

interface Handshake {
  readonly nonce: Uint8Array
  stage: 'challenge' | 'welcome'
  resolve(): void
  reject(error: RpcError): void
}

const HANDSHAKE_TIMEOUT_MS = 2000

export class ClientCore<S extends AnyService> extends EventEmitter<ClientEvents<S>> {
  private stateNow: ClientState = 'connecting'
  private token = 0n
  private requests: FrameWriter | undefined
  private urgent: FrameWriter | undefined
  private readonly pending = new Map<number, PendingCall>()
  private readonly waiting: PendingCall[] = []
  private readonly reassembler: Reassembler
  private handshake: Handshake | undefined
  private nextId = 0
  private heartbeatMs = 1000
  private lastHeard = Date.now()
  private heartbeat: NodeJS.Timeout | undefined
  private reconnecting: Promise<void> | undefined
  private maxRequestBytes = Number.POSITIVE_INFINITY
  /** The server's maxInFlight (from WELCOME): calls past it wait here instead of being refused there. */
  private maxInFlight = Number.POSITIVE_INFINITY
  /** Frames dropped because their token was wrong: forged or stale. */
  forgedFrames = 0

  /** @internal use {@link createClient} */
  constructor(
    readonly service: S,
    private readonly options: ClientOptions,
    private readonly reply: MessageQueue,
  ) {
    super()
    this.reassembler = new Reassembler({ maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024 })
    reply.consume((data) => this.onMessage(data))
  }

  /** Where the client stands now. */
  get state(): ClientState {
    return this.stateNow
  }

  /** The name of this client's private reply queue. */
  get replyQueue(): string {
    return this.reply.name
  }

  /**
   * Calls `method` by name. The typed methods (`client.add(...)`) use this;
   * it also takes names the schema does not know (they reach the server,
   * which answers UNIMPLEMENTED) and the built-ins `$describe` and `$stats`.
   */
  call(method: string, input: unknown, options: CallOptions = {}): Promise<unknown> {
    const spec = this.service.methods.get(method)
    const urgent = (options.priority ?? spec?.priority) === 'urgent'
    const oneWay = spec?.oneWay ?? false
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs
    if (this.stateNow === 'closed') return Promise.reject(this.closedError())
    if (this.stateNow === 'disconnected' && this.options.reconnect === false) return Promise.reject(this.noReconnectError())
    if (options.signal?.aborted) {
      return Promise.reject(new RpcError(Code.CANCELLED, `call to '${method}' was cancelled before it was sent`))
    }
    return new Promise((resolve, reject) => {
      const call = new PendingCall(method, input, deadline, urgent, oneWay, options.signal, resolve, reject, (c) =>
        this.forget(c),
      )
      if (this.stateNow === 'open') this.send(call)
      else this.waiting.push(call)
    })
  }

  /** Ends the session, fails what is pending with CANCELLED, and removes the reply queue. */
  async close(): Promise<void> {
    if (this.stateNow === 'closed') return
    const wasOpen = this.stateNow === 'open' || this.stateNow === 'draining'
    this.stateNow = 'closed'
    clearInterval(this.heartbeat)
    if (wasOpen) this.trySendControl(FrameType.GOODBYE)
    this.handshake?.reject(this.closedError())
    this.failAll(this.closedError())
    await this.dropServerQueues()
    await this.reply.close()
    forget(this.reply.name)
    try {
      MessageQueue.unlink(this.reply.name)
    } catch {
      // Removed already (by `mqrpc gc`, or by a server that saw us as dead).
    }
  }

  /** @internal Makes the first session, or a new one after a disconnect. */
  async connect(timeoutMs: number): Promise<void> {
    await this.dropServerQueues()
    const queue = this.options.queue
    let requests: MessageQueue
    let urgent: MessageQueue
    try {
      requests = MessageQueue.open(queue, { access: 'write' })
      urgent = MessageQueue.open(urgentLaneName(queue), { access: 'write' })
    } catch (error) {
      if (error instanceof MqError && error.code === 'ENOENT') {
        throw new RpcError(
          Code.UNAVAILABLE,
          `no server is listening on ${queue} (the queue does not exist): start the server, or check the queue name`,
          undefined,
          { cause: error },
        )
      }
      throw RpcError.from(error)
    }
    // No send timeout: a call waits for room in a busy server's queue for as
    // long as its own deadline allows (back-pressure, not failure). Only the
    // HELLO is bounded, by the handshake timer below.
    this.requests = new FrameWriter(requests)
    this.urgent = new FrameWriter(urgent)
    const nonce = randomBytes(8)
    const done = new Promise<void>((resolve, reject) => {
      this.handshake = { nonce, stage: 'challenge', resolve, reject }
    })
    // The timer (or close) may reject this while the HELLO write still waits
    // on a full queue; `await done` below reports it, so it is not unhandled.
    done.catch(() => undefined)
    const timer = setClampedTimeout(
      () =>
        this.handshake?.reject(
          new RpcError(
            Code.UNAVAILABLE,
            `server on ${queue} did not finish the handshake within ${timeoutMs} ms; is it overloaded or hung?`,
          ),
        ),
      timeoutMs,
    )
    try {
      const hello = {
        protocol: WIRE_PROTOCOL,
        service: this.service.name,
        replyQueue: this.reply.name,
        pid: process.pid,
        nonce,
        ...(this.options.fingerprint === false ? {} : { fingerprint: this.options.fingerprint ?? this.service.fingerprint }),
      }
      const helloSent = this.requests.write({ type: FrameType.HELLO, flags: 0, token: 0n, callId: 0 }, encodeBody(hello))
      // Rejected (queue closed) when the timer gives up on a full queue first.
      helloSent.catch(() => undefined)
      await Promise.race([helloSent, done])
      await done
    } catch (error) {
      await this.dropServerQueues()
      throw RpcError.from(error, Code.UNAVAILABLE)
    } finally {
      clearTimeout(timer)
      this.handshake = undefined
    }
    this.stateNow = 'open'
    this.lastHeard = Date.now()
    clearInterval(this.heartbeat)
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs)
    for (const call of this.waiting.splice(0)) if (!call.settled) this.send(call)
  }

  private send(call: PendingCall): void {
    const writer = call.urgent ? this.urgent : this.requests
    if (writer === undefined || (!call.oneWay && this.pending.size >= this.maxInFlight)) {
      this.waiting.push(call)
      return
    }
    let body: Uint8Array
    try {
      body = encodeBody([call.method, call.input, call.deadline ?? null])
    } catch (error) {
      call.reject(new RpcError(Code.INVALID_ARGUMENT, `input of '${call.method}' cannot be encoded: ${(error as Error).message}`))
      return
    }
    if (body.byteLength > this.maxRequestBytes) {
      call.reject(
        new RpcError(
          Code.RESOURCE_EXHAUSTED,
          `input of '${call.method}' is ${body.byteLength} bytes; the server accepts at most ${this.maxRequestBytes} (its maxBodyBytes)`,
        ),
      )
      return
    }
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1
    call.id = this.nextId
    if (!call.oneWay) this.pending.set(call.id, call)
    const flags = (call.urgent ? FrameFlag.URGENT : 0) | (call.oneWay ? FrameFlag.ONE_WAY : 0)
    const header = { type: FrameType.REQUEST, flags, token: this.token, callId: call.id }
    writer.write(header, body, call.urgent ? URGENT_PRIORITY : NORMAL_PRIORITY).then(
      () => {
        if (call.oneWay) call.resolve(undefined)
      },
      (error: unknown) => {
        this.pending.delete(call.id)
        call.reject(RpcError.from(error, Code.UNAVAILABLE))
        this.pump()
      },
    )
  }

  /** A call ended early (deadline or abort): forget it, and tell the server so it stops. */
  private forget(call: PendingCall): void {
    const index = this.waiting.indexOf(call)
    if (index !== -1) this.waiting.splice(index, 1)
    if (call.id !== 0 && this.pending.delete(call.id)) {
      this.trySendControl(FrameType.CANCEL, call.id, call.urgent)
      this.pump()
    }
  }

  /** Sends calls that waited for room under the server's maxInFlight, in the order they were made. */
  private pump(): void {
    while (this.stateNow === 'open' && this.pending.size < this.maxInFlight && this.waiting.length > 0) {
      const call = this.waiting.shift() as PendingCall
      if (!call.settled) this.send(call)
    }
  }

  private onMessage(data: Uint8Array): void {
    try {
      forEachFrame(data, (frame) => this.onFrame(frame))
    } catch (error) {
      if (!(error instanceof FrameError)) throw error
      this.fire(
        'error',
        new RpcError(Code.INVALID_ARGUMENT, `dropped a malformed message in reply queue ${this.reply.name}: ${error.message}`),
      )
    }
  }

  private onFrame(frame: Frame): void {
    const handshake = this.handshake
    if (frame.type === FrameType.CHALLENGE || frame.type === FrameType.REJECT) {
      this.onHandshakeFrame(frame, handshake)
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
        this.onControlFrame(frame, handshake)
        return
      case FrameType.RESPONSE:
      case FrameType.ERROR:
      case FrameType.EVENT:
        this.onBodyFrame(frame)
        return
      default:
        return // PONG: lastHeard is all it is for.
    }
  }

  /** WELCOME and GOODBYE: like any body, they span frames when the reply queue's messages are small. */
  private onControlFrame(frame: Frame, handshake: Handshake | undefined): void {
    let goodbye: ReturnType<typeof readGoodbye>
    try {
      const body = this.reassembler.accept(frame)
      if (body === undefined) return
      const value = decodeBody(body, frame.type === FrameType.WELCOME ? 'WELCOME' : 'GOODBYE')
      if (frame.type === FrameType.WELCOME) {
        if (handshake?.stage !== 'welcome') return
        const welcome = readWelcome(value)
        this.heartbeatMs = welcome.heartbeatMs
        this.maxRequestBytes = welcome.maxBodyBytes
        this.maxInFlight = welcome.maxInFlight
        handshake.resolve()
        return
      }
      goodbye = readGoodbye(value)
    } catch (error) {
      const reason = RpcError.from(error)
      if (frame.type === FrameType.WELCOME && handshake !== undefined) handshake.reject(reason)
      else this.fire('error', reason)
      return
    }
    if (goodbye.draining) {
      this.stateNow = 'draining'
    } else {
      this.lost(new RpcError(Code.UNAVAILABLE, goodbye.message))
    }
  }

  private onHandshakeFrame(frame: Frame, handshake: Handshake | undefined): void {
    // The nonce was sent only to the server (whose request queue no one else
    // reads), so a CHALLENGE or REJECT without it was not written by the server.
    // A REJECT may carry the server's whole schema, so it can span frames.
    // Outside a handshake they are forged: drop them before they can hold
    // a partial body (and a slot of maxPartials) in the reassembler.
    if (handshake === undefined) {
      this.forgedFrames++
      return
    }
    let body: Uint8Array | undefined
    let nonce: Uint8Array
    try {
      body = this.reassembler.accept(frame)
      if (body === undefined) return
      nonce = readNonce(decodeBody(body, 'handshake'), 'handshake')
    } catch {
      this.forgedFrames++
      return
    }
    if (nonce.byteLength !== handshake.nonce.byteLength || !timingSafeEqual(nonce, handshake.nonce)) {
      this.forgedFrames++
      return
    }
    if (frame.type === FrameType.REJECT) {
      handshake.reject(this.explainRefusal(rpcErrorFromWire(decodeBody(body, 'REJECT'))))
      return
    }
    if (handshake.stage !== 'challenge' || frame.token === 0n) return
    handshake.stage = 'welcome'
    this.token = frame.token
    this.requests
      ?.write({ type: FrameType.PROOF, flags: 0, token: this.token, callId: 0 }, EMPTY)
      .catch((error: unknown) => handshake.reject(RpcError.from(error, Code.UNAVAILABLE)))
  }

  /** A fingerprint refusal carries the server's shape: say what differs. */
  private explainRefusal(error: RpcError): RpcError {
    const details = error.details as { shape?: unknown } | undefined
    if (error.code !== Code.FAILED_PRECONDITION || details?.shape === undefined) return error
    const lines = diffServiceShapes(serviceShape(this.service), details.shape)
    if (lines.length === 0) return error
    return new RpcError(error.code, `${error.rawMessage}. Differences: ${lines.join('; ')}`, { ...details, differences: lines })
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
    const call = this.pending.get(frame.callId)
    // A reply to a call that already ended (deadline, cancel) is dropped here.
    if (call === undefined) return
    this.pending.delete(frame.callId)
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
    const call = isReply ? this.pending.get(error.callId) : undefined
    if (call === undefined) {
      this.fire('error', error)
      return
    }
    this.pending.delete(error.callId)
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
    if (Date.now() - this.lastHeard > 3 * this.heartbeatMs) {
      this.lost(
        new RpcError(
          Code.UNAVAILABLE,
          `server on ${this.options.queue} stopped answering heartbeats (${3 * this.heartbeatMs} ms)`,
        ),
      )
      return
    }
    // Partial bodies are bounded in time on this side too.
    for (const dropped of this.reassembler.sweep()) this.bodyDropped(dropped)
    this.trySendControl(FrameType.PING)
  }

  /** Control frames never wait: a full queue means the server will notice by other means. */
  private trySendControl(type: FrameType, callId = 0, urgent = false): void {
    // A server whose queue is full or gone is noticed by the heartbeat.
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
    for (const call of this.pending.values()) call.reject(reason)
    this.pending.clear()
    this.fire('disconnect', reason)
    void this.dropServerQueues()
    if (this.options.reconnect !== false) this.reconnecting ??= this.reconnectLoop()
    // No session will come to send them in: calls waiting now would wait forever.
    else for (const call of this.waiting.splice(0)) call.reject(reason)
  }

  private async reconnectLoop(): Promise<void> {
    let delay = 50
    try {
      while (this.stateNow === 'disconnected') {
        try {
          await this.connect(HANDSHAKE_TIMEOUT_MS)
          this.fire('reconnect')
          return
        } catch {
          if ((this.stateNow as ClientState) === 'closed') return
          await new Promise((resolve) => setTimeout(resolve, delay))
          delay = Math.min(1000, delay * 2)
        }
      }
    } finally {
      this.reconnecting = undefined
    }
  }

  private failAll(error: RpcError): void {
    for (const call of this.pending.values()) call.reject(error)
    this.pending.clear()
    for (const call of this.waiting.splice(0)) call.reject(error)
  }

  private async dropServerQueues(): Promise<void> {
    const writers = [this.requests, this.urgent]
    this.requests = undefined
    this.urgent = undefined
    for (const writer of writers) await writer?.queue.close()
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

/** Connects a typed client to the server on `options.queue`. Rejects with UNAVAILABLE when none answers in time. */
export async function createClient<S extends AnyService>(service: S, options: ClientOptions): Promise<Client<S>> {
  const reply = MessageQueue.open(replyQueueName(), {
    create: true,
    exclusive: true,
    mode: 0o622,
    access: 'read',
    maxMessages: options.replyMaxMessages ?? 10,
    messageSize: options.replyMessageSize ?? 1024,
  })
  removeOnExit(reply.name)
  const core = new ClientCore(service, options, reply)
  for (const name of service.methods.keys()) {
    Object.defineProperty(core, name, {
      value: (input: unknown, callOptions?: CallOptions) => core.call(name, input, callOptions),
      enumerable: true,
    })
  }
  try {
    await core.connect(options.connectTimeoutMs ?? 5000)
  } catch (error) {
    await core.close()
    throw error
  }
  // Fired once the caller's await has resumed: fired here, before the
  // client is returned, no listener could ever hear it.
  setImmediate(() => {
    if (core.state !== 'closed') core.fire('connect')
  })
  return core as Client<S>
}
