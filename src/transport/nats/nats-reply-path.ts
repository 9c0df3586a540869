/**
 * A client's reply path: its inbox subscription, which reads the pinning
 * mark of what a server sends and pins the client's lanes to that instance.
 * @module
 */
import type { Msg } from '@nats-io/transport-node'
import type { ReplyPath } from '../transport.js'
import { NatsInbound } from './nats-inbound.js'
import { readPinningMark } from './subjects.js'

/** Lanes a reply path pins (ClientLanes). */
export interface PinnableLanes {
  pin(instanceId: string): void
}

/** What a reply path needs of its transport. */
export interface ReplyPathOwner {
  forgetReplyPath(replyPath: NatsReplyPath): void
}

/** A client's reply path. */
export class NatsReplyPath implements ReplyPath {
  readonly inbound: NatsInbound
  readonly lanes = new Set<PinnableLanes>()
  private readonly seenLinks = new Set<string>()

  constructor(
    private readonly transport: ReplyPathOwner,
    readonly address: string,
  ) {
    this.inbound = new NatsInbound(address, false, (msg) => this.note(msg))
  }

  /** Reads the pinning mark before the message is handed on, so that the answer to it goes to the right instance. */
  private note(msg: Msg): void {
    const mark = readPinningMark(msg.reply)
    if (mark === undefined || this.seenLinks.has(mark.linkId)) return
    this.seenLinks.add(mark.linkId)
    if (this.seenLinks.size > 256) {
      const oldest = this.seenLinks.values().next().value
      if (oldest !== undefined) this.seenLinks.delete(oldest)
    }
    for (const lanes of this.lanes) lanes.pin(mark.instanceId)
  }

  async close(): Promise<void> {
    this.transport.forgetReplyPath(this)
    this.lanes.clear()
    await this.inbound.close()
  }
}
