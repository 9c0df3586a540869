/**
 * Writing frames into one queue: bodies larger than a message are split
 * into chunks, and small frames written in the same turn of the event loop
 * share queue messages (a queue costs one syscall per message, where a
 * socket coalesces writes for free).
 * @module
 */
import { type FrameHeader, HEADER_SIZE, writeHeader } from './frame.js'
import type { MessageQueue, SendOptions } from './message-queue.js'

interface Pending {
  readonly header: FrameHeader
  readonly body: Uint8Array
  readonly offset: number
  readonly chunkLength: number
  readonly priority: number
  readonly last: boolean
  readonly done: Deferred
}

/** Settles once: resolved by the body's last frame, rejected by any frame that fails. */
class Deferred {
  private settled = false
  constructor(
    private readonly onResolve: () => void,
    private readonly onReject: (error: unknown) => void,
  ) {}
  resolve(): void {
    if (this.settled) return
    this.settled = true
    this.onResolve()
  }
  reject(error: unknown): void {
    if (this.settled) return
    this.settled = true
    this.onReject(error)
  }
}

/** Options of {@link FrameWriter}. */
export type FrameWriterOptions = Readonly<{
  /** Passed to each send: how long a message may wait for room. Defaults to waiting forever. */
  sendTimeoutMs?: number
}>

export class FrameWriter {
  private readonly pending: Pending[] = []
  private scheduled = false
  private readonly maxChunk: number

  constructor(
    readonly queue: MessageQueue,
    private readonly options: FrameWriterOptions = {},
  ) {
    this.maxChunk = Math.min(0xffff, queue.messageSize - HEADER_SIZE)
    if (this.maxChunk < 1) {
      throw new RangeError(
        `queue ${queue.name} carries messages of ${queue.messageSize} bytes; a frame needs more than ${HEADER_SIZE}`,
      )
    }
  }

  /**
   * Writes one body as frames. The promise settles when its last frame is in
   * the queue (so callers can wait for back-pressure), or rejects when the
   * queue refuses it.
   */
  write(header: FrameHeader, body: Uint8Array, priority = 0): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const length = body.byteLength
      const done = new Deferred(resolve, reject)
      let offset = 0
      do {
        const chunkLength = Math.min(this.maxChunk, length - offset)
        const last = offset + chunkLength >= length
        this.pending.push({ header, body, offset, chunkLength, priority, last, done })
        offset += chunkLength
      } while (offset < length)
      if (!this.scheduled) {
        this.scheduled = true
        queueMicrotask(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.scheduled = false
    const frames = this.pending.splice(0)
    let start = 0
    while (start < frames.length) {
      // Pack consecutive frames of one priority into one message.
      const first = frames[start] as Pending
      let size = HEADER_SIZE + first.chunkLength
      let end = start + 1
      while (end < frames.length) {
        const next = frames[end] as Pending
        if (next.priority !== first.priority || size + HEADER_SIZE + next.chunkLength > this.queue.messageSize) break
        size += HEADER_SIZE + next.chunkLength
        end++
      }
      this.sendMessage(frames.slice(start, end), size, first.priority)
      start = end
    }
  }

  private sendMessage(frames: Pending[], size: number, priority: number): void {
    const message = Buffer.allocUnsafe(size)
    let at = 0
    for (const frame of frames) {
      writeHeader(message, at, frame.header, frame.body.byteLength, frame.offset, frame.chunkLength)
      message.set(frame.body.subarray(frame.offset, frame.offset + frame.chunkLength), at + HEADER_SIZE)
      at += HEADER_SIZE + frame.chunkLength
    }
    const options: SendOptions = { priority, timeoutMs: this.options.sendTimeoutMs }
    let sent: Promise<void>
    try {
      sent = this.queue.send(message, options)
    } catch (error) {
      sent = Promise.reject(error)
    }
    sent.then(
      () => {
        for (const frame of frames) if (frame.last) frame.done.resolve()
      },
      (error: unknown) => {
        for (const frame of frames) frame.done.reject(error)
      },
    )
  }
}
