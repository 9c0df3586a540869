/**
 * Calls in flight by id: a Map's operations, with the first call kept in
 * fields of its own and only the others in the Map. A side making one call
 * at a time added and deleted a Map entry per call, and V8 (Node 20) remakes
 * a small Map's table at every delete that empties it, a runtime call of
 * about 450 instructions (bench/analysis.md, the twelfth session); here
 * such a side never touches the Map.
 * @module
 */
export class CallTable<V> {
  private soloId = 0
  private solo: V | undefined = undefined
  private readonly rest = new Map<number, V>()

  get size(): number {
    return (this.solo === undefined ? 0 : 1) + this.rest.size
  }

  get(id: number): V | undefined {
    if (this.solo !== undefined && id === this.soloId) return this.solo
    return this.rest.size === 0 ? undefined : this.rest.get(id)
  }

  has(id: number): boolean {
    return this.get(id) !== undefined
  }

  /** `value` must not be undefined (it would read as absent). */
  set(id: number, value: V): void {
    if (this.solo !== undefined && id === this.soloId) {
      this.solo = value
    } else if (this.solo === undefined && (this.rest.size === 0 || !this.rest.has(id))) {
      this.soloId = id
      this.solo = value
    } else {
      this.rest.set(id, value)
    }
  }

  delete(id: number): boolean {
    if (this.solo !== undefined && id === this.soloId) {
      this.solo = undefined
      return true
    }
    return this.rest.size !== 0 && this.rest.delete(id)
  }

  clear(): void {
    this.solo = undefined
    this.rest.clear()
  }

  *keys(): IterableIterator<number> {
    for (const [id] of this.entries()) yield id
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value
  }

  /** Every entry; those added while iterating may or may not be seen, as with a Map. */
  *entries(): IterableIterator<[number, V]> {
    const solo = this.solo
    if (solo !== undefined) yield [this.soloId, solo]
    yield* this.rest.entries()
  }
}
