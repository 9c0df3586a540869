/**
 * Copies of small byte arrays without an allocation of their own.
 *
 * `new Uint8Array(view)` or `slice()` gives every copy its own ArrayBuffer:
 * a malloc, and a free once the collector finds it, on both sides of every
 * call. Small copies are carved out of a shared slab here instead, as Node's
 * Buffer pool does for Buffer.from; larger ones get their own memory.
 *
 * A copy's `.buffer` is its whole slab, other copies included: whoever
 * hands copies to code that should not see the others keeps a SlabCopier
 * of its own. (Received bodies are not copied here: they are decoded where
 * they arrived, binary fields copied out one by one, src/protocol/msgpack.ts.)
 * @module
 */

/** Node's Buffer.poolSize. */
const DEFAULT_SLAB_BYTES = 8192

/** Makes copies out of slabs of `slabBytes`; copies over half a slab get their own memory, as in Node's pool. */
export class SlabCopier {
  private slab: ArrayBuffer | undefined
  private used = 0
  private readonly largestShared: number

  constructor(private readonly slabBytes = DEFAULT_SLAB_BYTES) {
    this.largestShared = slabBytes >>> 1
  }

  /**
   * A copy of `bytes` that the caller may keep (it keeps its whole slab
   * alive, as a pooled Buffer does). A plain Uint8Array, not a Buffer.
   */
  copy(bytes: Uint8Array): Uint8Array {
    const length = bytes.length
    // An empty body (a HEALTH call's input, say) is no reason to make a slab.
    if (length === 0 || length > this.largestShared) return new Uint8Array(bytes)
    if (this.slab === undefined || this.used + length > this.slabBytes) {
      // Made at the first copy: an idle holder costs no slab.
      this.slab = new ArrayBuffer(this.slabBytes)
      this.used = 0
    }
    const copy = new Uint8Array(this.slab, this.used, length)
    copy.set(bytes)
    // Eight-byte aligned, as Node aligns its pool.
    this.used = (this.used + length + 7) & ~7
    return copy
  }
}

const processWide = new SlabCopier()

/** A copy from the process-wide slabs: for bytes that only this process's own code sees (bodies it encodes). */
export function pooledCopy(bytes: Uint8Array): Uint8Array {
  return processWide.copy(bytes)
}
