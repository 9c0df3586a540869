/**
 * The sends waiting for room in a queue, each with the waiter of its
 * promise, in the order they are to leave.
 * @module
 */
import type { Waiter } from './waiter.js'

interface PendingSend {
  readonly data: Uint8Array
  readonly priority: number
}

/** Pending sends, ordered as the kernel would order them. */
export class SendOutbox {
  // Side by side: a send and its waiter share an index.
  private readonly senders: Waiter<void>[] = []
  private readonly outbox: PendingSend[] = []

  /** How many sends wait. */
  get length(): number {
    return this.outbox.length
  }

  /** Whether a new send of `priority` may go before every waiting one (none waits, or only lower ones). */
  mayOvertake(priority: number): boolean {
    const first = this.outbox[0]
    return first === undefined || first.priority < priority
  }

  /** Adds a send that found no room, behind those of its priority and higher. */
  add(waiter: Waiter<void>, data: Uint8Array, priority: number): void {
    // Higher priorities overtake pending lower ones here too, as they would
    // in the kernel; within one priority, sends keep their order.
    let index = this.outbox.length
    while (index > 0 && (this.outbox[index - 1] as PendingSend).priority < priority) index--
    this.senders.splice(index, 0, waiter)
    this.outbox.splice(index, 0, { data, priority })
  }

  /** Forgets the send of a waiter that gave up (timeout, abort). */
  remove(waiter: Waiter<void>): void {
    const index = this.senders.indexOf(waiter)
    if (index !== -1) {
      this.senders.splice(index, 1)
      this.outbox.splice(index, 1)
    }
  }

  /** Sends from the front while `trySend` finds room; a send that throws is rejected and the next one tried. */
  flush(trySend: (data: Uint8Array, priority: number) => boolean): void {
    while (this.outbox.length > 0) {
      const next = this.outbox[0] as PendingSend
      let sent: boolean
      try {
        sent = trySend(next.data, next.priority)
      } catch (error) {
        this.outbox.shift()
        this.senders.shift()?.reject(error)
        continue
      }
      if (!sent) return
      this.outbox.shift()
      this.senders.shift()?.resolve()
    }
  }

  /** Rejects every waiting send, each with the error `error` makes, and forgets them. */
  rejectAll(error: () => unknown): void {
    for (const waiter of this.senders.splice(0)) waiter.reject(error())
    this.outbox.length = 0
  }
}
