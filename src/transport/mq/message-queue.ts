/**
 * MessageQueue: a POSIX message queue as promises, with back-pressure.
 *
 * The descriptor is non-blocking; when a receive finds the queue empty or a
 * send finds it full, the wait is parked here and a libuv poll watcher on the
 * descriptor wakes us when the kernel says it is readable or writable. Waits
 * settle in the order they were made, and a message is taken from the kernel
 * only when someone is there to take it, so a timeout, an abort or a close
 * never loses or duplicates one.
 * @module
 */
import type {
  Message,
  MessageHandler,
  OpenOptions,
  QueueAccess,
  QueueAttributes,
  QueueOwner,
  ReceiveOptions,
  SendOptions,
} from './message-queue-types.js'
import { MqError, QUEUE_CLOSED, toMqError } from './mq-error.js'
import { type NativeQueue, READABLE, type ReadyCallback, WRITABLE } from './native.js'
import { openNativeQueue, unlinkQueueName } from './open-queue.js'
import { ReceiveSlots } from './receive-slots.js'
import { SendOutbox } from './send-outbox.js'
import { unwatchLater } from './unwatch-later.js'
import { abortedError, Waiter } from './waiter.js'

export type * from './message-queue-types.js'

// Messages drained per crossing into C++, and crossings per wake-up before
// yielding to the event loop (poll is level-triggered: we come back).
const BATCH = 16
// MQ_PRIO_MAX is 32768 on Linux: priorities run from 0 to 32767.
const MAX_PRIORITY = 32767
const BATCHES_PER_WAKE = 4

export class MessageQueue implements AsyncIterable<Message> {
  /** Opens, and with `create` creates, the queue `name`. Throws MqError. */
  static open(name: string, options: OpenOptions = {}): MessageQueue {
    const access = options.access ?? 'readwrite'
    return new MessageQueue(name, openNativeQueue(name, access, options), access)
  }

  /** Removes the name `name` (the queue lives on until its last descriptor closes). Throws MqError. */
  static unlink(name: string): void {
    unlinkQueueName(name)
  }

  /** The queue's name. */
  readonly name: string
  /** Whether this open created the queue (and so this side should unlink it). */
  readonly created: boolean
  /** The access it was opened with. */
  readonly access: QueueAccess
  /** The queue's `mq_msgsize`: the largest message it carries. */
  readonly messageSize: number
  /** The queue's `mq_maxmsg`. */
  readonly maxMessages: number

  // Owns the descriptor and its poll handle; released by close(), or by the
  // addon when this object is collected unclosed or its thread ends.
  private readonly native: NativeQueue
  private closed = false
  private watching = 0
  // How many messages the addon reads as it wakes us (consume mode), as last told.
  private drainMax = 0
  // How many a consumer's wake-up reads: BATCH, or 1 (readOneAtATime).
  private consumeBatch = BATCH
  // Losing interest waits (see updateWatch): until the end of this turn, or a little longer.
  private stopWritingScheduled = false
  private stopReadingScheduled = false
  // Held by the addon only while watching: an idle queue is collectable.
  private readonly onReadyCallback: ReadyCallback = (status, events, drained, receiveErrno) =>
    this.onReady(status, events, drained, receiveErrno)
  private readonly applyWatchAtTurnEnd = (): void => {
    this.stopWritingScheduled = false
    this.updateWatch(true)
  }
  private readonly applyWatchLater = (): void => {
    this.stopReadingScheduled = false
    this.updateWatch(true)
  }
  private readonly receivers: Waiter<Message>[] = []
  private readonly outbox = new SendOutbox()
  private consumer: MessageHandler | undefined
  /** A drain is handing out a batch from the slots: reading again now would overwrite it. */
  private draining = false
  private readonly slots: ReceiveSlots

  private constructor(name: string, native: NativeQueue, access: QueueAccess) {
    this.name = name
    this.native = native
    this.access = access
    this.created = native.created
    const [, maxMessages, messageSize] = native.getattr()
    this.maxMessages = maxMessages
    this.messageSize = messageSize
    this.slots = new ReceiveSlots(native, name, access, messageSize, BATCH)
  }

  /** Sends waiting for room in the queue. */
  get waitingSends(): number {
    return this.outbox.length
  }

  /** Whether close() has been called. */
  get isClosed(): boolean {
    return this.closed
  }

  /**
   * Sends `data`, waiting for room while the queue is full (back-pressure:
   * the kernel's POLLOUT wakes us; nothing spins, nothing is dropped). Sends
   * of one priority leave in the order they were made; a waiting send of a
   * higher priority overtakes waiting lower ones, as it would in the kernel.
   * Do not change `data` until it settles.
   */
  send(data: Uint8Array, options: SendOptions = {}): Promise<void> {
    const priority = options.priority ?? 0
    // Checks first, so that an aborted signal takes no room and every
    // failure is a rejection, never a synchronous throw.
    const aborted = abortedError(options, 'send', this.name)
    if (aborted !== undefined) return Promise.reject(aborted)
    try {
      if (this.outbox.mayOvertake(priority) && this.trySend(data, priority)) return Promise.resolve()
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter<void> = new Waiter<void>(resolve, reject, options, 'send', this.name, (w) => {
        this.outbox.remove(w)
        this.updateWatch()
      })
      this.outbox.add(waiter, data, priority)
      this.updateWatch()
    })
  }

  /** Sends at once; false when the queue is full. Throws MqError on any other failure. */
  trySend(data: Uint8Array, priority = 0): boolean {
    this.assertOpen('send')
    if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY) {
      throw new MqError(`priority ${priority} is out of range: mq priorities are integers from 0 to ${MAX_PRIORITY}`, {
        code: 'EINVAL',
        syscall: 'mq_send',
        queue: this.name,
      })
    }
    try {
      return this.native.send(data, priority)
    } catch (error) {
      throw toMqError(error, { queue: this.name, bytes: data.byteLength, messageSize: this.messageSize, access: this.access })
    }
  }

  /** Receives the next message (highest priority first, FIFO within one), waiting while the queue is empty. */
  receive(options: ReceiveOptions = {}): Promise<Message> {
    const aborted = abortedError(options, 'receive', this.name)
    if (aborted !== undefined) return Promise.reject(aborted)
    try {
      this.assertReadable('receive')
      if (this.receivers.length === 0 && this.consumer === undefined) {
        const message = this.tryReceive()
        if (message !== undefined) return Promise.resolve(message)
      }
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise<Message>((resolve, reject) => {
      const waiter = new Waiter<Message>(resolve, reject, options, 'receive', this.name, (w) => {
        const index = this.receivers.indexOf(w)
        if (index !== -1) this.receivers.splice(index, 1)
        this.updateWatch()
      })
      this.receivers.push(waiter)
      this.updateWatch()
    })
  }

  /** Receives at once; undefined when the queue is empty. */
  tryReceive(): Message | undefined {
    this.assertReadable('receive')
    const count = this.slots.read(1)
    if (count === 0) return undefined
    return this.slots.copy(0)
  }

  /**
   * Consume mode, for protocol layers: every message is handed to `handler`
   * as soon as it arrives, drained in batches, without a copy (the bytes are
   * valid only during the call). Returns a function that stops consuming.
   * While consuming, receive() is not available.
   */
  consume(handler: MessageHandler): () => void {
    this.assertReadable('consume')
    if (this.consumer !== undefined || this.receivers.length > 0) {
      throw new MqError(`queue ${this.name} already has a reader in this process`, { code: 'EBUSY', queue: this.name })
    }
    this.consumer = handler
    this.updateWatch()
    this.drainToConsumer(-1, this.consumeBatch)
    return () => {
      if (this.consumer === handler) {
        this.consumer = undefined
        this.updateWatch()
      }
    }
  }

  /**
   * In consume mode, whether each wake-up reads one message (true) or every
   * message waiting (false, the default). Reading on until the queue is
   * empty takes a read that finds it so, a system call per wake-up; when
   * messages come one at a time, as the reply to a client's lone call
   * does, reading one and leaving the check for more to the poll saves it.
   * Nothing is left unread either way: a queue with messages waiting wakes
   * the poll again.
   */
  readOneAtATime(one: boolean): void {
    const batch = one ? 1 : BATCH
    if (batch === this.consumeBatch) return
    this.consumeBatch = batch
    this.updateWatch()
  }

  /**
   * In consume mode, hands every message waiting now to the consumer,
   * synchronously. Lets a reader look at this queue between other work
   * instead of waiting for the next poll (the urgent lane uses it).
   */
  drainNow(): void {
    // From within the consumer (it may call here through the scheduler), a
    // read would overwrite the batch being handed out: the drain under way
    // reads on anyway.
    if (this.consumer !== undefined && !this.closed && !this.draining) this.drainToConsumer()
  }

  /**
   * Pairs this queue with `other` (a service's two lanes), so that
   * waitingInPair() checks both with one system call where reading each
   * would take two when both are empty.
   */
  pairWith(other: MessageQueue): void {
    this.native.pairWith(other.native)
  }

  /**
   * Whether this queue (bit 1) and the one paired with it (bit 2) have a
   * message waiting now. Should the check itself fail, both bits: the reads
   * that follow report what is wrong.
   */
  waitingInPair(): number {
    if (this.closed) return 0
    try {
      return this.native.pairWaiting()
    } catch {
      return 3
    }
  }

  /** Iterates over received messages; ends when the queue is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<Message> {
    while (!this.closed) {
      try {
        yield await this.receive()
      } catch (error) {
        if ((error as MqError).code === QUEUE_CLOSED) return
        throw error
      }
    }
  }

  /** The attributes the kernel reports now. */
  attributes(): QueueAttributes {
    this.assertOpen('attributes')
    try {
      const [, maxMessages, messageSize, currentMessages] = this.native.getattr()
      return { maxMessages, messageSize, currentMessages }
    } catch (error) {
      throw toMqError(error, { queue: this.name })
    }
  }

  /** The queue's owner uid/gid and mode, as fstat on the descriptor reports them. */
  owner(): QueueOwner {
    this.assertOpen('owner')
    try {
      const [uid, gid, mode] = this.native.fstat()
      return { uid, gid, mode }
    } catch (error) {
      throw toMqError(error, { queue: this.name })
    }
  }

  /** Closes the descriptor; pending sends and receives reject with ERR_QUEUE_CLOSED. Does not unlink. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.consumer = undefined
    this.native.close()
    const error = (what: string) =>
      new MqError(`queue ${this.name} was closed while a ${what} was waiting`, { code: QUEUE_CLOSED, queue: this.name })
    for (const waiter of this.receivers.splice(0)) waiter.reject(error('receive'))
    this.outbox.rejectAll(() => error('send'))
  }

  private assertOpen(what: string): void {
    if (this.closed) {
      throw new MqError(`cannot ${what}: queue ${this.name} is closed`, { code: QUEUE_CLOSED, queue: this.name })
    }
  }

  private assertReadable(what: string): void {
    this.assertOpen(what)
    if (this.access === 'write') {
      throw new MqError(
        `cannot ${what}: queue ${this.name} was opened for writing only (open it with access 'read' or 'readwrite')`,
        { code: 'EBADF', syscall: 'mq_receive', queue: this.name },
      )
    }
  }

  /**
   * Tells the addon what to watch for. Losing interest waits (unless `now`):
   * the next receive or waiting send usually follows at once, and stopping
   * and restarting the poll costs two epoll_ctl calls. Losing interest in
   * writing waits until the end of this turn of the event loop (a queue
   * with room would wake us on every turn); losing interest in reading
   * alone waits a little longer (unwatch-later.ts), since a `setImmediate`
   * per received message cost more than the calls it saved. A change of
   * drainMax applies at once: messages must never be read for a consumer
   * that has gone.
   */
  private updateWatch(now = false): void {
    if (this.closed) return
    const wanted =
      (this.receivers.length > 0 || this.consumer !== undefined ? READABLE : 0) | (this.outbox.length > 0 ? WRITABLE : 0)
    const drainMax = this.consumer === undefined ? 0 : this.consumeBatch
    if (wanted === this.watching && drainMax === this.drainMax) return
    const onlyLosing = (wanted & ~this.watching) === 0 && drainMax === this.drainMax
    if (onlyLosing && !now) {
      if ((this.watching & ~wanted & WRITABLE) !== 0) {
        if (!this.stopWritingScheduled) {
          this.stopWritingScheduled = true
          setImmediate(this.applyWatchAtTurnEnd)
        }
      } else if (!this.stopReadingScheduled) {
        this.stopReadingScheduled = true
        unwatchLater(this.applyWatchLater)
      }
      return
    }
    this.watching = wanted
    this.drainMax = drainMax
    this.native.watch(wanted, this.onReadyCallback, drainMax)
  }

  private onReady(status: number, events: number, drained: number, receiveErrno: number): void {
    if (this.closed) return
    if (status !== 0) {
      const error = toMqError({ code: 'EIO', errno: status, syscall: 'poll' }, { queue: this.name })
      for (const waiter of this.receivers.splice(0)) waiter.reject(error)
      this.outbox.rejectAll(() => error)
      this.updateWatch()
      return
    }
    if (events & WRITABLE) this.outbox.flush((data, priority) => this.trySend(data, priority))
    // Woken to read with nobody reading: a watch left on after the last
    // receive (see updateWatch) would wake us on every turn until it ends.
    const nobodyReading = (events & READABLE) !== 0 && this.consumer === undefined && this.receivers.length === 0
    if (events & READABLE) {
      if (this.consumer !== undefined) this.drainToConsumer(receiveErrno === 0 ? drained : -1, this.drainMax)
      else this.feedReceivers()
    }
    this.updateWatch(nobodyReading)
  }

  private feedReceivers(): void {
    for (let round = 0; round < BATCHES_PER_WAKE && this.receivers.length > 0 && !this.closed; round++) {
      let count: number
      try {
        count = this.slots.read(Math.min(BATCH, this.receivers.length))
      } catch (error) {
        this.receivers.shift()?.reject(error)
        continue
      }
      if (count === 0) return
      for (let i = 0; i < count; i++) this.receivers.shift()?.resolve(this.slots.copy(i))
    }
  }

  /**
   * Hands waiting messages to the consumer, reading `batch` at a time;
   * `drained` (when not -1) were read by the addon as it woke us.
   */
  private drainToConsumer(drained = -1, batch = BATCH): void {
    this.draining = true
    try {
      for (let round = 0; round < BATCHES_PER_WAKE; round++) {
        const handler = this.consumer
        if (handler === undefined || this.closed) return
        const count = round === 0 && drained >= 0 ? drained : this.slots.read(batch)
        for (let i = 0; i < count; i++) handler(this.slots.view(i), this.slots.priority(i))
        // Fewer than a batch: the queue is empty. One at a time: the poll looks for more.
        if (count < batch || batch === 1) return
      }
    } finally {
      this.draining = false
    }
  }
}
