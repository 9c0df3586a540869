/**
 * The memory a queue's receives fill: consecutive slots of the queue's
 * message size, with each message's length and priority beside them. Bound
 * to the addon once, so that a receive looks nothing up; each read
 * overwrites what the last one left.
 * @module
 */
import type { Message, QueueAccess } from './message-queue-types.js'
import { toMqError } from './mq-error.js'
import type { NativeQueue } from './native.js'

export class ReceiveSlots {
  private readonly buffer: Uint8Array
  private readonly lengths: Int32Array
  private readonly priorities: Uint32Array

  constructor(
    private readonly native: NativeQueue,
    private readonly queue: string,
    private readonly access: QueueAccess,
    private readonly messageSize: number,
    count: number,
  ) {
    this.lengths = new Int32Array(count)
    this.priorities = new Uint32Array(count)
    // Its own memory (not a slice of Buffer's pool): the addon holds on to it.
    // A plain Uint8Array, not a Buffer: the views handed to a consumer reach
    // the frame parser, whose loads of a Buffer's properties went through
    // V8's generic property lookup there (about 6 per frame) and not of a Uint8Array's.
    this.buffer = new Uint8Array(access === 'write' ? 0 : messageSize * count)
    if (access !== 'write') native.bindReceive(this.buffer, messageSize, this.lengths, this.priorities)
  }

  /** Receives up to `max` messages into the slots; returns how many (0 when the queue is empty). Throws MqError. */
  read(max: number): number {
    try {
      return this.native.receiveMany(max)
    } catch (error) {
      throw toMqError(error, { queue: this.queue, access: this.access })
    }
  }

  /** The message in slot `i`, valid until the next read. */
  view(i: number): Uint8Array {
    const offset = i * this.messageSize
    return this.buffer.subarray(offset, offset + (this.lengths[i] ?? 0))
  }

  /** The priority of the message in slot `i`. */
  priority(i: number): number {
    return this.priorities[i] ?? 0
  }

  /** The message in slot `i`, copied out of the slots. */
  copy(i: number): Message {
    return { data: Buffer.from(this.view(i)), priority: this.priority(i) }
  }
}
