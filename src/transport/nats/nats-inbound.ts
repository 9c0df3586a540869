/**
 * The NATS transport's inbound side: one or more subscriptions feeding one
 * sink, keeping what arrives before `consume` and answering `connect`'s
 * probes.
 * @module
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node'
import type { Inbound, MessageSink } from '../transport.js'

/** Where messages arrive: one or more subscriptions feeding one sink. */
export class NatsInbound implements Inbound {
  private sink: MessageSink | undefined
  private early: Uint8Array[] = []
  private readonly subscriptions: Subscription[] = []
  private closed = false
  private connection: NatsConnection | undefined
  /** The first subscription error (a permission violation), checked after a flush. */
  failure: Error | undefined

  constructor(
    readonly address: string,
    private readonly answerProbes: boolean,
    private readonly onMessage?: (msg: Msg) => void,
  ) {}

  /** The broker's max_payload, once subscribed: no message arriving here is larger. */
  get messageSize(): number | undefined {
    return this.connection?.info?.max_payload
  }

  subscribe(nc: NatsConnection, subject: string, queue?: string): Subscription {
    this.connection = nc
    const subscription = nc.subscribe(subject, {
      ...(queue === undefined ? {} : { queue }),
      callback: (error, msg) => {
        if (error !== null) {
          this.failure ??= error
          return
        }
        this.receive(msg)
      },
    })
    this.subscriptions.push(subscription)
    return subscription
  }

  /** Drops the subscriptions matching `which`, leaving the others. */
  unsubscribe(which: (subscription: Subscription) => boolean): void {
    for (let i = this.subscriptions.length - 1; i >= 0; i--) {
      const subscription = this.subscriptions[i] as Subscription
      if (!which(subscription)) continue
      if (!subscription.isClosed()) subscription.unsubscribe()
      this.subscriptions.splice(i, 1)
    }
  }

  private receive(msg: Msg): void {
    if (this.closed) return
    // A frame is never empty: an empty message is `connect`'s probe.
    if (msg.data.byteLength === 0) {
      if (this.answerProbes && msg.reply !== undefined && msg.reply !== '') msg.respond()
      return
    }
    this.onMessage?.(msg)
    const sink = this.sink
    if (sink === undefined) {
      // Before `consume`: keep a copy (the client may reuse its buffer).
      if (this.early.length < 4096) this.early.push(msg.data.slice())
      return
    }
    try {
      sink(msg.data)
    } catch (error) {
      // Not into nats.js's parser: thrown where an uncaught error belongs.
      queueMicrotask(() => {
        throw error
      })
    }
  }

  consume(sink: MessageSink): void {
    if (this.sink !== undefined) throw new Error(`${this.address} already has a consumer`)
    this.sink = sink
    const early = this.early
    this.early = []
    for (const data of early) {
      if (this.closed) return
      sink(data)
    }
  }

  async close(): Promise<void> {
    this.closed = true
    this.early = []
    this.unsubscribe(() => true)
  }
}
