/**
 * Bodies encoded straight into shared slabs (src/protocol/body-slabs.ts,
 * through encodeBody): each body keeps its bytes whatever is encoded
 * after it, small ones share a slab, a body that outgrows what is left of
 * its slab moves whole, a large one gets memory of its own at its exact
 * size, and an encode that fails part-way leaves nothing behind.
 */
import { encode as libraryEncode } from '@msgpack/msgpack'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SLAB_BYTES } from '../../src/protocol/body-slabs.js'
import { decodeBody, encodeBody } from '../../src/protocol/wire.js'

const expectedBytes = (value: unknown): number[] => [...libraryEncode(value, { ignoreUndefined: true })]

describe('bodies encoded into shared slabs', () => {
  it('keeps every body as encoded, whatever is encoded after it and in what sizes', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.record({ i: fc.integer(), pad: fc.string({ maxLength: 3000 }) }),
      fc.uint8Array({ maxLength: 9000 }),
    )
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 60 }), (values) => {
        const bodies = values.map((v) => encodeBody(v))
        for (const [i, body] of bodies.entries()) {
          expect(body.constructor).toBe(Uint8Array)
          expect([...body]).toEqual(expectedBytes(values[i]))
        }
      }),
      { numRuns: 200 },
    )
  })

  it('puts small bodies side by side in one slab, apart from each other', () => {
    const first = encodeBody({ n: 1 })
    const second = encodeBody({ n: 2 })
    if (first.buffer === second.buffer) {
      // (Unless the slab ended between them, where the second starts a new one.)
      expect(second.byteOffset).toBeGreaterThanOrEqual(first.byteOffset + first.length)
      expect(first.buffer.byteLength).toBe(SLAB_BYTES)
    }
    second.fill(0)
    expect(decodeBody(first, 'REQUEST')).toEqual({ n: 1 })
  })

  it('moves a body that outgrows what is left of its slab, whole, to a fresh slab', () => {
    // Fill most of a slab, so that the next body cannot fit what is left.
    let filler = encodeBody('f'.repeat(100))
    for (let i = 0; i < 100 && filler.byteOffset + filler.length < SLAB_BYTES - 600; i++) filler = encodeBody('f'.repeat(100))
    expect(filler.byteOffset + filler.length).toBeGreaterThanOrEqual(SLAB_BYTES - 600)
    const value = { pad: 'm'.repeat(1000), i: 7 }
    const body = encodeBody(value)
    expect(body.buffer).not.toBe(filler.buffer)
    expect(body.byteOffset).toBe(0)
    expect([...body]).toEqual(expectedBytes(value))
    expect(decodeBody(filler, 'REQUEST')).toBe('f'.repeat(100))
  })

  it('gives a body larger than half a slab memory of its own, at its size, and holds no slab with it', () => {
    const small = encodeBody({ before: true })
    const value = { pad: 'L'.repeat(3 * SLAB_BYTES), i: 1 }
    const large = encodeBody(value)
    expect(large.byteOffset).toBe(0)
    expect(large.buffer.byteLength).toBe(large.length)
    expect([...large]).toEqual(expectedBytes(value))
    // The slab goes on where it was: the next small body follows the one before the large body.
    const after = encodeBody({ after: true })
    expect(after.buffer).toBe(small.buffer)
    expect(after.byteOffset).toBe(small.byteOffset + small.length)
  })

  it('forgets what an encode that failed part-way wrote, and encodes the next body where it would have gone', () => {
    const before = encodeBody({ ok: 1 })
    expect(() => encodeBody({ pad: 'x'.repeat(50), bad: Symbol('no') })).toThrow()
    expect(() => encodeBody({ pad: 'y'.repeat(20_000), bad: Symbol('no') })).toThrow()
    const next = encodeBody({ ok: 2 })
    expect(decodeBody(next, 'REQUEST')).toEqual({ ok: 2 })
    if (next.buffer === before.buffer) expect(next.byteOffset).toBe(before.byteOffset + before.length)
    expect(decodeBody(before, 'REQUEST')).toEqual({ ok: 1 })
  })

  it('encodes a body asked for from within another encode (a getter) with a one-off encoder', () => {
    const inner = { n: 42 }
    let innerBody: Uint8Array | undefined
    const outer = {
      get field() {
        innerBody = encodeBody(inner)
        return 'x'.repeat(30)
      },
    }
    const outerBody = encodeBody(outer)
    expect(decodeBody(outerBody, 'REQUEST')).toEqual({ field: 'x'.repeat(30) })
    expect(innerBody && decodeBody(innerBody, 'REQUEST')).toEqual(inner)
  })
})
