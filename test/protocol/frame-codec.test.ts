/**
 * Pure units of the transport layer: the frame header, several frames per
 * message, and bounded reassembly.
 */
import { describe, expect, it } from 'vitest'
import { encodeFrame, type Frame, FrameError, FrameFlag, FrameType, forEachFrame, HEADER_SIZE } from '../../src/protocol/frame.js'
import { Reassembler, ReassemblyError } from '../../src/protocol/reassembly.js'

const header = { type: FrameType.REQUEST, flags: FrameFlag.URGENT, token: 0x0102030405060708n, callId: 0xdeadbeef }

function frames(message: Uint8Array): Frame[] {
  const out: Frame[] = []
  forEachFrame(message, (frame) => out.push({ ...frame, chunk: new Uint8Array(frame.chunk) }))
  return out
}

describe('frame header', () => {
  it('lays out every field at its documented offset, little-endian', () => {
    const frame = encodeFrame(header, new Uint8Array([9, 8, 7]))
    expect(frame.byteLength).toBe(HEADER_SIZE + 3)
    expect([...frame.subarray(0, 4)]).toEqual([1, FrameType.REQUEST, FrameFlag.URGENT, 0])
    expect(frame.readBigUInt64LE(4)).toBe(0x0102030405060708n)
    expect(frame.readUInt32LE(12)).toBe(0xdeadbeef)
    expect(frame.readUInt32LE(16)).toBe(3) // bodyLength
    expect(frame.readUInt32LE(20)).toBe(0) // offset
    expect(frame.readUInt16LE(24)).toBe(3) // chunkLength
    expect(frame.readUInt16LE(26)).toBe(0)
    expect([...frame.subarray(28)]).toEqual([9, 8, 7])
  })

  it('round-trips, and reads several frames packed in one message in order', () => {
    const a = encodeFrame(header, new Uint8Array([1]))
    const b = encodeFrame({ ...header, type: FrameType.CANCEL, flags: 0, callId: 2 }, new Uint8Array(0))
    const c = encodeFrame({ ...header, callId: 3 }, new Uint8Array(10), 4, 6)
    const got = frames(Buffer.concat([a, b, c]))
    expect(got.map((f) => [f.type, f.callId, f.bodyLength, f.offset, f.chunk.byteLength])).toEqual([
      [FrameType.REQUEST, 0xdeadbeef, 1, 0, 1],
      [FrameType.CANCEL, 2, 0, 0, 0],
      [FrameType.REQUEST, 3, 10, 4, 6],
    ])
    expect(got[0]?.token).toBe(header.token)
  })

  it('reads messages that lie at any offset of a shared buffer, whichever buffer came before', () => {
    // Receive slots and Buffer's pool put many messages in one ArrayBuffer;
    // the reader reuses one view of it, so every offset must be the message's own.
    const slots = new Uint8Array(4 * 64)
    const other = new Uint8Array(3 * 64)
    const put = (into: Uint8Array, at: number, callId: number): Uint8Array => {
      const frame = encodeFrame({ ...header, callId }, new Uint8Array([callId, callId + 1]))
      into.set(frame, at)
      return into.subarray(at, at + frame.byteLength)
    }
    const messages = [put(slots, 0, 1), put(other, 64, 2), put(slots, 128, 3), put(slots, 64, 4), put(other, 5, 5)]
    for (const message of messages) {
      const [frame] = frames(message)
      const callId = frame?.callId ?? 0
      expect([frame?.token, frame?.bodyLength, [...(frame?.chunk ?? [])]]).toEqual([header.token, 2, [callId, callId + 1]])
    }
    expect(messages.map((message) => frames(message)[0]?.callId)).toEqual([1, 2, 3, 4, 5])
  })

  const set = (write: (f: Buffer) => unknown) => (f: Buffer) => {
    write(f)
    return f
  }
  const bad: [string, (frame: Buffer) => Uint8Array, FrameError['reason']][] = [
    ['an empty message', () => new Uint8Array(0), 'truncated'],
    ['fewer than 28 bytes', (f) => f.subarray(0, 27), 'truncated'],
    ['another protocol version', set((f) => f.writeUInt8(2, 0)), 'version'],
    ['an unknown type', set((f) => f.writeUInt8(0x7f, 1)), 'type'],
    ['unknown flags', set((f) => f.writeUInt8(0x80, 2)), 'flags'],
    ['a non-zero reserved byte', set((f) => f.writeUInt8(1, 3)), 'reserved'],
    ['non-zero trailing reserved bytes', set((f) => f.writeUInt16LE(1, 26)), 'reserved'],
    ['a chunk longer than the message', set((f) => f.writeUInt16LE(200, 24)), 'truncated'],
    ['a chunk past the body', set((f) => f.writeUInt32LE(2, 16)), 'length'],
    ['stray bytes after a frame', (f) => Buffer.concat([f, Buffer.alloc(5)]), 'truncated'],
  ]
  for (const [what, mangle, reason] of bad) {
    it(`rejects ${what} with a FrameError that says why`, () => {
      const message = mangle(encodeFrame(header, new Uint8Array(4)))
      let error: unknown
      try {
        forEachFrame(message, () => undefined)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(FrameError)
      expect((error as FrameError).reason).toBe(reason)
      expect((error as FrameError).message.length).toBeGreaterThan(10)
    })
  }
})

describe('Reassembler', () => {
  const chunkOf = (body: Uint8Array, offset: number, length: number, callId = 1): Frame =>
    frames(encodeFrame({ ...header, callId }, body, offset, length))[0] as Frame

  it('returns a one-frame body as the frame chunk itself, not a copy (decodeBody copies what it keeps)', () => {
    const body = new Uint8Array([1, 2, 3])
    const frame = chunkOf(body, 0, 3)
    const got = new Reassembler().accept(frame)
    expect(got).toBe(frame.chunk)
    expect([...(got ?? [])]).toEqual([1, 2, 3])
  })

  it('puts interleaved bodies back together', () => {
    const r = new Reassembler()
    const a = new Uint8Array(10).fill(0xa)
    const b = new Uint8Array(6).fill(0xb)
    expect(r.accept(chunkOf(a, 0, 4, 1))).toBeUndefined()
    expect(r.accept(chunkOf(b, 0, 3, 2))).toBeUndefined()
    expect(r.accept(chunkOf(a, 4, 4, 1))).toBeUndefined()
    expect([...(r.accept(chunkOf(b, 3, 3, 2)) ?? [])]).toEqual([...b])
    expect([...(r.accept(chunkOf(a, 8, 2, 1)) ?? [])]).toEqual([...a])
    expect(r.pending).toBe(0)
  })

  it('drops a body over maxBodyBytes, once, and its later chunks quietly', () => {
    const r = new Reassembler({ maxBodyBytes: 8 })
    const body = new Uint8Array(12)
    expect(() => r.accept(chunkOf(body, 0, 4))).toThrow(/maxBodyBytes/)
    expect(r.accept(chunkOf(body, 4, 4))).toBeUndefined()
    expect(r.accept(chunkOf(body, 8, 4))).toBeUndefined()
  })

  it('bounds partial bodies held at once (maxPartials)', () => {
    const r = new Reassembler({ maxPartials: 2 })
    const body = new Uint8Array(8)
    r.accept(chunkOf(body, 0, 4, 1))
    r.accept(chunkOf(body, 0, 4, 2))
    expect(() => r.accept(chunkOf(body, 0, 4, 3))).toThrow(ReassemblyError)
    expect([...(r.accept(chunkOf(body, 4, 4, 1)) ?? [])]).toHaveLength(8)
  })

  it('rejects a chunk that does not continue its body', () => {
    const r = new Reassembler()
    const body = new Uint8Array(12)
    expect(() => r.accept(chunkOf(body, 4, 4))).toThrow(/does not continue/)
    r.accept(chunkOf(body, 0, 4, 2))
    expect(() => r.accept(chunkOf(body, 8, 4, 2))).toThrow(ReassemblyError)
  })

  it('drops partial bodies that wait longer than partialTimeoutMs', () => {
    const r = new Reassembler({ partialTimeoutMs: 100 })
    r.accept(chunkOf(new Uint8Array(8), 0, 4, 7), 1000)
    expect(r.sweep(1050)).toEqual([])
    const dropped = r.sweep(1200)
    expect(dropped.map((d) => [d.reason, d.callId, d.type])).toEqual([['timeout', 7, FrameType.REQUEST]])
    expect(r.pending).toBe(0)
  })
})
