/**
 * Where the encoder writes bodies: straight into shared slabs, each body a
 * view of the slab it was written in, so that a small body costs one view
 * and no copy. Encoding into a scratch buffer and copying each body out
 * (into a slab, as Node's Buffer pool does) cost a view of the scratch, the
 * copy and the view of the copy, per body; a stream's 64-byte element paid
 * that, and a view made for the string encoder, on top of its encoding.
 *
 * A body that outgrows what is left of its slab moves, the part written so
 * far copied: to a fresh slab while it is small, else to a scratch buffer
 * kept between bodies, from which it is copied out at its exact size once
 * written. A large body therefore has memory of its own, as before, and
 * never holds a slab of small ones alive (nor they it).
 *
 * Bodies only this process encoded live here; a slab is kept alive by any
 * body in it, as a pooled Buffer keeps its pool.
 * @module
 */
import { Buffer } from 'node:buffer'

/** The size of each slab (Node's Buffer.poolSize); a body that outgrows its slab moves to a fresh one only while under half of this. */
export const SLAB_BYTES = 8192

/** What the encoder writes through: its bytes and a view of the same memory, and where it is in them. */
export interface EncodeTarget {
  bytes: Buffer
  view: DataView
  pos: number
}

/** Memory the encoder can write through: a Buffer and a DataView over all of it. */
interface Region {
  readonly memory: ArrayBuffer
  readonly bytes: Buffer
  readonly view: DataView
}

function region(size: number): Region {
  const memory = new ArrayBuffer(size)
  return { memory, bytes: Buffer.from(memory), view: new DataView(memory) }
}

export class BodySlabs {
  private slab = region(SLAB_BYTES)
  /** Where the next body starts in the slab. */
  private slabUsed = 0
  private scratch = region(SLAB_BYTES)
  private inScratch = false
  /** Where the body being written starts in the target's bytes. */
  private start = 0

  /** Points `target` at where the next body goes. */
  begin(target: EncodeTarget): void {
    target.bytes = this.slab.bytes
    target.view = this.slab.view
    target.pos = this.slabUsed
    this.start = this.slabUsed
  }

  /** `target` lacks room for `size` more bytes: the body so far moves to where it and they fit. */
  makeRoom(target: EncodeTarget, size: number): void {
    const written = target.pos - this.start
    const needed = written + size
    let to: Region
    if (!this.inScratch && needed <= SLAB_BYTES / 2) {
      to = region(SLAB_BYTES)
      this.slab = to
      this.slabUsed = 0
    } else {
      // Grown by doubling, as the library grows its own buffer; kept for the next large body.
      if (this.scratch.bytes.length < needed) this.scratch = region(needed * 2)
      to = this.scratch
      // The slab stays as it was before this body.
      this.inScratch = true
    }
    target.bytes.copy(to.bytes, 0, this.start, target.pos)
    target.bytes = to.bytes
    target.view = to.view
    target.pos = written
    this.start = 0
  }

  /** The body written since begin(): the caller's to keep. */
  end(target: EncodeTarget): Uint8Array {
    if (this.inScratch) {
      this.inScratch = false
      return new Uint8Array(target.bytes.subarray(0, target.pos))
    }
    const body = new Uint8Array(this.slab.memory, this.start, target.pos - this.start)
    this.slabUsed = target.pos
    return body
  }

  /** The body failed part-way: what it wrote is forgotten (the next body starts where this one did). */
  abandon(): void {
    this.inScratch = false
  }
}
