/**
 * A service being listened on by this instance: its lanes in the service's
 * queue group and on the instance's own subjects, and its discovery.
 * @module
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node'
import type { Listener } from '../transport.js'
import type { Discovery } from './micro-discovery.js'
import { NatsInbound } from './nats-inbound.js'
import type { ServiceSubjects } from './subjects.js'

/** What a listener needs of its transport. */
export interface ListenerOwner {
  forgetListener(listener: NatsListener): void
}

/** A service being listened on by this instance. */
export class NatsListener implements Listener {
  readonly requests: NatsInbound
  readonly urgent: NatsInbound
  discovery: Discovery | undefined
  private shared: Subscription[] = []
  private withdrawn = false
  private closed = false

  constructor(
    private readonly transport: ListenerOwner,
    readonly subjects: ServiceSubjects,
  ) {
    this.requests = new NatsInbound(subjects.requests, true)
    this.urgent = new NatsInbound(subjects.urgent, true)
  }

  subscribe(nc: NatsConnection, instanceId: string): void {
    const s = this.subjects
    this.shared = [this.requests.subscribe(nc, s.requests, s.queueGroup), this.urgent.subscribe(nc, s.urgent, s.queueGroup)]
    this.requests.subscribe(nc, s.instanceRequests(instanceId))
    this.urgent.subscribe(nc, s.instanceUrgent(instanceId))
  }

  get failure(): Error | undefined {
    return this.requests.failure ?? this.urgent.failure
  }

  withdraw(): void {
    if (this.withdrawn) return
    this.withdrawn = true
    // New clients go to other instances (or find none); sessions pinned to
    // this one still reach it on its own subjects until `close`.
    const shared = new Set(this.shared)
    this.requests.unsubscribe((sub) => shared.has(sub))
    this.urgent.unsubscribe((sub) => shared.has(sub))
    this.discovery?.close()
    this.discovery = undefined
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.withdraw()
    await this.requests.close()
    await this.urgent.close()
    this.transport.forgetListener(this)
  }
}
