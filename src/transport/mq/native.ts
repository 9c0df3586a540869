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

/** A libuv poll handle on one queue descriptor. */
export interface NativeWatcher {
  /** Watch for a mask of READABLE | WRITABLE; 0 stops. */
  start(events: number): void
  stop(): void
  /** Releases the handle through uv_close; the watcher is dead afterwards. */
  close(): void
}

export interface NativeAddon {
  /** Opens (and optionally creates) a queue, always non-blocking. Returns [fd, created]. */
  open(
    name: string,
    access: NativeAccess,
    create: boolean,
    exclusive: boolean,
    mode: number,
    maxMessages: number,
    messageSize: number,
  ): [fd: number, created: boolean]
  close(fd: number): void
  unlink(name: string): void
  /** Sends one message; false when the queue is full. */
  send(fd: number, bytes: Uint8Array, priority: number): boolean
  /**
   * Receives up to `max` messages into consecutive `slotSize` slots of
   * `buffer`, writing each length and priority; returns how many (0 when empty).
   */
  receiveMany(fd: number, buffer: Uint8Array, slotSize: number, lengths: Int32Array, priorities: Uint32Array, max: number): number
  /** [flags, maxMessages, messageSize, currentMessages] */
  getattr(fd: number): [number, number, number, number]
  /** Sets mq_flags; returns the previous attributes. */
  setattr(fd: number, flags: number): [number, number, number, number]
  /** [uid, gid, mode] of the queue's owner. */
  fstat(fd: number): [number, number, number]
  Watcher: new (fd: number, callback: (status: number, events: number) => void) => NativeWatcher
}
