/**
 * Writing frames to one outbound endpoint: bodies larger than a message are
 * split into chunks, and small frames written in the same turn of the event
 * loop share messages (a queue costs one syscall per message, where a
 * socket coalesces writes for free); while its owner says more frames
 * follow at once, a flush keeps its last, partly filled message back for
 * them (once). While the endpoint is full, frames wait here, not as
 * messages: when room comes back they leave packed as densely as they
 * fit, so a reader that fell behind catches up in fewer, fuller messages.
 * @module
 */
import type { Outbound } from '../transport/transport.js'
import { queuePromiseJob } from '../util/promise-job.js'
import { encodeFrame, type FrameHeader, HEADER_SIZE, SHORT_HEADER_SIZE, writeHeader, writeShortHeader } from './frame.js'
import { MessagePool } from './message-pool.js'

interface Pending {
  readonly header: FrameHeader
  readonly body: Uint8Array
  readonly offset: number
  readonly chunkLength: number
  readonly priority: number
  readonly last: boolean
  /** Hears how the body ended: told by its last frame, or by the first frame that fails. */
  readonly done: WriteCallback | undefined
}

/** Called once per body: with no argument when its last frame is in the queue, with the error when a frame fails. */
export type WriteCallback = (error?: unknown) => void

/**
 * A body of several frames can fail once per message it spans; its callback
 * must still hear only once. A one-frame body (nearly every call) needs no
 * such guard, and gets none: no object, no closure.
 */
function once(callback: WriteCallback): WriteCallback {
  let called = false
  return (error) => {
    if (called) return
    called = true
    callback(error)
  }
}

/** Options of {@link FrameWriter}. */
export type FrameWriterOptions = Readonly<{
  /** Passed to each send: how long a message may wait for room. Defaults to waiting forever. */
  sendTimeoutMs?: number
  /**
   * Whether more frames will be posted to this writer in the promise jobs
   * queued after the flush (the server: the scheduler's next run of
   * starts, right after those jobs, begins with this client's calls). A
   * flush then keeps its last, partly filled message of priority 0 for the
   * next flush, once: backed-up calls' replies leave in full messages, and
   * an idle call's reply never waits.
   */
  moreFollow?: () => boolean
}>

/** Where every writer's messages are made: one pool, so that no writer keeps a buffer of it alive but this one. */
const messages = new MessagePool()

export class FrameWriter {
  // Two arrays used in turn: flush() sends one while posts made meanwhile
  // (a callback may post) go to the other; neither is reallocated.
  private pending: Pending[] = []
  private spare: Pending[] = []
  private scheduled = false
  private scheduledLater = false
  /** A message of this writer waits for room: frames posted meanwhile stay pending until it leaves. */
  private blocked = false
  /** Frames at the head of `pending` that a flush already kept back once (see moreFollow). */
  private keptBack = 0
  /** The reader has said it reads short frames (see useShortFrames). */
  private shortFrames = false
  private readonly maxChunk: number
  private readonly flushNow = (): void => this.flush()
  private readonly flushLater = (): void => {
    this.scheduledLater = false
    this.flush()
  }

  constructor(
    readonly endpoint: Outbound,
    private readonly options: FrameWriterOptions = {},
  ) {
    this.maxChunk = Math.min(0xffff, endpoint.messageSize - HEADER_SIZE)
    if (this.maxChunk < 1) {
      throw new RangeError(
        `${endpoint.address} carries messages of ${endpoint.messageSize} bytes; a frame needs more than ${HEADER_SIZE}`,
      )
    }
  }

  /**
   * From now on a whole body that follows a frame of the same token in a
   * message goes as a short frame (docs/PROTOCOL.md 3.1). Only once the
   * reader has said, in the handshake, that it reads them.
   */
  useShortFrames(): void {
    this.shortFrames = true
  }

  /** The header `frame` gets when it follows `before` in a message. */
  private headerSizeAfter(before: Pending, frame: Pending): number {
    return this.shortFrames && frame.chunkLength === frame.body.length && frame.header.token === before.header.token
      ? SHORT_HEADER_SIZE
      : HEADER_SIZE
  }

  /**
   * Writes one body as frames. The promise settles when its last frame is in
   * the queue (so callers can wait for back-pressure), or rejects when the
   * queue refuses it.
   */
  write(header: FrameHeader, body: Uint8Array, priority = 0): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.post(header, body, priority, (error) => (error === undefined ? resolve() : reject(error)))
    })
  }

  /**
   * Writes one body as frames without a promise: the hot path of replies,
   * where only a failure matters. `callback` (optional) hears how it ended.
   */
  post(header: FrameHeader, body: Uint8Array, priority = 0, callback?: WriteCallback): void {
    this.enqueue(header, body, priority, callback)
    this.scheduleFlush()
  }

  /** A flush in a promise job, unless one is queued already. */
  private scheduleFlush(): void {
    // While blocked, unblock() flushes: a flush scheduled now would find nothing to do.
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true
      queuePromiseJob(this.flushNow)
    }
  }

  /**
   * Like {@link post}, but the frames may wait until the end of this turn
   * of the event loop, packed with whatever else is posted by then (a later
   * `post` takes them along at once). For stream elements: a generator
   * yields them a few promise jobs apart, and a flush after each would send
   * one message, and wake the reader, per element.
   */
  postLater(header: FrameHeader, body: Uint8Array, priority = 0, callback?: WriteCallback): void {
    this.enqueue(header, body, priority, callback)
    if (!this.scheduled && !this.scheduledLater && !this.blocked) {
      this.scheduledLater = true
      setImmediate(this.flushLater)
    }
  }

  private enqueue(header: FrameHeader, body: Uint8Array, priority: number, callback: WriteCallback | undefined): void {
    const length = body.length
    const done = callback === undefined || length <= this.maxChunk ? callback : once(callback)
    let offset = 0
    do {
      const chunkLength = Math.min(this.maxChunk, length - offset)
      const last = offset + chunkLength >= length
      this.pending.push({ header, body, offset, chunkLength, priority, last, done })
      offset += chunkLength
    } while (offset < length)
  }

  /**
   * Writes one frame now or not at all, past anything pending: for control
   * frames that must never wait (a full or vanished queue just drops it).
   * Returns whether it was sent.
   */
  tryWrite(header: FrameHeader, body: Uint8Array, priority = 0): boolean {
    try {
      return this.endpoint.trySend(encodeFrame(header, body), priority)
    } catch {
      return false
    }
  }

  private flush(): void {
    this.scheduled = false
    if (this.blocked) return
    const frames = this.pending
    this.pending = this.spare
    const keptBefore = this.keptBack
    this.keptBack = 0
    let start = 0
    while (start < frames.length) {
      // Pack consecutive frames of one priority into one message.
      const first = frames[start] as Pending
      let size = HEADER_SIZE + first.chunkLength
      let end = start + 1
      while (end < frames.length) {
        const next = frames[end] as Pending
        const nextSize = this.headerSizeAfter(frames[end - 1] as Pending, next) + next.chunkLength
        if (next.priority !== first.priority || size + nextSize > this.endpoint.messageSize) break
        size += nextSize
        end++
      }
      if (end === frames.length && start >= keptBefore && first.priority === 0 && this.options.moreFollow?.() === true) {
        // The last message is not full and more frames follow: it leaves with them.
        this.keepForLater(frames, start)
        this.keptBack = frames.length - start
        this.scheduleFlush()
        break
      }
      const sent = this.sendMessage(frames, start, end, size, first.priority)
      start = end
      if (!sent) {
        // The rest wait for room.
        this.keepForLater(frames, start)
        break
      }
    }
    frames.length = 0
    this.spare = frames
  }

  /** Puts frames[start...] back in pending, ahead of anything posted since. */
  private keepForLater(frames: Pending[], start: number): void {
    const rest = frames.slice(start)
    for (const frame of this.pending) rest.push(frame)
    this.pending.length = 0
    this.pending = rest
  }

  /** After a wait for room: what waited leaves at once, packed, the highest priority first. */
  private readonly unblock = (): void => {
    this.blocked = false
    if (this.pending.length === 0) return
    // Stable (as every Array sort is since ES2019): each priority keeps its
    // order. Skipped when already in order, as one priority always is: a
    // stream's backlog can be thousands of frames, sorted at every wait.
    if (!inPriorityOrder(this.pending)) this.pending.sort(higherPriorityFirst)
    // What waited for room has waited enough: none of it is kept back.
    this.keptBack = this.pending.length
    this.flush()
  }

  /**
   * Sends frames[start, end) as one message of `size` bytes. Returns false
   * when the message must wait for room: it then waits in the endpoint,
   * and this writer holds everything after it until it has left.
   */
  private sendMessage(frames: readonly Pending[], start: number, end: number, size: number, priority: number): boolean {
    // A fresh message each time, never a reused one: a transport may keep the
    // bytes it is given (a broker client queues them until it writes).
    const message = messages.take(size)
    const view = messages.view
    const base = messages.base
    let at = 0
    for (let i = start; i < end; i++) {
      const frame = frames[i] as Pending
      const headerSize = i === start ? HEADER_SIZE : this.headerSizeAfter(frames[i - 1] as Pending, frame)
      if (headerSize === HEADER_SIZE) {
        writeHeader(view, base + at, frame.header, frame.body.length, frame.offset, frame.chunkLength)
      } else {
        writeShortHeader(view, base + at, frame.header, frame.chunkLength)
      }
      message.set(
        frame.chunkLength === frame.body.length
          ? frame.body
          : frame.body.subarray(frame.offset, frame.offset + frame.chunkLength),
        at + headerSize,
      )
      at += headerSize + frame.chunkLength
    }
    // Room in the queue and nobody waiting before us: send now, no promise.
    if (this.endpoint.waitingSends === 0) {
      let sentNow: boolean
      try {
        sentNow = this.endpoint.trySend(message, priority)
      } catch (error) {
        for (let i = start; i < end; i++) frames[i]?.done?.(error)
        return true
      }
      if (sentNow) {
        for (let i = start; i < end; i++) {
          const frame = frames[i] as Pending
          if (frame.last) frame.done?.()
        }
        return true
      }
    }
    // It must wait: its frames need a list of their own (the pending one is reused).
    const waiting = frames.slice(start, end)
    const options = this.options.sendTimeoutMs === undefined ? { priority } : { priority, timeoutMs: this.options.sendTimeoutMs }
    this.blocked = true
    this.endpoint.send(message, options).then(
      () => {
        for (const frame of waiting) if (frame.last) frame.done?.()
        this.unblock()
      },
      (error: unknown) => {
        for (const frame of waiting) frame.done?.(error)
        this.unblock()
      },
    )
    return false
  }
}

/**
 * Orders frames that waited for room, highest priority first. A call's
 * frames share one priority, so each call keeps its order; an urgent reply
 * posted while bulk ones waited must not leave behind them, as it would
 * not have in the kernel's queue.
 */
const higherPriorityFirst = (a: Pending, b: Pending): number => b.priority - a.priority

/** Whether no frame has a higher priority than one before it. */
function inPriorityOrder(frames: readonly Pending[]): boolean {
  for (let i = 1; i < frames.length; i++) {
    if ((frames[i] as Pending).priority > (frames[i - 1] as Pending).priority) return false
  }
  return true
}
