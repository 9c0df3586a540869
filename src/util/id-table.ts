/**
 * Values by 32-bit id (a session's calls in flight), in a table that is
 * made once and grows only when it fills, never remade as ids come and go.
 *
 * A Map with an entry set and deleted per call makes itself a new hash
 * table every few dozen calls, and V8 makes the new table where the old
 * one lies. Once a full collection has moved a session's table to the old
 * generation, then, every later table is made there too; each one left
 * behind still holds the calls it held, and as garbage of the old
 * generation it keeps them, and all they reach, alive through every
 * scavenge until the next full collection, so nearly every call is copied
 * and promoted. A server in that state spent half as much CPU again per
 * call, for the rest of the session (bench/analysis.md, the nineteenth
 * session). Here the arrays are replaced only to grow.
 *
 * The hash is fixed, so a peer can choose ids that share a slot; a lookup
 * then walks at most every entry of the table, which the server's
 * maxInFlight bounds per session, as it bounds the table's size.
 * @module
 */

/** Slots of a new table; it doubles whenever it would be more than half full. */
const INITIAL_SLOTS = 16

export class IdTable<V> {
  private ids = new Uint32Array(INITIAL_SLOTS)
  /** undefined marks an empty slot. */
  private values: (V | undefined)[] = new Array<V | undefined>(INITIAL_SLOTS).fill(undefined)
  /** 32 minus log2 of the slot count: a hash's top bits pick the slot. */
  private shift = 32 - Math.log2(INITIAL_SLOTS)
  private count = 0

  /** Entries in the table. */
  get size(): number {
    return this.count
  }

  get(id: number): V | undefined {
    const slot = this.slotOf(id)
    return slot < 0 ? undefined : this.values[slot]
  }

  has(id: number): boolean {
    return this.slotOf(id) >= 0
  }

  /** Sets the value of `id`, replacing any it had. */
  set(id: number, value: V): void {
    let slot = this.slotOf(id)
    if (slot >= 0) {
      this.values[slot] = value
      return
    }
    this.count++
    if (this.count * 2 > this.values.length) {
      this.grow()
      slot = this.slotOf(id)
    }
    // ~slot: the empty slot where the probe for `id` stopped.
    this.ids[~slot] = id
    this.values[~slot] = value
  }

  /** Removes `id`; returns whether it was there. */
  delete(id: number): boolean {
    return this.take(id) !== undefined
  }

  /** Removes `id` and returns its value (undefined if absent): a get and a delete in one probe. */
  take(id: number): V | undefined {
    let empty = this.slotOf(id)
    if (empty < 0) return undefined
    const taken = this.values[empty]
    // Linear probing without tombstones: each entry after the emptied slot,
    // up to the next empty one, moves back into it unless its own home slot
    // lies after the gap (it would then no longer be found).
    const mask = this.values.length - 1
    for (let next = (empty + 1) & mask; this.values[next] !== undefined; next = (next + 1) & mask) {
      const home = this.home(this.ids[next] as number)
      const stays = empty <= next ? empty < home && home <= next : empty < home || home <= next
      if (stays) continue
      this.ids[empty] = this.ids[next] as number
      this.values[empty] = this.values[next]
      empty = next
    }
    this.values[empty] = undefined
    this.count--
    return taken
  }

  /** The values, in no particular order, as an array of their own (the table may change while it is walked). */
  valueList(): V[] {
    const list: V[] = []
    for (const value of this.values) if (value !== undefined) list.push(value)
    return list
  }

  /** The ids, in no particular order, as an array of their own. */
  idList(): number[] {
    const list: number[] = []
    for (let slot = 0; slot < this.values.length; slot++) if (this.values[slot] !== undefined) list.push(this.ids[slot] as number)
    return list
  }

  /** Removes every entry (the table keeps its size). */
  clear(): void {
    this.values.fill(undefined)
    this.count = 0
  }

  /** Fibonacci hashing: consecutive ids land far apart. */
  private home(id: number): number {
    return Math.imul(id, 0x9e3779b1) >>> this.shift
  }

  /** The slot holding `id`; if none, ~ the empty slot where it would go (a negative number). */
  private slotOf(id: number): number {
    const mask = this.values.length - 1
    for (let slot = this.home(id); ; slot = (slot + 1) & mask) {
      if (this.values[slot] === undefined) return ~slot
      if (this.ids[slot] === id) return slot
    }
  }

  private grow(): void {
    const ids = this.ids
    const values = this.values
    this.ids = new Uint32Array(values.length * 2)
    this.values = new Array<V | undefined>(values.length * 2).fill(undefined)
    this.shift--
    for (let slot = 0; slot < values.length; slot++) {
      const value = values[slot]
      if (value === undefined) continue
      const free = ~this.slotOf(ids[slot] as number)
      this.ids[free] = ids[slot] as number
      this.values[free] = value
    }
  }
}
