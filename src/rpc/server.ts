/**
 * The server: listens on a service's two lanes from the event loop, runs the
 * handshake, routes frames to sessions, and dispatches calls. It knows its
 * transport only through src/transport/transport.ts.
 * @module
 */
import { EventEmitter } from 'eventemitter3'
import { Code } from '../protocol/code.js'
import { type Frame, FrameError, FrameFlag, FrameType, forEachFrame } from '../protocol/frame.js'
import { FrameWriter } from '../protocol/frame-writer.js'
import { ReassemblyError } from '../protocol/reassembly.js'
import { RpcError, rpcErrorToWire } from '../protocol/rpc-error.js'
import { decodeBody, encodeBody, PROTOCOL_VERSION, readHello } from '../protocol/wire.js'
import { defaultTransport } from '../transport/mq/mq-transport.js'
import type { Listener, Transport } from '../transport/transport.js'
import { type AnyHandler, type BuiltinHandler, type DispatchDeps, dispatchRequest } from './dispatch.js'
import { openSession, Refusal, sessionsPerPrincipalExceeded } from './handshake-server.js'
import { HEALTH_WATCH, HealthState, type SettableHealthStatus } from './health.js'
import { silenceLimitMs } from './heartbeat.js'
import { describeService, serverFigures } from './introspection.js'
import { isServed } from './probe.js'
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
  serviceShape,
} from './service.js'
import { cancelReason, type Session } from './session.js'
import { sweepSessions } from './session-liveness.js'
import { SessionTable } from './session-table.js'
import { ServerStats } from './stats.js'
import type { HandlerOf } from './stream-types.js'
import { hasStatus, toRpcError } from './transport-errors.js'

/** The handler of every method of service `S`, typed from its schemas. */
export type Handlers<S extends AnyService> = {
  readonly [K in MethodName<S>]: HandlerOf<S['spec']['methods'][K], MethodInput<S, K>, MethodOutput<S, K>>
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
  private readonly sessions: SessionTable
  private readonly transport: Transport
  private readonly scheduler: Scheduler
  private readonly deps: DispatchDeps
  private readonly sweeper: NodeJS.Timeout
  /** Made once: every message's frames go here. */
  private readonly frameSink = (frame: Frame): void => this.onFrame(frame)
  /** When the message whose frames are being handled arrived (a session's lastSeen). */
  private messageTime = Date.now()
  private eventSeq = 0
  private closing: Promise<void> | undefined
  private readonly healthState: HealthState

  /** @internal use {@link createServer} */
  constructor(
    readonly service: S,
    handlers: Handlers<S>,
    private readonly options: ResolvedServerOptions,
    private readonly listener: Listener,
    private readonly stats: ServerStats,
  ) {
    this.transport = options.transport
    this.sessions = new SessionTable(options.maxCallsPerSecondPerPrincipal)
    const urgent = listener.urgent
    this.scheduler = new Scheduler({
      concurrency: options.concurrency,
      urgentReserve: options.urgentReserve,
      pollLanes:
        listener.readNow !== undefined
          ? () => listener.readNow?.()
          : () => {
              urgent.readNow?.()
              listener.requests.readNow?.()
            },
    })
    const health = new HealthState(service.name)
    this.healthState = health
    const builtins = new Map<string, BuiltinHandler>([
      ['$health.check', (_session, call) => health.check(call)],
      ['$describe', () => describeService(service, options.queue, urgent.address)],
      ['$stats', () => serverFigures(service, this.sessions.values(), this.sessionCount, this.scheduler, this.stats)],
    ])
    this.deps = {
      service,
      handlers: handlers as unknown as Record<string, AnyHandler>,
      builtins,
      builtinStreams: new Map([
        [HEALTH_WATCH.name, { method: HEALTH_WATCH, handler: (input, ctx) => health.watch(input, ctx.signal) }],
      ]),
      options,
      scheduler: this.scheduler,
      stats: this.stats,
      principalLimiter: (principal) => this.sessions.limiterOf(principal),
      reportError: (error) => this.lifecycle.emit('error', error),
      sendFailed: (session, error) =>
        this.endSession(
          session,
          new RpcError(
            Code.RESOURCE_EXHAUSTED,
            `could not write to reply path ${session.replyAddress}: ${(error as Error).message}${
              hasStatus(this.transport, error, 'DEADLINE_EXCEEDED')
                ? ` (slowReaderMs ${options.slowReaderMs}: the client is not reading its replies)`
                : ''
            }`,
          ),
        ),
    }
    listener.requests.consume((data) => this.onMessage(data))
    urgent.consume((data) => this.onMessage(data))
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.floor(options.heartbeatMs / 2)))
  }

  /** The request queue's name. */
  get queue(): string {
    return this.options.queue
  }

  /** The health status `$health.check` answers: SERVING until set otherwise, NOT_SERVING once close() begins. */
  get health(): SettableHealthStatus {
    return this.healthState.status
  }

  /**
   * Sets the health status that `$health.check` and `$health.watch` report
   * (`mqrpc health` prints it); watchers hear the change at once. Ignored
   * once close() has begun: a draining server is NOT_SERVING for good.
   */
  setHealth(status: SettableHealthStatus): void {
    this.healthState.set(status)
  }

  /** Sessions open now. */
  get sessionCount(): number {
    return this.sessions.open
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

  /**
   * Pushes a service event to every connected client (`server.on` listens
   * to the server's own lifecycle instead). The payload is checked against
   * its schema first.
   */
  broadcast<K extends EventName<S>>(event: K, payload: EventPayload<S, K>): void {
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

  /** @deprecated the old name of {@link Server.broadcast}, which says better that it goes to clients. */
  emit<K extends EventName<S>>(event: K, payload: EventPayload<S, K>): void {
    this.broadcast(event, payload)
  }

  /**
   * Stops accepting, tells every client at once that it drains (new calls
   * wait for the next server, or fail with UNAVAILABLE where the client does
   * not reconnect), lets calls in flight finish (up to shutdownGraceMs), and
   * removes the service's addresses.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown()
    return this.closing
  }

  private async shutDown(): Promise<void> {
    // Withdraw first: new clients fail fast and a new server may start.
    this.listener.withdraw()
    // Before the GOODBYEs: a watcher hears NOT_SERVING ahead of the drain
    // notice. Its stream's generator resumes on promise jobs; one turn of the
    // loop lets it post the element before anything else is written.
    this.healthState.drain()
    await new Promise((resolve) => setImmediate(resolve))
    const draining = { code: Code.UNAVAILABLE, message: `server on ${this.queue} is shutting down`, draining: true }
    // Not awaited: a client slow to read must not hold the drain up.
    for (const session of this.sessions.values()) {
      if (session.state === 'open') session.send(FrameType.GOODBYE, 0, draining).catch(() => undefined)
    }
    let graceTimer: NodeJS.Timeout | undefined
    await Promise.race([
      this.scheduler.idle(),
      new Promise<void>((resolve) => {
        graceTimer = setTimeout(resolve, this.options.shutdownGraceMs)
      }),
    ])
    clearTimeout(graceTimer)
    const reason = new RpcError(Code.UNAVAILABLE, `server on ${this.queue} shut down before the call finished`)
    await Promise.allSettled(
      [...this.sessions.values()].map(async (session) => {
        for (const callId of session.inFlight.idList()) {
          // Calls that finished while earlier errors were sent are answered already.
          if (!session.inFlight.has(callId)) continue
          await session.sendError(callId, reason).catch(() => undefined)
        }
        if (session.state === 'open')
          await session.send(FrameType.GOODBYE, 0, { ...draining, draining: false }).catch(() => undefined)
      }),
    )
    const closed = new RpcError(Code.UNAVAILABLE, `server on ${this.queue} shut down`)
    await Promise.allSettled([...this.sessions.values()].map((session) => this.endSession(session, closed)))
    clearInterval(this.sweeper)
    await this.listener.close()
  }

  private onMessage(data: Uint8Array): void {
    // Once per message, not per frame: a message can hold dozens of frames.
    this.messageTime = Date.now()
    try {
      forEachFrame(data, this.frameSink)
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
    session.lastSeen = this.messageTime
    switch (frame.type) {
      case FrameType.PROOF:
        if (session.state === 'handshake') this.welcome(session)
        return
      case FrameType.REQUEST:
        if (session.state === 'open') this.onRequest(session, frame)
        return
      case FrameType.CANCEL: {
        const call = session.inFlight.get(frame.callId)
        if (call) call.controller.abort(cancelReason(call))
        return
      }
      case FrameType.CREDIT:
      case FrameType.STREAM_DATA:
      case FrameType.STREAM_END:
        // Frames of a stream that already ended (a race with its answer or a cancel) are dropped unread.
        if (session.state === 'open') session.inFlight.get(frame.callId)?.stream?.onFrame(frame)
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
      const sessions = this.sessions
      result = openSession(hello, this.transport, {
        service: this.service,
        options: this.options,
        openSessions: sessions.open,
        handshakes: sessions.handshakes,
        handshakesOf: (principal) => sessions.handshakesOf(principal),
        sessionsOf: (principal) => sessions.sessionsOf(principal),
        supersedeHandshake: (replyAddress) => {
          const previous = sessions.handshakeNaming(replyAddress)
          if (previous !== undefined) {
            void this.endSession(previous, new RpcError(Code.CANCELLED, 'superseded by a newer HELLO naming the same reply path'))
          }
        },
        postFailed: this.deps.sendFailed,
        moreRepliesFollow: (session) => this.scheduler.nextRunStarts(session),
        evictHandshakeFor: (principal) => {
          const oldest = sessions.evictionCandidate(principal)
          if (oldest === undefined) return false
          void this.endSession(oldest, new RpcError(Code.RESOURCE_EXHAUSTED, 'handshake evicted for a principal with fewer'))
          return true
        },
      })
      if (result instanceof Refusal) {
        const refusal = result
        const writer = new FrameWriter(refusal.link.outbound, { sendTimeoutMs: this.options.handshakeTimeoutMs })
        const body = encodeBody({ nonce: hello.nonce, ...rpcErrorToWire(refusal.error) })
        void writer
          .write({ type: FrameType.REJECT, flags: 0, token: 0n, callId: 0 }, body)
          .catch(() => undefined)
          .finally(() => refusal.link.outbound.close())
        return
      }
    } catch (error) {
      this.stats.dropped.malformed++
      this.lifecycle.emit(
        'error',
        new RpcError(Code.INVALID_ARGUMENT, `dropped a HELLO on ${this.queue}: ${toRpcError(this.transport, error).message}`),
      )
      return
    }
    const session = result
    this.sessions.addHandshake(session)
    session.send(FrameType.CHALLENGE, 0, { nonce: session.nonce }).catch((error: unknown) => this.deps.sendFailed(session, error))
  }

  private welcome(session: Session): void {
    // Counted per principal from here: a HELLO alone proves nothing about who
    // sent it, so half-open handshakes must not use up their victim's quota.
    const principal = session.peer.principal
    if (this.sessions.sessionsOf(principal) >= this.options.maxSessionsPerPrincipal) {
      const reason = new RpcError(Code.RESOURCE_EXHAUSTED, sessionsPerPrincipalExceeded(principal, this.options))
      session.tryGoodbye(reason)
      void this.endSession(session, reason)
      return
    }
    this.sessions.markOpen(session)
    const welcome = {
      service: this.service.name,
      fingerprint: this.service.fingerprint,
      heartbeatMs: this.options.heartbeatMs,
      maxBodyBytes: this.options.maxBodyBytes,
      maxInFlight: this.options.maxInFlight,
      ...(session.schemaDiffers ? { shape: serviceShape(this.service) } : {}),
      // Said only to a client that asked: others get the WELCOME they always got.
      ...(session.shortFrames ? { shortFrames: true } : {}),
    }
    session.send(FrameType.WELCOME, 0, welcome).catch((error: unknown) => this.deps.sendFailed(session, error))
    if (session.shortFrames) session.writer.useShortFrames()
    this.lifecycle.emit('session', { id: session.id, peer: session.peer })
  }

  private async endSession(session: Session, reason: RpcError): Promise<void> {
    if (session.state === 'closed') return
    const wasOpen = session.state === 'open'
    if (!this.sessions.remove(session)) return
    this.scheduler.forget(session)
    await session.end(reason)
    if (wasOpen) this.lifecycle.emit('sessionEnd', { id: session.id, peer: session.peer }, reason)
  }

  private sweep(): void {
    sweepSessions(this.sessions.values(), this.options, {
      handshakeExpired: (session) =>
        void this.endSession(session, new RpcError(Code.DEADLINE_EXCEEDED, 'handshake did not finish in time')),
      gone: (session, processGone) => void this.reap(session, processGone),
      bodyDropped: (session, dropped) => {
        this.stats.dropped.overLimit++
        if (dropped.type === FrameType.REQUEST) {
          session
            .sendError(dropped.callId, new RpcError(Code.INVALID_ARGUMENT, `request dropped: ${dropped.message}`))
            .catch(() => undefined)
        }
      },
    })
  }

  /** Ends a session whose client is gone; removes its reply path when its process no longer exists. */
  private async reap(session: Session, processGone: boolean): Promise<void> {
    const reason = new RpcError(
      Code.UNAVAILABLE,
      processGone
        ? `client process ${session.peer.pid} exited`
        : `session ended by the server: client silent for ${silenceLimitMs(this.options.heartbeatMs)} ms (heartbeatMs ${this.options.heartbeatMs})`,
    )
    if (!processGone) session.tryGoodbye(reason)
    await this.endSession(session, reason)
    // Only an open session's client proved the reply path it named is its
    // own (a HELLO alone could name anyone's), and reclaim removes the path
    // only while it is still the one this session opened.
    if (session.link.alive?.(session.peer.pid) === false) session.link.reclaim?.()
  }
}

/** Starts a server for `service` on `options.queue`, taking over an address left by a crashed server. */
export async function createServer<S extends AnyService>(
  service: S,
  handlers: Handlers<S>,
  options: ServerOptions,
): Promise<Server<S>> {
  const transport = options.transport ?? defaultTransport
  const resolved = resolveServerOptions(options, transport)
  for (const name of service.methods.keys()) {
    if (typeof (handlers as Record<string, unknown>)[name] !== 'function') {
      throw new TypeError(`createServer('${service.name}'): no handler for method '${name}'`)
    }
  }
  const stats = new ServerStats()
  let listener: Listener
  try {
    listener = await transport.listen(resolved.queue, {
      isServed: (address) => isServed(transport, address, resolved.probeTimeoutMs),
      advert: {
        name: service.name,
        ...(service.version === undefined ? {} : { version: service.version }),
        ...(service.spec.description === undefined ? {} : { description: service.spec.description }),
        metadata: { fingerprint: service.fingerprint, protocol: String(PROTOCOL_VERSION) },
        endpoints: [...service.methods.keys()],
        stats: () => stats.totals(),
      },
      ...(resolved.mode === undefined ? {} : { mode: resolved.mode }),
      ...(resolved.maxMessages === undefined ? {} : { maxMessages: resolved.maxMessages }),
      ...(resolved.messageSize === undefined ? {} : { messageSize: resolved.messageSize }),
    })
  } catch (error) {
    if (error instanceof TypeError) throw new TypeError(`createServer('${service.name}'): ${error.message}`)
    throw toRpcError(transport, error)
  }
  return new Server(service, handlers, resolved, listener, stats)
}
