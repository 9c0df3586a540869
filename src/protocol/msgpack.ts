/**
 * The process's one msgpack encoder and decoder (msgpack-javascript reuses
 * their buffers, and JavaScript runs one encode at a time), with two
 * changes to how that library works:
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
 *   strings, instead of to the raw byte values.)
 *
 * msgpack-javascript has options for neither. Its Decoder reads every `bin`
 * and extension payload through `decodeBinary`, and every string through
 * `decodeUtf8String`; its Encoder writes every string through
 * `encodeString`. These are wrapped on the one instance of each, and
 * checked here when the module loads, so that a version of the library
 * that renamed them fails at once with a clear message
 * (test/protocol/wire.test.ts checks the copies, msgpack.test.ts the
 * strings against the library's own results).
 * @module
 */
import { Decoder, Encoder } from '@msgpack/msgpack'

/** Up to this many bytes, msgpack-javascript's JavaScript loops beat a call into the engine's codec (measured in Node 20). */
const SHORT_STRING_BYTES = 16

/** The parts of a Decoder the wrappers use: private in its types, stable across 3.x. */
interface DecoderInternals {
  bytes: Uint8Array
  pos: number
  readonly maxStrLength: number
  stateIsMapKey(): boolean
  decodeBinary(byteLength: number, headOffset: number): Uint8Array
  decodeUtf8String(byteLength: number, headOffset: number): string
}

/** The parts of an Encoder the wrapper uses. */
interface EncoderInternals {
  bytes: Uint8Array
  pos: number
  ensureBufferSizeToWrite(sizeToWrite: number): void
  writeStringHeader(byteLength: number): void
  encodeString(value: string): void
}

const textDecoder = new TextDecoder()
const textEncoder = new TextEncoder()

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
  const copyBinary: DecoderInternals['decodeBinary'] = function (this: DecoderInternals, byteLength, headOffset) {
    return view.call(this, byteLength, headOffset).slice()
  }
  const decodeString: DecoderInternals['decodeUtf8String'] = function (this: DecoderInternals, byteLength, headOffset) {
    const start = this.pos + headOffset
    const end = start + byteLength
    // Map keys keep the library's cache; the library's checks answer strings over its limit or past the end.
    if (
      byteLength <= SHORT_STRING_BYTES ||
      byteLength > this.maxStrLength ||
      end > this.bytes.byteLength ||
      this.stateIsMapKey()
    ) {
      return loopDecode.call(this, byteLength, headOffset)
    }
    const value = textDecoder.decode(this.bytes.subarray(start, end))
    this.pos = end
    return value
  }
  Reflect.set(target, 'decodeBinary', copyBinary)
  Reflect.set(target, 'decodeUtf8String', decodeString)
  return target
}

function tunedEncoder(target: Encoder): Encoder {
  const loopEncode = method<EncoderInternals>(target, 'encodeString') as EncoderInternals['encodeString']
  method<EncoderInternals>(target, 'ensureBufferSizeToWrite')
  method<EncoderInternals>(target, 'writeStringHeader')
  const encodeString: EncoderInternals['encodeString'] = function (this: EncoderInternals, value) {
    // A UTF-16 unit is at least one UTF-8 byte: shorter strings may be short in bytes too.
    if (value.length <= SHORT_STRING_BYTES) {
      loopEncode.call(this, value)
      return
    }
    const byteLength = Buffer.byteLength(value, 'utf8')
    this.ensureBufferSizeToWrite(5 + byteLength) // the longest header, as the library reserves
    this.writeStringHeader(byteLength)
    textEncoder.encodeInto(value, this.bytes.subarray(this.pos, this.pos + byteLength))
    this.pos += byteLength
  }
  Reflect.set(target, 'encodeString', encodeString)
  return target
}

export const encoder = tunedEncoder(new Encoder({ useBigInt64: false, ignoreUndefined: true }))
export const decoder = tunedDecoder(new Decoder())
