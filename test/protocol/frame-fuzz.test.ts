/**
 * Property-based fuzzing of the frame decoder (src/protocol/frame.ts) with
 * fast-check: random bytes, header-shaped bytes with any field wrong (full
 * and short headers), truncated and mutated well-formed messages, oversized
 * lengths, and frames packed any way into messages, short where they may be.
 *
 * Properties:
 * - forEachFrame agrees, on every input, with a reference reader written
 *   from docs/PROTOCOL.md sections 3.4 and 3.5 alone (the frames it delivers,
 *   and whether and why it stops); nothing but a FrameError ever escapes;
 * - every delivered frame satisfies the invariants readers rely on
 *   (version 1, a known type, known flags, offset + chunkLength <= bodyLength,
 *   the chunk inside the message);
 * - round trip: encode -> pack any way -> decode is the identity;
 * - a truncated or mutated message still yields every frame that lies
 *   wholly before the damage, unchanged.
 *
 * The seed is fixed (test/helpers/fuzz.ts) and printed with any failure;
 * MQRPC_FUZZ_SEED=<n> replays or explores, MQRPC_FUZZ_SCALE=<k> runs k times
 * as many cases.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  encodeFrame,
  type Frame,
  FrameError,
  FrameType,
  forEachFrame,
  HEADER_SIZE,
  PROTOCOL_VERSION,
  SHORT_HEADER_SIZE,
  writeHeader,
  writeShortHeader,
} from '../../src/protocol/frame.js'
import { rawFrame, rawShortFrame } from '../fixtures/raw-frames.js'
import { fuzz, reportFuzzCases } from '../helpers/fuzz.js'

reportFuzzCases('frame-fuzz')

const TYPES: readonly number[] = Object.values(FrameType)
const REASONS = new Set<FrameError['reason']>(['version', 'short', 'truncated', 'type', 'flags', 'reserved', 'length'])

/** A frame as the property generates it: every header field, and the chunk. */
interface Spec {
  readonly type: number
  readonly flags: number
  readonly token: bigint
  readonly callId: number
  readonly bodyLength: number
  readonly offset: number
  readonly chunk: Uint8Array
}

/** What a reader saw: the frames delivered (fields and chunk position in the message) and how it stopped. */
interface Outcome {
  readonly frames: { spec: Spec; at: number }[]
  readonly error: FrameError['reason'] | undefined
}

// ---------------------------------------------------------------------------
// The reference reader: docs/PROTOCOL.md 3.4 (walk) and 3.5 (checks, in order).

function referenceRead(message: Uint8Array): Outcome {
  const frames: Outcome['frames'] = []
  const buf = Buffer.from(message.buffer, message.byteOffset, message.byteLength)
  if (buf.length === 0) return { frames, error: 'truncated' } // "An empty message (0 bytes) is malformed."
  let at = 0
  let token: bigint | undefined
  while (at < buf.length) {
    if (buf[at] === 0x81) {
      // A short frame (3.1): it takes the token of the last full frame.
      if (token === undefined) return { frames, error: 'short' }
      if (buf.length - at < 9) return { frames, error: 'truncated' }
      if (!TYPES.includes(buf[at + 1] as number)) return { frames, error: 'type' }
      if (((buf[at + 2] as number) & ~0x03) !== 0) return { frames, error: 'flags' }
      const length = buf.readUInt16LE(at + 7)
      if (at + 9 + length > buf.length) return { frames, error: 'truncated' }
      frames.push({
        at: at + 9,
        spec: {
          type: buf[at + 1] as number,
          flags: buf[at + 2] as number,
          token,
          callId: buf.readUInt32LE(at + 3),
          bodyLength: length,
          offset: 0,
          chunk: message.subarray(at + 9, at + 9 + length),
        },
      })
      at += 9 + length
      continue
    }
    if (buf.length - at < 28) return { frames, error: 'truncated' }
    if (buf[at] !== 1) return { frames, error: 'version' } // 1
    if (!TYPES.includes(buf[at + 1] as number)) return { frames, error: 'type' } // 2
    if (((buf[at + 2] as number) & ~0x03) !== 0) return { frames, error: 'flags' } // 3
    if (buf[at + 3] !== 0 || buf.readUInt16LE(at + 26) !== 0) return { frames, error: 'reserved' } // 4
    const bodyLength = buf.readUInt32LE(at + 16)
    const offset = buf.readUInt32LE(at + 20)
    const chunkLength = buf.readUInt16LE(at + 24)
    if (at + 28 + chunkLength > buf.length) return { frames, error: 'truncated' } // 5
    if (offset + chunkLength > bodyLength) return { frames, error: 'length' } // 6
    token = buf.readBigUInt64LE(at + 4)
    frames.push({
      at: at + 28,
      spec: {
        type: buf[at + 1] as number,
        flags: buf[at + 2] as number,
        token: buf.readBigUInt64LE(at + 4),
        callId: buf.readUInt32LE(at + 12),
        bodyLength,
        offset,
        chunk: message.subarray(at + 28, at + 28 + chunkLength),
      },
    })
    at += 28 + chunkLength
  }
  return { frames, error: undefined }
}

/** Runs the real decoder; any throw other than a FrameError fails the property. */
function decoderRead(message: Uint8Array): Outcome {
  const frames: Outcome['frames'] = []
  let error: FrameError['reason'] | undefined
  try {
    forEachFrame(message, (frame: Frame) => {
      checkInvariants(message, frame)
      frames.push({ at: frame.chunk.byteOffset - message.byteOffset, spec: specOf(frame) })
    })
  } catch (thrown) {
    if (!(thrown instanceof FrameError)) throw thrown
    check(REASONS.has(thrown.reason), `a documented reason, got ${thrown.reason}`)
    check(thrown.message.length > 10, 'an error that says why')
    error = thrown.reason
  }
  return { frames, error }
}

/** Fails the property (cheaply: expect() is too slow for the hot path of 100,000 cases). */
function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Error(`property violated: ${what}`)
}

/** What every reader of a delivered frame may rely on. */
function checkInvariants(message: Uint8Array, frame: Frame): void {
  check(frame.version === PROTOCOL_VERSION, 'version 1')
  check(TYPES.includes(frame.type), 'a known type')
  check((frame.flags & ~0x03) === 0, 'known flags')
  check(frame.offset + frame.chunk.byteLength <= frame.bodyLength, 'offset + chunkLength <= bodyLength')
  check(frame.chunk.byteLength <= 0xffff, 'chunkLength <= 65535')
  // A view into the message itself, inside its bounds.
  check(frame.chunk.buffer === message.buffer, 'the chunk is a view of the message')
  check(frame.chunk.byteOffset >= message.byteOffset + HEADER_SIZE, 'the chunk starts after a header')
  check(
    frame.chunk.byteOffset + frame.chunk.byteLength <= message.byteOffset + message.byteLength,
    'the chunk ends inside the message',
  )
}

function specOf(frame: Frame): Spec {
  const { type, flags, token, callId, bodyLength, offset, chunk } = frame
  return { type, flags, token, callId, bodyLength, offset, chunk }
}

/** Field-by-field equality with the chunk compared by bytes (fast, and a readable failure). */
function sameSpec(a: Spec, b: Spec): boolean {
  return (
    a.type === b.type &&
    a.flags === b.flags &&
    a.token === b.token &&
    a.callId === b.callId &&
    a.bodyLength === b.bodyLength &&
    a.offset === b.offset &&
    Buffer.compare(a.chunk, b.chunk) === 0
  )
}

function show(outcome: Outcome): string {
  return JSON.stringify(
    {
      error: outcome.error,
      frames: outcome.frames.map(({ at, spec }) => ({ ...spec, at, token: String(spec.token), chunk: spec.chunk.byteLength })),
    },
    null,
    1,
  )
}

function expectSameOutcome(got: Outcome, want: Outcome): void {
  const same =
    got.error === want.error &&
    got.frames.length === want.frames.length &&
    got.frames.every((f, i) => f.at === want.frames[i]?.at && sameSpec(f.spec, want.frames[i]?.spec as Spec))
  if (!same) expect(show(got)).toBe(show(want))
}

// ---------------------------------------------------------------------------
// Writing frames exactly as specified (any header values, including wrong ones).

/** Encodes one well-formed frame with the real writer (writeHeader) and its chunk. */
function encode(spec: Spec): Buffer {
  const out = Buffer.alloc(HEADER_SIZE + spec.chunk.byteLength)
  writeHeader(
    new DataView(out.buffer, out.byteOffset, out.byteLength),
    0,
    { type: spec.type as FrameType, flags: spec.flags, token: spec.token, callId: spec.callId },
    spec.bodyLength,
    spec.offset,
    spec.chunk.byteLength,
  )
  out.set(spec.chunk, HEADER_SIZE)
  return out
}

/** Whether `spec` may go as a short frame after `before` (docs/PROTOCOL.md 3.1). */
function mayBeShort(before: Spec, spec: Spec): boolean {
  return spec.token === before.token && spec.offset === 0 && spec.bodyLength === spec.chunk.byteLength
}

/** Encodes `spec` as a short frame with the real writer (writeShortHeader). */
function encodeShort(spec: Spec): Buffer {
  const out = Buffer.alloc(SHORT_HEADER_SIZE + spec.chunk.byteLength)
  writeShortHeader(
    new DataView(out.buffer, out.byteOffset, out.byteLength),
    0,
    { type: spec.type as FrameType, flags: spec.flags, token: spec.token, callId: spec.callId },
    spec.chunk.byteLength,
  )
  out.set(spec.chunk, SHORT_HEADER_SIZE)
  return out
}

/** Frame starts and ends of a list of encoded frames laid back to back. */
function boundaries(frames: readonly Uint8Array[]): number[] {
  const ends = [0]
  for (const f of frames) ends.push((ends.at(-1) as number) + f.byteLength)
  return ends
}

// ---------------------------------------------------------------------------
// Arbitraries.

const u32 = fc.nat({ max: 0xffff_ffff })
const token = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(0n, 1n, 2n ** 63n, 2n ** 64n - 1n))
const knownType = fc.constantFrom(...TYPES)
const smallChunk = fc.uint8Array({ maxLength: 96 })

/** A well-formed frame: known type and flags, and a body length that covers the chunk (up to 2^32 - 1). */
const validSpec: fc.Arbitrary<Spec> = fc
  .record({
    type: knownType,
    flags: fc.nat({ max: 3 }),
    token,
    callId: u32,
    chunk: smallChunk,
    // offset and the room after the chunk: small, large, or up to the u32 limit
    offset: fc.oneof(fc.constant(0), fc.nat({ max: 4096 }), u32),
    tail: fc.oneof(fc.constant(0), fc.nat({ max: 4096 }), u32),
  })
  .map(({ chunk, offset, tail, ...rest }) => {
    const room = 0xffff_ffff - chunk.byteLength
    const start = Math.min(offset, room)
    return { ...rest, chunk, offset: start, bodyLength: start + chunk.byteLength + Math.min(tail, room - start) }
  })

// Header fields drawn mostly right, sometimes wrong; lengths small, largest, or any.
const typeRightOrWrong = fc.oneof({ weight: 4, arbitrary: knownType }, { weight: 1, arbitrary: fc.nat({ max: 255 }) })
const flagsRightOrWrong = fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 3 }) }, { weight: 1, arbitrary: fc.nat({ max: 255 }) })
const lengthAny = fc.oneof(fc.nat({ max: 120 }), fc.constant(0xffff), fc.nat({ max: 0xffff }))

/** A 28-byte header with every field drawn from "right" and "wrong" values, and what follows it. */
const shapedHeader: fc.Arbitrary<Uint8Array> = fc
  .record({
    version: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.nat({ max: 255 }) }),
    type: typeRightOrWrong,
    flags: flagsRightOrWrong,
    reserved3: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 255 }) }),
    reserved26: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }),
    token,
    callId: u32,
    bodyLength: fc.oneof(fc.nat({ max: 200 }), u32),
    offset: fc.oneof(fc.constant(0), fc.nat({ max: 200 }), u32),
    chunkLength: lengthAny,
    after: fc.uint8Array({ maxLength: 140 }),
  })
  .map(({ after, ...header }) => rawFrame(header, after))

/** A 9-byte short header with each field right or wrong, and what follows it. */
const shapedShortHeader: fc.Arbitrary<Uint8Array> = fc
  .record({
    type: typeRightOrWrong,
    flags: flagsRightOrWrong,
    callId: u32,
    length: lengthAny,
    after: fc.uint8Array({ maxLength: 140 }),
  })
  .map(({ after, ...header }) => rawShortFrame(header, after))

/** A well-formed frame with one byte, one field or its tail damaged. */
const mutatedFrame: fc.Arbitrary<Uint8Array> = fc
  .tuple(validSpec, fc.nat(), fc.nat({ max: 255 }), fc.nat({ max: 3 }))
  .map(([spec, where, value, how]) => {
    const bytes = encode(spec)
    const i = where % bytes.byteLength
    if (how === 0) bytes[i] = value
    else if (how === 1) bytes[i] = (bytes[i] as number) ^ (1 << (value % 8))
    else if (how === 2)
      return bytes.subarray(0, i) // truncated
    else bytes.writeUInt16LE(Math.min(0xffff, spec.chunk.byteLength + 1 + (value % 4)), 24) // chunk longer than what follows
    return bytes
  })

/** One piece of a hostile message. */
const segment: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: validSpec.map(encode) },
  { weight: 3, arbitrary: shapedHeader },
  { weight: 2, arbitrary: shapedShortHeader },
  { weight: 3, arbitrary: mutatedFrame },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
)

const concat = (parts: readonly Uint8Array[]) => new Uint8Array(Buffer.concat(parts))

/** A message at a random offset of a larger buffer, so that byteOffset handling is exercised too. */
const placed = (message: Uint8Array, pad: number): Uint8Array => {
  const backing = new Uint8Array(pad + message.byteLength + 3)
  backing.set(message, pad)
  return backing.subarray(pad, pad + message.byteLength)
}

// ---------------------------------------------------------------------------

describe('frame decoder under fuzzing (fast-check)', () => {
  it('agrees with the reference reader of PROTOCOL.md 3.4-3.5 on random bytes; only FrameError escapes', () => {
    fuzz(
      'random bytes',
      15_000,
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 7 }), (bytes, pad) => {
        const message = placed(bytes, pad)
        expectSameOutcome(decoderRead(message), referenceRead(message))
      }),
    )
  })

  it('agrees with the reference reader on messages of valid, header-shaped, mutated and stray pieces', () => {
    fuzz(
      'hostile messages',
      20_000,
      fc.property(fc.array(segment, { maxLength: 6 }), fc.nat({ max: 7 }), (parts, pad) => {
        const message = placed(concat(parts), pad)
        expectSameOutcome(decoderRead(message), referenceRead(message))
      }),
    )
  })

  it('round trip: well-formed frames packed any way into messages, short where they may be, decode to exactly what was encoded', () => {
    fuzz(
      'round trip packed',
      12_000,
      fc.property(
        fc.array(validSpec, { minLength: 1, maxLength: 12 }),
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        (drawn, cutAfter, short) => {
          // Frames marked short become whole bodies of the first frame's
          // token, and go short wherever they follow a frame of that token.
          const specs = drawn.map((spec, i) =>
            short[i] === true ? { ...spec, token: (drawn[0] as Spec).token, offset: 0, bodyLength: spec.chunk.byteLength } : spec,
          )
          // Group consecutive frames into messages: a cut after frame i ends a message.
          const messages: Uint8Array[] = []
          let current: Uint8Array[] = []
          specs.forEach((spec, i) => {
            const asShort = current.length > 0 && short[i] === true && mayBeShort(specs[i - 1] as Spec, spec)
            current.push(asShort ? encodeShort(spec) : encode(spec))
            if (cutAfter[i] === true || i === specs.length - 1) {
              messages.push(concat(current))
              current = []
            }
          })
          const got: Spec[] = []
          for (const message of messages) {
            const outcome = decoderRead(message)
            check(outcome.error === undefined, `no error, got ${outcome.error}`)
            got.push(...outcome.frames.map((f) => f.spec))
          }
          check(got.length === specs.length, `${specs.length} frames, got ${got.length}`)
          specs.forEach((spec, i) => {
            if (!sameSpec(got[i] as Spec, spec)) expect(got[i]).toEqual(spec)
          })
        },
      ),
    )
  })

  it('encodeFrame splits a body into frames that decode back to the body (offset 0..n, chunkLength <= 65535)', () => {
    fuzz(
      'encodeFrame split',
      5_000,
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.integer({ min: 1, max: 200 }),
        validSpec,
        (body, chunkSize, { type, flags, token: t, callId }) => {
          const parts: Buffer[] = []
          let offset = 0
          do {
            const length = Math.min(chunkSize, body.byteLength - offset)
            parts.push(encodeFrame({ type: type as FrameType, flags, token: t, callId }, body, offset, length))
            offset += length
          } while (offset < body.byteLength)
          const pieces: Uint8Array[] = []
          forEachFrame(concat(parts), (frame) => {
            check(
              frame.type === type &&
                frame.flags === flags &&
                frame.token === t &&
                frame.callId === callId &&
                frame.bodyLength === body.byteLength,
              'every frame carries the header it was written with',
            )
            check(frame.offset === pieces.reduce((n, p) => n + p.byteLength, 0), 'offsets follow each other')
            pieces.push(new Uint8Array(frame.chunk))
          })
          check(Buffer.compare(concat(pieces), body) === 0, 'the chunks make the body')
        },
      ),
    )
  })

  it('a truncated message yields exactly the frames wholly before the cut, then FrameError truncated', () => {
    fuzz(
      'truncated',
      12_000,
      fc.property(fc.array(validSpec, { minLength: 1, maxLength: 6 }), fc.nat(), (specs, where) => {
        const encoded = specs.map(encode)
        const whole = concat(encoded)
        const cut = where % whole.byteLength // 0 .. length - 1: always cut somewhere
        const ends = boundaries(encoded)
        const complete = ends.filter((end) => end > 0 && end <= cut).length
        const outcome = decoderRead(whole.subarray(0, cut))
        check(outcome.frames.length === complete, `${complete} whole frames before byte ${cut}, got ${outcome.frames.length}`)
        outcome.frames.forEach((f, i) => {
          check(sameSpec(f.spec, specs[i] as Spec), `frame ${i} unchanged`)
        })
        // Cut on a frame boundary (other than 0): nothing is wrong with what is left.
        const want = cut > 0 && ends.includes(cut) ? undefined : 'truncated'
        check(outcome.error === want, `error ${want}, got ${outcome.error}`)
      }),
    )
  })

  it('a mutated message still yields every frame wholly before the first damaged byte, unchanged', () => {
    fuzz(
      'mutated',
      15_000,
      fc.property(
        fc.array(validSpec, { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }),
        (specs, edits) => {
          const encoded = specs.map(encode)
          const message = concat(encoded)
          let first = message.byteLength
          for (const [where, value] of edits) {
            const i = where % message.byteLength
            if (message[i] !== value) first = Math.min(first, i)
            message[i] = value
          }
          const ends = boundaries(encoded)
          const intact = ends.filter((end) => end > 0 && end <= first).length
          const outcome = decoderRead(message)
          expectSameOutcome(outcome, referenceRead(message))
          check(outcome.frames.length >= intact, `the ${intact} frames before byte ${first} survive`)
          for (let i = 0; i < intact; i++)
            check(sameSpec(outcome.frames[i]?.spec as Spec, specs[i] as Spec), `frame ${i} unchanged`)
        },
      ),
    )
  })

  it('oversized frames: chunks up to 65535 bytes and body lengths up to 2^32 - 1 decode, or fail as truncated/length', () => {
    fuzz(
      'oversized',
      300,
      fc.property(
        fc.integer({ min: 0xff00, max: 0xffff }),
        u32,
        u32,
        fc.integer({ min: -2, max: 2 }),
        (chunkLength, bodyLength, offset, slack) => {
          const frame = Buffer.alloc(HEADER_SIZE + Math.max(0, chunkLength + slack))
          frame.writeUInt8(1, 0)
          frame.writeUInt8(FrameType.RESPONSE, 1)
          frame.writeUInt32LE(bodyLength, 16)
          frame.writeUInt32LE(offset, 20)
          frame.writeUInt16LE(chunkLength, 24)
          const outcome = decoderRead(frame)
          expectSameOutcome(outcome, referenceRead(frame))
          if (slack < 0) expect(outcome.error).toBe('truncated')
          else if (slack > 0 && offset + chunkLength <= bodyLength) expect(outcome.error).toBe('truncated') // stray bytes
        },
      ),
    )
  })
})
