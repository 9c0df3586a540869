/**
 * What keeps a client alive, and what ends one dropped without close()
 * (issue 12, item 5), as a socket is kept by what waits on it.
 *
 * A client is held strongly only while something waits on it: a call or
 * stream made and not yet settled (in flight or waiting to be sent), a
 * reconnect in progress, or a listener of one of the service's own events.
 * What holds it then is its own entry in the FinalizationRegistry that ends
 * dropped clients: a registry holds its entries' values strongly, and the
 * value (Remains) points at the client while something waits. Setting and
 * clearing that field is all a call costs; a module-level set of held
 * clients, and the weak reference read on each hold, cost about 1,900
 * instructions a call one at a time (V8 makes a Set's table anew each time
 * it empties, and a WeakRef read adds to a set of its own; bench/analysis.md,
 * the twelfth session). Listeners of its lifecycle events ('connect',
 * 'disconnect', 'reconnect', 'incompatible', 'error') do not hold it: they
 * hear about the client's own session, which matters to nobody once nobody
 * holds the client, and logging code adds them to every client it sees.
 *
 * Otherwise the reply path's consumer and the heartbeat reach the client
 * only through a WeakRef (the consumer takes the strong field while it is
 * set), so a dropped idle client is garbage. A
 * FinalizationRegistry, holding only what cleanup needs (never the client),
 * then says GOODBYE on the request lane (a single non-blocking send; when
 * it cannot go, the server reaps the session once the reply path is gone or
 * the heartbeats stop), closes the lanes and closes and removes the reply
 * path. When that happens is up to the garbage collector: close() remains
 * the way to end a session promptly.
 * @module
 */
import { EventEmitter } from 'eventemitter3'
import { FrameType } from '../protocol/frame.js'
import { FrameWriter } from '../protocol/frame-writer.js'
import { EMPTY } from '../protocol/wire.js'
import type { Outbound, ReplyPath, ServiceLanes } from '../transport/transport.js'
import { NORMAL_PRIORITY } from './session.js'

/** What ending a dropped client needs, and what holds the client while something waits on it. */
interface Remains {
  readonly reply: ReplyPath
  lanes: ServiceLanes | undefined
  token: bigint
  heartbeat: NodeJS.Timeout | undefined
  /** The client while something waits on it, otherwise nothing: set, the registry keeps the client. */
  held: object | undefined
}

function closeQuietly(endpoint: { close(): Promise<void> }): void {
  try {
    endpoint.close().catch(() => undefined)
  } catch {
    // A finalizer has nobody to report to.
  }
}

/** Ends the session of a client collected unclosed. Runs from the event loop, so it must never throw. */
function endDropped(remains: Remains): void {
  clearInterval(remains.heartbeat)
  const lanes = remains.lanes
  if (lanes !== undefined) {
    if (remains.token !== 0n) sayGoodbye(lanes.requests, remains.token)
    closeQuietly(lanes.requests)
    closeQuietly(lanes.urgent)
  }
  closeQuietly(remains.reply)
}

function sayGoodbye(requests: Outbound, token: bigint): void {
  try {
    // A stale token (the session was lost meanwhile) is dropped by the server as forged.
    new FrameWriter(requests).tryWrite({ type: FrameType.GOODBYE, flags: 0, token, callId: 0 }, EMPTY, NORMAL_PRIORITY)
  } catch {
    // A lane too small for a frame cannot have carried a session either.
  }
}

const registry = new FinalizationRegistry<Remains>(endDropped)

/** The keepalive of one client (src/rpc/client.ts): holds it while something waits on it, ends it when dropped. */
export class ClientKeepalive<C extends object> {
  private readonly client: WeakRef<C>
  private readonly remains: Remains
  private holds = 0
  private listening = false
  private ended = false

  /**
   * Registers `client`, whose reply path is `reply`, for ending when it is
   * collected unclosed. `client` is kept here strongly too: only the client
   * reaches this object, so that holds nothing.
   */
  constructor(
    private readonly target: C,
    reply: ReplyPath,
  ) {
    this.client = new WeakRef(target)
    this.remains = { reply, lanes: undefined, token: 0n, heartbeat: undefined, held: undefined }
    registry.register(target, this.remains, this.remains)
  }

  /**
   * `method` of the client, reaching it only through the weak reference: for
   * callbacks that a transport roots for as long as it runs (the reply
   * path's consumer). Pass the method itself, not a closure over the client.
   */
  weakly<A extends unknown[]>(method: (this: C, ...args: A) => void): (...args: A) => void {
    const ref = this.client
    const remains = this.remains
    return (...args) => {
      // Held while a call waits, as it usually is when a reply comes: no WeakRef read then.
      const client = (remains.held as C | undefined) ?? ref.deref()
      if (client !== undefined) method.apply(client, args)
    }
  }

  /**
   * Calls `method` of the client every `ms`, through the weak reference, and
   * returns the timer. Unref'd: the heartbeat alone keeps neither the client
   * nor the process; the transport's reply path decides whether a connected
   * client keeps the process alive (a POSIX queue's poll does, as a
   * connected socket does).
   */
  every(ms: number, method: (this: C) => void): NodeJS.Timeout {
    clearInterval(this.remains.heartbeat)
    const ref = this.client
    const timer: NodeJS.Timeout = setInterval(() => {
      const client = ref.deref()
      if (client === undefined) clearInterval(timer)
      else method.call(client)
    }, ms)
    timer.unref()
    this.remains.heartbeat = timer
    return timer
  }

  /** A session was made on `lanes` with `token`: what a GOODBYE needs, should the client be dropped. */
  opened(lanes: ServiceLanes, token: bigint): void {
    this.remains.lanes = lanes
    this.remains.token = token
  }

  /** Holds the client until the returned function is called; calling it again does nothing. */
  hold(): () => void {
    this.acquire()
    let released = false
    return () => {
      if (released) return
      released = true
      this.release()
    }
  }

  /** One more thing waits on the client (a call made: it holds the client until it settles). Pair with {@link release}. */
  acquire(): void {
    this.holds++
    if (this.holds === 1) this.update()
  }

  /** One thing that waited on the client no longer does. */
  release(): void {
    this.holds--
    if (this.holds === 0) this.update()
  }

  /** Whether listeners wait for the service's events: while they do, they hold the client. */
  listen(listening: boolean): void {
    if (listening === this.listening) return
    this.listening = listening
    this.update()
  }

  /** The client was closed: nothing holds it any more, and there is nothing left to end. */
  end(): void {
    this.ended = true
    this.update()
    clearInterval(this.remains.heartbeat)
    registry.unregister(this.remains)
  }

  private update(): void {
    this.remains.held = !this.ended && (this.holds > 0 || this.listening) ? this.target : undefined
  }
}

/**
 * An EventEmitter that is told when its listeners change (eventemitter3
 * emits no 'newListener'), so that a client can be held while listeners of
 * its service's events wait. A `once` listener that fires is removed through
 * `removeListener`, so it is told then too.
 */
export class ListenedEmitter<E extends EventEmitter.ValidEventTypes> extends EventEmitter<E> {
  /** Called after a listener was added or removed. */
  protected listenersChanged(): void {}

  override on<T extends EventEmitter.EventNames<E>>(event: T, fn: EventEmitter.EventListener<E, T>, context?: unknown): this {
    super.on(event, fn, context)
    this.listenersChanged()
    return this
  }

  override addListener<T extends EventEmitter.EventNames<E>>(
    event: T,
    fn: EventEmitter.EventListener<E, T>,
    context?: unknown,
  ): this {
    super.addListener(event, fn, context)
    this.listenersChanged()
    return this
  }

  override once<T extends EventEmitter.EventNames<E>>(event: T, fn: EventEmitter.EventListener<E, T>, context?: unknown): this {
    super.once(event, fn, context)
    this.listenersChanged()
    return this
  }

  override removeListener<T extends EventEmitter.EventNames<E>>(
    event: T,
    fn?: EventEmitter.EventListener<E, T>,
    context?: unknown,
    once?: boolean,
  ): this {
    super.removeListener(event, fn, context, once)
    this.listenersChanged()
    return this
  }

  override off<T extends EventEmitter.EventNames<E>>(
    event: T,
    fn?: EventEmitter.EventListener<E, T>,
    context?: unknown,
    once?: boolean,
  ): this {
    super.off(event, fn, context, once)
    this.listenersChanged()
    return this
  }

  override removeAllListeners(event?: EventEmitter.EventNames<E>): this {
    super.removeAllListeners(event)
    this.listenersChanged()
    return this
  }
}
