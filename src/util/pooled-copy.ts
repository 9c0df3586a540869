/**
 * Copies of small byte arrays without an allocation of their own.
 *
 * `new Uint8Array(view)` or `slice()` gives every copy its own ArrayBuffer:
 * a malloc, and a free once the collector finds it, on both sides of every
 * call. Small copies are carved out of a shared slab here instead, as Node's
 * Buffer pool does for Buffer.from; larger ones get their own memory.
 * @module
 */

// Node's Buffer.poolSize, and its rule: only copies under half a slab share one.
const SLAB_BYTES = 8192
const LARGEST_SHARED = SLAB_BYTES >>> 1

let slab = new ArrayBuffer(SLAB_BYTES)
let used = 0

/**
 * A copy of `bytes` that the caller may keep. A kept copy keeps its whole
 * slab alive, as a pooled Buffer does. A plain Uint8Array, not a Buffer:
 * msgpack decodes binary fields as views of what it is given, and they
 * should reach handlers as Uint8Array.
 */
export function pooledCopy(bytes: Uint8Array): Uint8Array {
  const length = bytes.byteLength
  if (length > LARGEST_SHARED) return new Uint8Array(bytes)
  if (used + length > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES)
    used = 0
  }
  const copy = new Uint8Array(slab, used, length)
  copy.set(bytes)
  // Eight-byte aligned, as Node aligns its pool.
  used = (used + length + 7) & ~7
  return copy
}
