/**
 * The options and results of MessageQueue's methods, public API
 * (re-exported by message-queue.ts and the package's index).
 * @module
 */
import type { WaitOptions } from './waiter.js'

/** Which directions a queue is opened for. */
export type QueueAccess = 'read' | 'write' | 'readwrite'

/** Options of {@link MessageQueue.open}. */
export type OpenOptions = Readonly<{
  /** Create the queue when it does not exist. Defaults to false. */
  create?: boolean
  /** With `create`, fail with EEXIST when it already exists. Defaults to false. */
  exclusive?: boolean
  /** Permission bits of a queue we create, set exactly (not filtered by the umask). Defaults to 0o600. */
  mode?: number
  /** Slots of a queue we create (`mq_maxmsg`). Defaults to 10. */
  maxMessages?: number
  /** Largest message of a queue we create (`mq_msgsize`). Defaults to 8192. */
  messageSize?: number
  /** Directions to open for. Defaults to 'readwrite'. */
  access?: QueueAccess
}>

/** Options of {@link MessageQueue.send}. */
export type SendOptions = Readonly<
  WaitOptions & {
    /** mq priority; higher is received first. Defaults to 0. */
    priority?: number
  }
>

/** Options of {@link MessageQueue.receive}. */
export type ReceiveOptions = Readonly<WaitOptions>

/** One received message. */
export interface Message {
  readonly data: Buffer
  readonly priority: number
}

/** The queue's attributes, as the kernel reports them now. */
export interface QueueAttributes {
  readonly maxMessages: number
  readonly messageSize: number
  readonly currentMessages: number
}

/** The queue's owner and permission bits, from fstat on the descriptor. */
export interface QueueOwner {
  readonly uid: number
  readonly gid: number
  readonly mode: number
}

/** Called with each message in consume mode; `data` is valid only during the call. */
export type MessageHandler = (data: Uint8Array, priority: number) => void
