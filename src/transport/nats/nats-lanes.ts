/**
 * A client's lanes to one service, pinned to the instance its session lives
 * on once the paired reply path hears of it (see nats-transport.ts).
 * @module
 */
import type { NatsConnection } from '@nats-io/transport-node'
import type { ServiceLanes } from '../transport.js'
import { NatsOutbound } from './nats-outbound.js'
import type { NatsReplyPath } from './nats-reply-path.js'
import type { ServiceSubjects } from './subjects.js'

/** What the lanes need of their transport: the reply path their first message names. */
export interface ReplyPathFinder {
  replyPathFor(hello: Uint8Array): NatsReplyPath | undefined
}

/** A client's lanes to one service; they pin to the instance their session lives on. */
export class ClientLanes implements ServiceLanes {
  readonly requests: NatsOutbound
  readonly urgent: NatsOutbound
  /** The instance this session talks to, once known. */
  pinnedTo: string | undefined
  /** The reply path of the same client, once known. */
  paired: NatsReplyPath | undefined
  private sentFirst = false

  constructor(
    transport: ReplyPathFinder,
    nc: NatsConnection,
    readonly subjects: ServiceSubjects,
    pairWith: NatsReplyPath | undefined,
  ) {
    if (pairWith !== undefined) this.pair(pairWith)
    const first = (data: Uint8Array) => {
      if (this.sentFirst) return
      this.sentFirst = true
      if (this.paired === undefined) {
        const found = transport.replyPathFor(data)
        if (found !== undefined) this.pair(found)
      }
    }
    // A lane publishes to the service's subject until pinned, then to the instance's.
    const lane = (subject: string, ofInstance: (instanceId: string) => string) =>
      new NatsOutbound(nc, subject, () => (this.pinnedTo === undefined ? subject : ofInstance(this.pinnedTo)), undefined, first)
    this.requests = lane(subjects.requests, (id) => subjects.instanceRequests(id))
    this.urgent = lane(subjects.urgent, (id) => subjects.instanceUrgent(id))
  }

  private pair(replyPath: NatsReplyPath): void {
    this.paired = replyPath
    replyPath.lanes.add(this)
  }

  /** Called by the paired reply path on the first message of a link it had not seen. */
  pin(instanceId: string): void {
    this.pinnedTo ??= instanceId
  }

  async close(): Promise<void> {
    this.paired?.lanes.delete(this)
    await this.requests.close()
    await this.urgent.close()
  }
}
