/**
 * A first-in first-out line of items on an array with a head index. Taking
 * moves the index; `Array.prototype.shift()` would move every item behind
 * the first (each move a write barrier in V8), on every take.
 * @module
 */

/**
 * Taken items leave empty slots at the front of the array until the line
 * empties; a line that never empties (a sustained backlog) drops them once
 * this many have been taken and they are at least half the array, so
 * copying stays at most one item per take.
 */
const COMPACT_AFTER = 256

export class Fifo<T> {
  private items: (T | undefined)[] = []
  private head = 0

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

  /** Drops every item. */
  clear(): void {
    this.items = []
    this.head = 0
  }
}
