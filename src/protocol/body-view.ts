/**
 * What the msgpack decoder reads a body's numbers through, in place of the
 * DataView msgpack-javascript makes for every body. In Node 20 (V8 11.3)
 * `new DataView` is a call into C++, and making one reads the body's
 * `buffer` and `byteOffset`, two generic lookups (docs/ARCHITECTURE.md,
 * "Reading typed arrays on hot paths"): about 1,300 instructions a body,
 * paid by the server for each request and by the client for each reply
 * (bench/analysis.md, the twelfth session). One BodyView serves every body:
 * it reads the body's bytes directly, big-endian as msgpack is, with the
 * bounds check a DataView makes, so a body cut short still fails with a
 * RangeError that says where.
 *
 * It has the DataView methods the decoder calls (msgpack-javascript 3.x:
 * `getUint8` to `getInt32`, the floats, the 64-bit integers) and
 * `byteLength`; src/protocol/msgpack.ts checks at load that the decoder
 * calls nothing else.
 * @module
 */

/** Eight bytes, for the values JavaScript cannot assemble from bytes itself (floats, BigInts). */
const scratch = new Uint8Array(8)
const scratchView = new DataView(scratch.buffer)

export class BodyView {
  private bytes: Uint8Array = new Uint8Array(0)
  /** The body's length, read by the decoder as a DataView's. */
  byteLength = 0

  /** Reads `bytes` from now on. */
  show(bytes: Uint8Array): void {
    this.bytes = bytes
    this.byteLength = bytes.length
  }

  getUint8(at: number): number {
    this.check(at, 1)
    return this.bytes[at] as number
  }

  getInt8(at: number): number {
    return (this.getUint8(at) << 24) >> 24
  }

  getUint16(at: number): number {
    this.check(at, 2)
    const bytes = this.bytes
    return ((bytes[at] as number) << 8) | (bytes[at + 1] as number)
  }

  getInt16(at: number): number {
    return (this.getUint16(at) << 16) >> 16
  }

  getInt32(at: number): number {
    this.check(at, 4)
    const bytes = this.bytes
    return (
      ((bytes[at] as number) << 24) |
      ((bytes[at + 1] as number) << 16) |
      ((bytes[at + 2] as number) << 8) |
      (bytes[at + 3] as number)
    )
  }

  getUint32(at: number): number {
    return this.getInt32(at) >>> 0
  }

  getFloat32(at: number): number {
    return this.copied(at, 4).getFloat32(0)
  }

  getFloat64(at: number): number {
    return this.copied(at, 8).getFloat64(0)
  }

  getBigUint64(at: number): bigint {
    return this.copied(at, 8).getBigUint64(0)
  }

  getBigInt64(at: number): bigint {
    return this.copied(at, 8).getBigInt64(0)
  }

  /** A view of `size` bytes of the body from `at`, copied to the scratch bytes. */
  private copied(at: number, size: number): DataView {
    this.check(at, size)
    for (let i = 0; i < size; i++) scratch[i] = this.bytes[at + i] as number
    return scratchView
  }

  private check(at: number, size: number): void {
    if (at + size > this.byteLength) {
      throw new RangeError(`it ends inside a ${size}-byte value at byte ${at} (the body is ${this.byteLength} bytes)`)
    }
  }
}
