/**
 * The JavaScript-visible shape of the native addon (native/*.cc). The addon
 * is loaded once, in load-addon.ts; everything else imports this type.
 * @module
 */

/** Access bits passed to `open`: 1 read, 2 write, 3 both. */
export type NativeAccess = 1 | 2 | 3

/** Readiness bits reported and requested by a watcher. */
export const READABLE = 1
export const WRITABLE = 2

/**
 * One open queue: owns its descriptor and the libuv poll handle on it (the
 * descriptor never reaches JavaScript). Both are released by close(), by
 * the object's finalizer when it is dropped unclosed, and when its
 * environment ends (a worker thread exiting). Nothing native holds the
 * object while it is not watching, so an idle, unreferenced queue is
 * collected and its descriptor closed.
 */
export interface NativeQueue {
  /** Whether this open created the queue. */
  readonly created: boolean
  /** False once released (close(), or its environment ended). */
  readonly isOpen: boolean
  /** Sends one message; false when the queue is full. */
  send(bytes: Uint8Array, priority: number): boolean
  /**
   * Binds the slots every receive fills: consecutive `slotSize` slots of
   * `buffer`, each message's length and priority in `lengths` and
   * `priorities`. Bound once, so that a receive looks nothing up.
   */
  bindReceive(buffer: Uint8Array, slotSize: number, lengths: Int32Array, priorities: Uint32Array): void
  /** Receives up to `max` messages into the bound slots; returns how many (0 when empty). */
  receiveMany(max: number): number
  /** Pairs this queue with `other` for pairWaiting (held until this one is released). */
  pairWith(other: NativeQueue): void
  /** Whether this queue (1) and its pair (2) have a message waiting: one poll() of both. */
  pairWaiting(): number
  /** [flags, maxMessages, messageSize, currentMessages] */
  getattr(): [number, number, number, number]
  /** Sets mq_flags; returns the previous attributes. */
  setattr(flags: number): [number, number, number, number]
  /** [uid, gid, mode] of the queue's owner. */
  fstat(): [number, number, number]
  /**
   * Watches for a mask of READABLE | WRITABLE, calling `callback` from
   * libuv's poll phase; 0 stops. With `drainMax` > 0, a readable queue is
   * read into the bound slots (up to `drainMax` messages) before the
   * callback runs, which hears how many (`drained`, -1 when nothing was
   * read there) or the errno of a failed read. While watching, the callback
   * and this object are held strongly (a wait in progress keeps its queue
   * alive); after 0, neither is.
   */
  watch(events: number, callback?: ReadyCallback, drainMax?: number): void
  /** Releases the poll handle (uv_close) and the descriptor; idempotent. */
  close(): void
}

/** What a watch reports: poll status, ready events, and what the addon read first (see NativeQueue.watch). */
export type ReadyCallback = (status: number, events: number, drained: number, receiveErrno: number) => void

export interface NativeAddon {
  /** Opens (and optionally creates) a queue, always non-blocking. Throws an errno-shaped error. */
  Queue: new (
    name: string,
    access: NativeAccess,
    create: boolean,
    exclusive: boolean,
    mode: number,
    maxMessages: number,
    messageSize: number,
  ) => NativeQueue
  unlink(name: string): void
}
