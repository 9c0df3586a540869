/**
 * The process's one msgpack encoder and decoder (msgpack-javascript reuses
 * their buffers, and JavaScript runs one encode at a time), with four
 * kinds of change to how that library works:
 *
 * - Binary fields are copies. Bodies are decoded where they arrived, a
 *   receive buffer that the next message overwrites
 *   (src/protocol/reassembly.ts), so the decoder must not hand out binary
 *   fields as views of it, as msgpack-javascript does.
 * - Strings longer than {@link SHORT_STRING_BYTES} go through the engine's
 *   own UTF-8 codec. msgpack-javascript does strings of up to 200 bytes
 *   (50 characters when encoding, and every string's length) in a
 *   JavaScript loop; in Node 20 a 64-byte string took it about 350 ns to
 *   decode and, with one accented letter, 570 to encode, against 85 for
 *   TextDecoder and 190 for Buffer.byteLength with TextEncoder's
 *   encodeInto: a sixth of the server's instructions per small call
 *   (bench/analysis.md, the tenth session). (A side effect: malformed
 *   UTF-8 in such strings decodes to U+FFFD, as it already did in longer
 *   strings, instead of to the raw byte values.) The encoder writes them
 *   with its Buffer's own `write`, which needs no view made per string.
 * - The encoder writes each body straight into shared slabs, and the body
 *   is a view of its slab (body-slabs.ts), where the library encodes into
 *   one buffer and a body had to be copied out of it.
 * - The decoder's per-body work reads what V8 can read inline: map keys go
 *   to the library's key cache, and a new body's buffer is taken, without
 *   the reads of `byteLength` that V8 in Node 20 makes generic lookups
 *   (docs/ARCHITECTURE.md, "Reading typed arrays on hot paths"); its pool
 *   of per-level states is kept between bodies instead of emptied (`length
 *   = 0`, a store V8 does not optimize, and the states made again). About
 *   1,000 instructions of the echo server's 22,600 per call (the eleventh
 *   session). Its numbers are read through one BodyView instead of a
 *   DataView made for each body (body-view.ts), and the encoder checks its
 *   room against its buffer's `length`, not its DataView's `byteLength`
 *   (about 1,300 and 300 instructions a call, the twelfth session).
 *
 * msgpack-javascript has options for none of these. Its Decoder reads every
 * `bin` and extension payload through `decodeBinary`, every string through
 * `decodeUtf8String`, starts each body with `reinitializeState` and
 * `setBuffer`; its Encoder writes every string through `encodeString`,
 * checks its room before every value with `ensureBufferSizeToWrite`, and
 * writes through its `bytes` (a Uint8Array, here a Buffer) and `view`
 * from `pos`, which `doEncode` moves on.
 * These are replaced on the one instance of each, and checked here when the
 * module loads (and the numbers by decoding a body of each kind), so that
 * a version of the library that renamed them fails at once with a clear
 * message (test/protocol/wire.test.ts checks the copies, msgpack.test.ts
 * the strings and numbers against the library's own results and a body
 * after one that failed part-way).
 * @module
 */
import { Buffer } from 'node:buffer'
import { Decoder, Encoder } from '@msgpack/msgpack'
import { BodySlabs, type EncodeTarget } from './body-slabs.js'
import { BodyView } from './body-view.js'

/** Up to this many bytes, msgpack-javascript's JavaScript loops beat a call into the engine's codec (measured in Node 20). */
const SHORT_STRING_BYTES = 16

/** The parts of a Decoder the wrappers use: private in its types, stable across 3.x. */
interface DecoderInternals {
  bytes: Uint8Array
  view: DataView | BodyView
  pos: number
  totalPos: number
  headByte: number
  readonly stack: { stackHeadPosition: number; reset(): void }
  readonly maxStrLength: number
  readonly keyDecoder: {
    canBeCached(byteLength: number): boolean
    decode(bytes: Uint8Array, at: number, byteLength: number): string
  } | null
  stateIsMapKey(): boolean
  decodeBinary(byteLength: number, headOffset: number): Uint8Array
  decodeUtf8String(byteLength: number, headOffset: number): string
  reinitializeState(): void
  setBuffer(buffer: ArrayLike<number> | ArrayBufferView | ArrayBufferLike): void
}

/** The Decoder's `headByte` between values (its HEAD_BYTE_REQUIRED). */
const HEAD_BYTE_REQUIRED = -1

/** The parts of an Encoder the wrapper uses; `bytes` is always one of the Buffers of body-slabs.ts. */
interface EncoderInternals extends EncodeTarget {
  ensureBufferSizeToWrite(sizeToWrite: number): void
  writeStringHeader(byteLength: number): void
  encodeString(value: string): void
  doEncode(value: unknown, depth: number): void
}

const textDecoder = new TextDecoder()
/** TextDecoder.decode's options, always this object: its default is one V8 reads through a generic lookup. */
const WHOLE_INPUT = { stream: false }

/** One of the library's own methods on `target`, or a clear error if this version has none. */
function method<T>(target: object, name: keyof T & string): T[keyof T] {
  const found = Reflect.get(target, name) as unknown
  if (typeof found !== 'function') {
    throw new Error(`@msgpack/msgpack has no ${target.constructor.name}.${name}: this version is not one mqrpc supports`)
  }
  return found as T[keyof T]
}

function tunedDecoder(target: Decoder): Decoder {
  const view = method<DecoderInternals>(target, 'decodeBinary') as DecoderInternals['decodeBinary']
  const loopDecode = method<DecoderInternals>(target, 'decodeUtf8String') as DecoderInternals['decodeUtf8String']
  method<DecoderInternals>(target, 'stateIsMapKey')
  const anySetBuffer = method<DecoderInternals>(target, 'setBuffer') as DecoderInternals['setBuffer']
  method<DecoderInternals>(target, 'reinitializeState')
  const internals = target as unknown as DecoderInternals
  if (
    typeof internals.stack?.stackHeadPosition !== 'number' ||
    internals.headByte !== HEAD_BYTE_REQUIRED ||
    typeof internals.keyDecoder?.canBeCached !== 'function' ||
    typeof internals.keyDecoder.decode !== 'function'
  ) {
    throw new Error(
      '@msgpack/msgpack has no Decoder stack pool, head byte or key cache as mqrpc knows them: this version is not one mqrpc supports',
    )
  }
  const copyBinary: DecoderInternals['decodeBinary'] = function (this: DecoderInternals, byteLength, headOffset) {
    return view.call(this, byteLength, headOffset).slice()
  }
  const decodeString: DecoderInternals['decodeUtf8String'] = function (this: DecoderInternals, byteLength, headOffset) {
    const start = this.pos + headOffset
    const end = start + byteLength
    // The library's own method answers strings over its limit or past the
    // end (with its errors), short strings, and keys its cache cannot hold;
    // it reads `bytes.byteLength` (see setBuffer below), so keys, two or
    // more per body, go to the cache from here.
    if (byteLength > this.maxStrLength || end > this.bytes.length) return loopDecode.call(this, byteLength, headOffset)
    let value: string
    if (this.stateIsMapKey()) {
      const keys = this.keyDecoder
      if (keys === null || !keys.canBeCached(byteLength)) return loopDecode.call(this, byteLength, headOffset)
      value = keys.decode(this.bytes, start, byteLength)
    } else {
      if (byteLength <= SHORT_STRING_BYTES) return loopDecode.call(this, byteLength, headOffset)
      value = textDecoder.decode(this.bytes.subarray(start, end), WHOLE_INPUT)
    }
    this.pos = end
    return value
  }
  // The library empties its pool of per-level states before every body
  // (`stack.length = 0`, a store V8 cannot optimize, and the states are
  // made again); a body that decoded to the end has released them all.
  const reinitializeState: DecoderInternals['reinitializeState'] = function (this: DecoderInternals) {
    this.totalPos = 0
    this.headByte = HEAD_BYTE_REQUIRED
    if (this.stack.stackHeadPosition !== -1) this.stack.reset() // a body that failed part-way
  }
  // The library's setBuffer takes any array-like, reads `byteLength`, and
  // makes a DataView per body; bodies are Uint8Arrays, read through one
  // BodyView (body-view.ts says why). Anything else becomes a Uint8Array
  // the library's way first.
  const bodyView = new BodyView()
  const setBuffer: DecoderInternals['setBuffer'] = function (this: DecoderInternals, buffer) {
    let bytes: Uint8Array
    if (buffer instanceof Uint8Array) {
      bytes = buffer
    } else {
      anySetBuffer.call(this, buffer)
      bytes = this.bytes
    }
    this.bytes = bytes
    bodyView.show(bytes)
    this.view = bodyView
    this.pos = 0
  }
  Reflect.set(target, 'decodeBinary', copyBinary)
  Reflect.set(target, 'decodeUtf8String', decodeString)
  Reflect.set(target, 'reinitializeState', reinitializeState)
  Reflect.set(target, 'setBuffer', setBuffer)
  checkNumbers(target)
  return target
}

/** A body of each kind of number msgpack has, written out by hand, and what it decodes to. */
const NUMBER_BODIES: readonly (readonly [readonly number[], number])[] = [
  [[0xcc, 0xff], 255],
  [[0xcd, 0x01, 0x00], 256],
  [[0xce, 0x00, 0x01, 0x00, 0x00], 65_536],
  [[0xcf, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 2 ** 53 - 1],
  [[0xd0, 0x80], -128],
  [[0xd1, 0xff, 0x7f], -129],
  [[0xd2, 0xff, 0xff, 0x7f, 0xff], -32_769],
  [[0xd3, 0xff, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01], -(2 ** 53 - 1)],
  [[0xca, 0x3f, 0xc0, 0x00, 0x00], 1.5],
  [[0xcb, 0xbf, 0xf4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], -1.25],
]

/**
 * Decodes a body of each kind of number with `tuned` when this module
 * loads: a version of the library that reads bodies through a DataView
 * method BodyView lacks, or reads them another way, fails here with a
 * clear message instead of decoding wrongly. The bodies are written out
 * here, not made by the library's own encoder and decoder: their
 * instances share the methods of these, and using them would teach those
 * methods' call sites a second kind of instance, slowing every body after.
 */
function checkNumbers(tuned: Decoder): void {
  for (const [bytes, expected] of NUMBER_BODIES) {
    let decoded: unknown
    try {
      decoded = tuned.decode(new Uint8Array(bytes))
    } catch (error) {
      decoded = error
    }
    if (!Object.is(decoded, expected)) {
      throw new Error(
        `@msgpack/msgpack decoded ${expected} as ${String(decoded)}: it reads numbers in a way mqrpc's BodyView does not serve, so this version is not one mqrpc supports`,
      )
    }
  }
}

function tunedEncoder(target: Encoder, slabs: BodySlabs): EncoderInternals {
  const loopEncode = method<EncoderInternals>(target, 'encodeString') as EncoderInternals['encodeString']
  method<EncoderInternals>(target, 'ensureBufferSizeToWrite')
  method<EncoderInternals>(target, 'writeStringHeader')
  method<EncoderInternals>(target, 'doEncode')
  // Asked before every value written. The library compares with its
  // DataView's `byteLength`, a call in Node 20; `bytes` spans the same
  // memory, and its `length` is read inline. Out of room, the body moves
  // (body-slabs.ts) where the library would grow its one buffer.
  const ensureBufferSizeToWrite: EncoderInternals['ensureBufferSizeToWrite'] = function (this: EncoderInternals, sizeToWrite) {
    if (this.bytes.length < this.pos + sizeToWrite) slabs.makeRoom(this, sizeToWrite)
  }
  const encodeString: EncoderInternals['encodeString'] = function (this: EncoderInternals, value) {
    // A UTF-16 unit is at least one UTF-8 byte: shorter strings may be short in bytes too.
    if (value.length <= SHORT_STRING_BYTES) {
      loopEncode.call(this, value)
      return
    }
    const byteLength = Buffer.byteLength(value, 'utf8')
    this.ensureBufferSizeToWrite(5 + byteLength) // the longest header, as the library reserves
    this.writeStringHeader(byteLength)
    // TextEncoder's encodeInto needed a view of the room, made for each string.
    this.bytes.write(value, this.pos, byteLength)
    this.pos += byteLength
  }
  Reflect.set(target, 'encodeString', encodeString)
  Reflect.set(target, 'ensureBufferSizeToWrite', ensureBufferSizeToWrite)
  return target as unknown as EncoderInternals
}

const ENCODER_OPTIONS = { useBigInt64: false, ignoreUndefined: true } as const
const slabs = new BodySlabs()
const encoder = tunedEncoder(new Encoder(ENCODER_OPTIONS), slabs)
let encoding = false

/** Encodes a body (a view of a slab, body-slabs.ts); the result is the caller's to keep. */
export function encodeBody(value: unknown): Uint8Array {
  // A getter of the value that encodes a body of its own meanwhile gets a one-off encoder.
  if (encoding) return new Encoder(ENCODER_OPTIONS).encode(value)
  encoding = true
  slabs.begin(encoder)
  try {
    encoder.doEncode(value, 1)
  } catch (error) {
    slabs.abandon()
    throw error
  } finally {
    encoding = false
  }
  return slabs.end(encoder)
}

export const decoder = tunedDecoder(new Decoder())
