/**
 * Where the frame writer makes its messages: fresh regions of a shared
 * ArrayBuffer, each handed out once (a transport may keep the bytes it is
 * given, as a broker client does until it writes), with one DataView over
 * the whole buffer for their headers. `Buffer.allocUnsafe` carves small
 * buffers from a pool the same way, but the writer then had to ask each
 * message for its `buffer` and `byteOffset` to find the view, two generic
 * lookups in Node 20 (docs/ARCHITECTURE.md, "Reading typed arrays on hot
 * paths"): about 500 instructions a message, and a call made one at a time
 * sends a message of its own each way (bench/analysis.md, the twelfth
 * session). Here the pool knows both without asking.
 * @module
 */

/** The size of each shared buffer; a message over half of it gets a buffer of its own. */
const POOL_BYTES = 64 * 1024

export class MessagePool {
  private pool = new ArrayBuffer(POOL_BYTES)
  private poolView = new DataView(this.pool)
  private used = 0
  /** A view of the buffer the last message taken lies in: write its headers here, from {@link base}. */
  view = this.poolView
  /** Where the last message taken starts in {@link view}. */
  base = 0

  /** A new message of `size` bytes, never handed out before. */
  take(size: number): Uint8Array {
    if (size > POOL_BYTES / 2) {
      const own = new ArrayBuffer(size)
      this.view = new DataView(own)
      this.base = 0
      return new Uint8Array(own, 0, size)
    }
    if (this.used + size > POOL_BYTES) {
      // The old buffer lives on while messages in it do, as Buffer's pool does.
      this.pool = new ArrayBuffer(POOL_BYTES)
      this.poolView = new DataView(this.pool)
      this.used = 0
    }
    this.view = this.poolView
    this.base = this.used
    this.used += size
    return new Uint8Array(this.pool, this.base, size)
  }
}
