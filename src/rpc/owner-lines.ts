/**
 * The scheduler's round-robin: each owner's waiting bulk calls in a line of
 * its own, and the lines in the order of their turns. Lines are linked
 * lists and taking from one moves a head index, where arrays and a Map
 * churned on every call: `shift()` moves every element behind the first
 * (each move a write barrier), and turning a Map's first entry to the back
 * re-hashes the owner.
 * @module
 */

/**
 * Taken items leave empty slots at the front of a line's array until the
 * line empties; a line that never empties (a sustained backlog) drops them
 * once this many have been taken and they are at least half the array, so
 * copying stays at most one element per take.
 */
const COMPACT_AFTER = 256

/** One owner's waiting items, first in first out. */
export class OwnerLine<T> {
  private items: (T | undefined)[] = []
  private head = 0
  /** The line after this one in its {@link LineList}. */
  next: OwnerLine<T> | undefined = undefined

  constructor(readonly owner: unknown) {}

  get size(): number {
    return this.items.length - this.head
  }

  push(item: T): void {
    this.items.push(item)
  }

  /** The oldest item; the line must not be empty. */
  take(): T {
    const item = this.items[this.head] as T
    // Not kept alive by the line once taken.
    this.items[this.head++] = undefined
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
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
