/**
 * The scheduler's round-robin: each owner's waiting bulk calls in a line of
 * its own (a {@link Fifo}), and the lines in the order of their turns, a
 * linked list: turning a Map's first entry to the back re-hashed the owner
 * on every call.
 * @module
 */
import { Fifo } from '../util/fifo.js'

/** One owner's waiting items, first in first out. */
export class OwnerLine<T> extends Fifo<T> {
  /** The line after this one in its {@link LineList}. */
  next: OwnerLine<T> | undefined = undefined

  constructor(readonly owner: unknown) {
    super()
  }
}

/** Lines in turn order: the first is served, lines join at the back. */
export class LineList<T> {
  private head: OwnerLine<T> | undefined = undefined
  private tail: OwnerLine<T> | undefined = undefined

  get first(): OwnerLine<T> | undefined {
    return this.head
  }

  /** Whether more than one line is listed (one alone is already at the back). */
  get several(): boolean {
    return this.head !== this.tail
  }

  push(line: OwnerLine<T>): void {
    line.next = undefined
    if (this.tail === undefined) this.head = line
    else this.tail.next = line
    this.tail = line
  }

  /** Removes the first line; the list must not be empty. */
  shift(): OwnerLine<T> {
    const line = this.head as OwnerLine<T>
    this.head = line.next
    if (this.head === undefined) this.tail = undefined
    line.next = undefined
    return line
  }
}
