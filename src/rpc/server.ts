/**
 * The server: reads the request queue and the urgent lane from the event
 * loop, runs the handshake, routes frames to sessions, and dispatches calls.
 * @module
 */
import { EventEmitter } from 'eventemitter3'
import { type Frame, FrameError, FrameFlag, FrameType, forEachFrame } from '../protocol/frame.js'
import { FrameWriter } from '../protocol/frame-writer.js'
import { MessageQueue } from '../transport/mq/message-queue.js'
import { ReassemblyError } from '../protocol/reassembly.js'
import { Code } from '../protocol/code.js'
import type { CallContext } from './context.js'
import { type AnyHandler, type BuiltinHandler, type DispatchDeps, dispatchRequest } from './dispatch.js'
import { openSession, Refusal } from './handshake.js'
import { describeService, serverFigures } from './introspection.js'
import { processAlive } from '../transport/mq/process-alive.js'
import { pidOfReplyQueue, urgentLaneName } from '../transport/mq/queue-naming.js'
import { RateLimiter } from './rate-limiter.js'
import { RpcError, rpcErrorToWire } from './rpc-error.js'
import { Scheduler } from './scheduler.js'
import { type ResolvedServerOptions, resolveServerOptions, type ServerOptions } from './server-options.js'
import {
  type AnyService,
  assertValid,
  type EventName,
  type EventPayload,
  type MethodInput,
  type MethodName,
  type MethodOutput,
} from './service.js'
import type { Session } from './session.js'
import { ServerStats } from './stats.js'
import { claimQueue, replaceQueue } from '../transport/mq/takeover.js'
import { decodeBody, encodeBody, readHello } from '../protocol/wire.js'

/** The handler of every method of service `S`, typed from its schemas. */
export type Handlers<S extends AnyService> = {
  readonly [K in MethodName<S>]: (input: MethodInput<S, K>, ctx: CallContext) => MethodOutput<S, K> | Promise<MethodOutput<S, K>>
}

/** Lifecycle events of a server (listen with `server.on`). */
export interface ServerEvents {
  /** A client finished its handshake. */
  session: [info: SessionInfo]
  /** A session ended: closed by the client, reaped, or refused later. */
  sessionEnd: [info: SessionInfo, reason: RpcError]
  /** Something went wrong that no caller will see whole (a handler's crash, a malformed message). */
  error: [error: Error]
}

/** What the server tells about a session. */
export interface SessionInfo {
  readonly id: string
  readonly peer: Session['peer']
}

/** A running server. */
export class Server<S extends AnyService> {
  private readonly lifecycle = new EventEmitter<ServerEvents>()
  private readonly sessions = new Map<bigint, Session>()
  private readonly uidSessions = new Map<number, number>()
  private readonly uidLimiters = new Map<number, RateLimiter>()
  private readonly stats = new ServerStats()
  private readonly scheduler: Scheduler
  private readonly deps: DispatchDeps
  private readonly sweeper: NodeJS.Timeout
  private eventSeq = 0
  private closing: Promise<void> | undefined

  /** @internal use {@link createServer} */
  constructor(
    readonly service: S,
    handlers: Handlers<S>,
    private readonly options: ResolvedServerOptions,
    private readonly requests: MessageQueue,
    private readonly urgent: MessageQueue,
  ) {
    this.scheduler = new Scheduler({
      concurrency: options.concurrency,
      urgentReserve: options.urgentReserve,
      pollUrgent: () => urgent.drainNow(),
    })
    const builtins = new Map<string, BuiltinHandler>([
      ['$describe', () => describeService(service, options.queue)],
      ['$stats', () => serverFigures(service, this.sessions.values(), this.sessionCount, this.scheduler, this.stats)],
    ])
    this.deps = {
      service,
      handlers: handlers as unknown as Record<string, AnyHandler>,
      builtins,
      options,
      scheduler: this.scheduler,
      stats: this.stats,
      uidLimiter: (uid) => this.uidLimiter(uid),
      reportError: (error) => this.lifecycle.emit('error', error),
      sendFailed: (session, error) =>
        this.endSession(
          session,
          new RpcError(
            Code.RESOURCE_EXHAUSTED,
            `could not write to reply queue ${session.replyQueue.name}: ${(error as Error).message}${
              (error as { code?: unknown }).code === 'ETIMEDOUT'
                ? ` (slowReaderMs ${options.slowReaderMs}: the client is not reading its replies)`
                : ''
            }`,
          ),
        ),
    }
    requests.consume((data) => this.onMessage(data))
    urgent.consume((data) => this.onMessage(data))
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.floor(options.heartbeatMs / 2)))
  }

  /** The request queue's name. */
  get queue(): string {
    return this.options.queue
  }

  /** Sessions open now. */
  get sessionCount(): number {
    let open = 0
    for (const session of this.sessions.values()) if (session.state === 'open') open++
    return open
  }

  on<K extends keyof ServerEvents>(event: K, listener: (...args: ServerEvents[K]) => void): this {
    this.lifecycle.on(event, listener as never)
    return this
  }

  once<K extends keyof ServerEvents>(event: K, listener: (...args: ServerEvents[K]) => void): this {
    this.lifecycle.once(event, listener as never)
    return this
  }

  off<K extends keyof ServerEvents>(event: K, listener: (...args: ServerEvents[K]) => void): this {
    this.lifecycle.off(event, listener as never)
    return this
  }

  /** Pushes a service event to every connected client. The payload is checked against its schema first. */
  emit<K extends EventName<S>>(event: K, payload: EventPayload<S, K>): void {
    const checker = this.service.events.get(event)
    if (checker === undefined) throw new RpcError(Code.INVALID_ARGUMENT, `service '${this.service.name}' has no event '${event}'`)
    assertValid(checker, payload, `payload of event '${event}'`)
    this.eventSeq = (this.eventSeq + 1) >>> 0
    const body = encodeBody([event, payload])
    for (const session of this.sessions.values()) {
      if (session.state !== 'open') continue
      session.writer.post({ type: FrameType.EVENT, flags: 0, token: session.token, callId: this.eventSeq }, body, 0, (error) => {
        if (error !== undefined) this.deps.sendFailed(session, error)
      })
    }
  }

  /**
   * Stops accepting, lets calls in flight finish (up to shutdownGraceMs),
   * tells every client, and removes the server's queues.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown()
    return this.closing
  }

  private async shutDown(): Promise<void> {
    // Unlink first: new clients fail fast and a new server may start.
    for (const queue of [this.requests, this.urgent]) {
      try {
        MessageQueue.unlink(queue.name)
      } catch {
        // Already gone (removed by hand or by a server that took over).
      }
    }
    const draining = { code: Code.UNAVAILABLE, message: `server on ${this.queue} is shutting down`, draining: true }
    await Promise.allSettled([...this.sessions.values()].map((s) => s.state === 'open' && s.send(FrameType.GOODBYE, 0, draining)))
    const deadline = Date.now() + this.options.shutdownGraceMs
    while (this.scheduler.active + this.scheduler.waiting > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const reason = new RpcError(Code.UNAVAILABLE, `server on ${this.queue} shut down before the call finished`)
    await Promise.allSettled(
      [...this.sessions.values()].map(async (session) => {
        for (const callId of session.inFlight.keys()) {
          await session.sendError(callId, reason).catch(() => undefined)
        }
        if (session.state === 'open')
          await session.send(FrameType.GOODBYE, 0, { ...draining, draining: false }).catch(() => undefined)
      }),
    )
    const closed = new RpcError(Code.UNAVAILABLE, `server on ${this.queue} shut down`)
    await Promise.allSettled([...this.sessions.values()].map((session) => this.endSession(session, closed)))
    clearInterval(this.sweeper)
    await this.requests.close()
    await this.urgent.close()
  }

  private onMessage(data: Uint8Array): void {
    try {
      forEachFrame(data, (frame) => this.onFrame(frame))
    } catch (error) {
      if (!(error instanceof FrameError)) throw error
      this.stats.dropped.malformed++
      this.lifecycle.emit(
        'error',
        new RpcError(Code.INVALID_ARGUMENT, `dropped a malformed message on ${this.queue}: ${error.message}`),
      )
    }
  }

  private onFrame(frame: Frame): void {
    if (frame.token === 0n) {
      if (frame.type === FrameType.HELLO && this.closing === undefined) this.onHello(frame)
      else this.stats.dropped.unknownSession++
      return
    }
    const session = this.sessions.get(frame.token)
    if (session === undefined || session.state === 'closed') {
      this.stats.dropped.unknownSession++
      return
    }
    session.lastSeen = Date.now()
    switch (frame.type) {
      case FrameType.PROOF:
        if (session.state === 'handshake') this.welcome(session)
        return
      case FrameType.REQUEST:
        if (session.state === 'open') this.onRequest(session, frame)
        return
      case FrameType.CANCEL:
        session.inFlight.get(frame.callId)?.controller.abort(new RpcError(Code.CANCELLED, 'the caller cancelled the call'))
        return
      case FrameType.PING:
        session.send(FrameType.PONG, 0, undefined).catch((error: unknown) => this.deps.sendFailed(session, error))
        return
      case FrameType.GOODBYE:
        void this.endSession(session, new RpcError(Code.CANCELLED, 'the client closed the session'))
        return
      default: {
        session.malformed++
        this.stats.dropped.malformed++
        const type = Object.keys(FrameType).find((name) => FrameType[name as keyof typeof FrameType] === frame.type)
        this.lifecycle.emit(
          'error',
          new RpcError(
            Code.INVALID_ARGUMENT,
            `dropped a ${type} frame from session ${session.id} on ${this.queue}: clients do not send those`,
          ),
        )
      }
    }
  }

  private onRequest(session: Session, frame: Frame): void {
    // A one-way caller waits for nothing: it gets no ERROR either.
    const oneWay = (frame.flags & FrameFlag.ONE_WAY) !== 0
    let body: Uint8Array | undefined
    try {
      body = session.reassembler.accept(frame)
    } catch (error) {
      if (!(error instanceof ReassemblyError)) throw error
      this.stats.dropped.overLimit++
      // Size and partial-count bounds are quotas (like maxInFlight); a chunk that does not fit what came before is bad input.
      const code =
        error.reason === 'too-large' || error.reason === 'too-many-partials' ? Code.RESOURCE_EXHAUSTED : Code.INVALID_ARGUMENT
      if (!oneWay) session.sendError(frame.callId, new RpcError(code, `request dropped: ${error.message}`)).catch(() => undefined)
      return
    }
    if (body === undefined) return
    if (this.closing !== undefined) {
      if (!oneWay)
        session
          .sendError(frame.callId, new RpcError(Code.UNAVAILABLE, `server on ${this.queue} is shutting down`))
          .catch(() => undefined)
      return
    }
    dispatchRequest(session, frame.callId, frame.flags, body, this.deps)
  }

  private onHello(frame: Frame): void {
    let result: Session | Refusal
    try {
      if (frame.chunk.byteLength !== frame.bodyLength) throw new RpcError(Code.INVALID_ARGUMENT, 'HELLO must fit in one frame')
      const hello = readHello(decodeBody(frame.chunk, 'HELLO'))
      result = openSession(hello, {
        service: this.service,
        options: this.options,
        openSessions: this.sessionCount,
        handshakes: this.sessions.size - this.sessionCount,
        sessionsOfUid: (uid) => this.uidSessions.get(uid) ?? 0,
      })
      if (result instanceof Refusal) {
        const refusal = result
        const writer = new FrameWriter(refusal.replyQueue, { sendTimeoutMs: this.options.handshakeTimeoutMs })
        const body = encodeBody({ nonce: hello.nonce, ...rpcErrorToWire(refusal.error) })
        void writer
          .write({ type: FrameType.REJECT, flags: 0, token: 0n, callId: 0 }, body)
          .catch(() => undefined)
          .finally(() => refusal.replyQueue.close())
        return
      }
    } catch (error) {
      this.stats.dropped.malformed++
      this.lifecycle.emit(
        'error',
        new RpcError(Code.INVALID_ARGUMENT, `dropped a HELLO on ${this.queue}: ${(error as Error).message}`),
      )
      return
    }
    const session = result
    this.sessions.set(session.token, session)
    session.send(FrameType.CHALLENGE, 0, { nonce: session.nonce }).catch((error: unknown) => this.deps.sendFailed(session, error))
  }

  private welcome(session: Session): void {
    // Counted per uid from here: a HELLO alone proves nothing about who sent
    // it, so half-open handshakes must not use up their victim's quota.
    if ((this.uidSessions.get(session.peer.uid) ?? 0) >= this.options.maxSessionsPerUid) {
      const reason = new RpcError(
        Code.RESOURCE_EXHAUSTED,
        `uid ${session.peer.uid} has its maximum of ${this.options.maxSessionsPerUid} sessions (maxSessionsPerUid); close some clients`,
      )
      session.tryGoodbye(reason)
      void this.endSession(session, reason)
      return
    }
    this.uidSessions.set(session.peer.uid, (this.uidSessions.get(session.peer.uid) ?? 0) + 1)
    session.state = 'open'
    const welcome = {
      service: this.service.name,
      fingerprint: this.service.fingerprint,
      heartbeatMs: this.options.heartbeatMs,
      maxBodyBytes: this.options.maxBodyBytes,
      maxInFlight: this.options.maxInFlight,
    }
    session.send(FrameType.WELCOME, 0, welcome).catch((error: unknown) => this.deps.sendFailed(session, error))
    this.lifecycle.emit('session', { id: session.id, peer: session.peer })
  }

  private async endSession(session: Session, reason: RpcError): Promise<void> {
    if (session.state === 'closed' || !this.sessions.has(session.token)) return
    const wasOpen = session.state === 'open'
    this.sessions.delete(session.token)
    if (wasOpen) {
      const left = (this.uidSessions.get(session.peer.uid) ?? 1) - 1
      if (left > 0) this.uidSessions.set(session.peer.uid, left)
      else this.uidSessions.delete(session.peer.uid)
    }
    await session.end(reason)
    if (wasOpen) this.lifecycle.emit('sessionEnd', { id: session.id, peer: session.peer }, reason)
  }

  private sweep(): void {
    const now = Date.now()
    const silentFor = 3 * this.options.heartbeatMs
    for (const session of this.sessions.values()) {
      if (session.state === 'handshake') {
        if (now - session.openedAt > this.options.handshakeTimeoutMs) {
          void this.endSession(session, new RpcError(Code.DEADLINE_EXCEEDED, 'handshake did not finish in time'))
        }
        continue
      }
      const pid = session.peer.pid
      const dead = pid !== undefined && !processAlive(pid)
      if (dead || now - session.lastSeen > silentFor) {
        void this.reap(session, dead)
        continue
      }
      for (const dropped of session.reassembler.sweep(now)) {
        this.stats.dropped.overLimit++
        if (dropped.type === FrameType.REQUEST) {
          session
            .sendError(dropped.callId, new RpcError(Code.INVALID_ARGUMENT, `request dropped: ${dropped.message}`))
            .catch(() => undefined)
        }
      }
    }
  }

  /** Ends a session whose client is gone; removes its reply queue when its process no longer exists. */
  private async reap(session: Session, dead: boolean): Promise<void> {
    const name = session.replyQueue.name
    const reason = new RpcError(
      Code.UNAVAILABLE,
      dead
        ? `client process ${session.peer.pid} exited`
        : `session ended by the server: client silent for ${3 * this.options.heartbeatMs} ms (heartbeatMs ${this.options.heartbeatMs})`,
    )
    // Only a client that finished the handshake has proved the queue it
    // named is its own; a HELLO alone could name anyone's queue.
    const proved = session.state === 'open'
    if (!dead) session.tryGoodbye(reason)
    await this.endSession(session, reason)
    const pid = session.peer.pid ?? pidOfReplyQueue(name)
    if (proved && pid !== undefined && !processAlive(pid)) {
      try {
        MessageQueue.unlink(name)
      } catch {
        // Removed by its owner or by `mqrpc gc`, or not ours to remove.
      }
    }
  }

  private uidLimiter(uid: number): RateLimiter | undefined {
    const rate = this.options.maxCallsPerSecondPerUid
    if (rate === undefined) return undefined
    let limiter = this.uidLimiters.get(uid)
    if (limiter === undefined) {
      limiter = new RateLimiter(rate)
      this.uidLimiters.set(uid, limiter)
    }
    return limiter
  }
}

/** Starts a server for `service` on `options.queue`, taking over a stale queue left by a crashed server. */
export async function createServer<S extends AnyService>(
  service: S,
  handlers: Handlers<S>,
  options: ServerOptions,
): Promise<Server<S>> {
  const resolved = resolveServerOptions(options)
  if ((resolved.mode & 0o044) !== 0) {
    throw new TypeError(
      `createServer('${service.name}'): mode 0o${resolved.mode.toString(8)} lets group or others read the request queue, and so every caller's requests and session tokens; use 0o622 (anyone may call) or 0o620 (owner's group may call)`,
    )
  }
  for (const name of service.methods.keys()) {
    if (typeof (handlers as Record<string, unknown>)[name] !== 'function') {
      throw new TypeError(`createServer('${service.name}'): no handler for method '${name}'`)
    }
  }
  const sizes = { mode: resolved.mode, maxMessages: resolved.maxMessages, messageSize: resolved.messageSize }
  const requests = await claimQueue(resolved.queue, sizes, resolved.probeTimeoutMs)
  let urgent: MessageQueue
  try {
    urgent = replaceQueue(urgentLaneName(resolved.queue), sizes)
  } catch (error) {
    await requests.close()
    MessageQueue.unlink(resolved.queue)
    throw error
  }
  return new Server(service, handlers, resolved, requests, urgent)
}
