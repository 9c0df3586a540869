/**
 * The tuned msgpack codec (src/protocol/msgpack.ts): strings through the
 * engine's UTF-8 codec must give the bytes and values the library's own
 * encoder and decoder give, on either side of the length where the codec
 * changes, and the library's checks must still answer bad input.
 */
import { decode as libraryDecode, encode as libraryEncode } from '@msgpack/msgpack'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeBody, encodeBody } from '../../src/protocol/wire.js'

// Well-formed UTF-16 (no lone surrogates, which each codec replaces its own way), around the 16-byte switch and past 200.
const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 10, maxLength: 24 }),
  fc.string({ unit: 'grapheme', minLength: 150, maxLength: 400 }),
)
const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.integer(),
    fc.array(tie('node'), { maxLength: 4 }),
    // A `__proto__` key is refused by the decoder (msgpack-javascript's guard against prototype pollution).
    fc.dictionary(
      text.filter((key) => key !== '__proto__'),
      tie('node'),
      { maxKeys: 4 },
    ),
  ),
})).node

describe('msgpack strings through the engine codec', () => {
  it('encodes every value to the bytes the library would, and decodes them back', () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encodeBody(v)
        expect(Buffer.from(bytes).equals(Buffer.from(libraryEncode(v, { ignoreUndefined: true })))).toBe(true)
        expect(decodeBody(bytes, 'REQUEST')).toEqual(v)
        expect(libraryDecode(bytes)).toEqual(v)
      }),
      { numRuns: 300 },
    )
  })

  it('keeps strings that span the switch and the longest header (str 8, 16, 32) intact', () => {
    for (const length of [15, 16, 17, 31, 32, 255, 256, 65_535, 65_536, 70_000]) {
      const s = 'é'.repeat(length >> 1) + 'x'.repeat(length & 1)
      const bytes = encodeBody({ s, n: 1 })
      expect(decodeBody(bytes, 'REQUEST')).toEqual({ s, n: 1 })
      expect(Buffer.from(bytes).equals(Buffer.from(libraryEncode({ s, n: 1 })))).toBe(true)
    }
  })

  it('decodes malformed UTF-8 in a long string to U+FFFD, and a string cut short to a clear error', () => {
    // fixstr of 20 bytes: 19 x and a lone continuation byte.
    const malformed = new Uint8Array([0xb4, ...Buffer.from('x'.repeat(19)), 0x80])
    expect(decodeBody(malformed, 'REQUEST')).toBe(`${'x'.repeat(19)}\uFFFD`)
    const cut = encodeBody('y'.repeat(40)).subarray(0, 30)
    expect(() => decodeBody(cut, 'REQUEST')).toThrow(/REQUEST body is not valid msgpack/)
  })

  it('reads every number width as the library does, from a body anywhere in its buffer, and a number cut short to a clear error', () => {
    // The decoder reads numbers through one BodyView (src/protocol/body-view.ts), not a DataView per body.
    const number = fc.oneof(
      fc.integer(),
      fc.maxSafeInteger(),
      fc.double(),
      fc.float().map((f) => ({ f32: f })),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }).map((big) => ({ big: Number(big) })),
    )
    fc.assert(
      fc.property(fc.array(number, { maxLength: 6 }), fc.nat({ max: 9 }), (values, offset) => {
        const plain = values.map((v) => (typeof v === 'number' ? v : 'big' in v ? v.big : v.f32))
        const floats32 = values.flatMap((v) => (typeof v === 'object' && 'f32' in v ? [v.f32] : []))
        for (const body of [libraryEncode(plain), libraryEncode(floats32, { forceFloat32: true })]) {
          const placed = new Uint8Array(offset + body.length + 3).fill(0xcc)
          placed.set(body, offset)
          const decoded = decodeBody(placed.subarray(offset, offset + body.length), 'REPLY') as number[]
          expect(decoded.length).toBe((libraryDecode(body) as number[]).length)
          for (const [i, n] of (libraryDecode(body) as number[]).entries()) expect(Object.is(decoded[i], n)).toBe(true)
          for (let cutAt = 1; cutAt < body.length; cutAt++) {
            expect(() => decodeBody(placed.subarray(offset, offset + cutAt), 'REPLY')).toThrow(/REPLY body is not valid msgpack/)
          }
        }
      }),
      { numRuns: 200 },
    )
    // uint 32 cut after two of its four bytes: the error says where and how long the body is.
    expect(() => decodeBody(new Uint8Array([0xce, 0x01, 0x02]), 'REPLY')).toThrow(
      'REPLY body is not valid msgpack: it ends inside a 4-byte value at byte 1 (the body is 3 bytes)',
    )
  })

  it('decodes a body whole after one that failed part-way, nested maps and arrays included', () => {
    // The decoder keeps its per-level states between bodies; a failed body must leave none behind.
    const nested = { a: [1, { b: 'x'.repeat(30), c: [2, 3] }], d: { e: 'short' } }
    const bytes = encodeBody(nested)
    for (let cutAt = 1; cutAt < bytes.length; cutAt++) {
      expect(() => decodeBody(bytes.subarray(0, cutAt), 'REQUEST')).toThrow(/REQUEST body is not valid msgpack/)
      expect(decodeBody(encodeBody([{ k: 1 }, 'y'.repeat(20)]), 'REQUEST')).toEqual([{ k: 1 }, 'y'.repeat(20)])
      expect(decodeBody(Buffer.from(bytes), 'REQUEST')).toEqual(nested)
    }
  })
})
