/**
 * pooledCopy and SlabCopier (src/util/pooled-copy.ts): the copies that
 * bodies are kept in are independent of their source and of each other,
 * whether they share a slab (small ones) or not (large ones), stay plain
 * Uint8Arrays, and one copier's copies never share memory with another's
 * (a peer's bodies must not be reachable from another peer's).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { pooledCopy, SlabCopier } from '../../src/util/pooled-copy.js'

describe('pooledCopy', () => {
  it('returns copies equal to their source that neither the source nor later copies change', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 6000 }), { minLength: 1, maxLength: 40 }), (sources) => {
        const expected = sources.map((source) => [...source])
        const copies = sources.map((source) => pooledCopy(source))
        for (const source of sources) source.fill(0xee)
        for (const [i, copy] of copies.entries()) {
          expect(copy.constructor).toBe(Uint8Array)
          expect([...copy]).toEqual(expected[i])
        }
      }),
    )
  })

  it('keeps copies apart: writing into one leaves the others as they were', () => {
    const source = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff)
    const first = pooledCopy(source)
    const second = pooledCopy(source.subarray(100, 200))
    expect([...first]).toEqual([...source])
    expect([...second]).toEqual([...source.subarray(100, 200)])
    second.fill(1)
    expect([...first]).toEqual([...source])
  })

  it('gives a copy larger than half a slab memory of its own', () => {
    const copy = pooledCopy(new Uint8Array(5000).fill(7))
    expect(copy.buffer.byteLength).toBe(5000)
    expect(copy.every((byte) => byte === 7)).toBe(true)
  })

  it("never puts two copiers' copies in one slab", () => {
    const first = new SlabCopier(4096)
    const second = new SlabCopier(4096)
    const a = first.copy(new Uint8Array([1, 2, 3]))
    const b = second.copy(new Uint8Array([4, 5, 6]))
    const c = first.copy(new Uint8Array([7]))
    expect(a.buffer).not.toBe(b.buffer)
    expect(c.buffer).toBe(a.buffer)
    expect([...new Uint8Array(a.buffer, 0, 16)]).not.toContain(4)
  })
})
