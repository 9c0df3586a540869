/**
 * Bodies (src/protocol/wire.ts): decoded where they arrived, so nothing a
 * decode returns may refer to the bytes it was given.
 */
import { describe, expect, it } from 'vitest'
import { decodeBody, encodeBody } from '../../src/protocol/wire.js'

describe('decodeBody', () => {
  it('copies binary fields out of the bytes it decodes, each into memory of its own', () => {
    const photo = new Uint8Array([1, 2, 3, 4, 5])
    const received = new Uint8Array(encodeBody({ photo, tail: new Uint8Array([9]), name: 'x' }))
    const value = decodeBody(received, 'REQUEST') as { photo: Uint8Array; tail: Uint8Array; name: string }
    // The receive buffer is reused by the next message.
    received.fill(0xee)
    expect(value.photo).toBeInstanceOf(Uint8Array)
    expect([...value.photo]).toEqual([1, 2, 3, 4, 5])
    expect([...value.tail]).toEqual([9])
    expect(value.name).toBe('x')
    expect(value.photo.buffer).not.toBe(received.buffer)
    // Its .buffer holds that field alone, nothing else the peer sent.
    expect(value.photo.buffer.byteLength).toBe(5)
  })

  it('copies extension payloads too (a msgpack timestamp decodes to a Date, intact)', () => {
    const at = new Date(1_700_000_000_123)
    const received = new Uint8Array(encodeBody({ at }))
    const value = decodeBody(received, 'REQUEST') as { at: Date }
    received.fill(0)
    expect(value.at.getTime()).toBe(at.getTime())
  })

  it('says what was not msgpack', () => {
    expect(() => decodeBody(new Uint8Array([0xc1]), 'REQUEST')).toThrow(/REQUEST body is not valid msgpack/)
  })
})
