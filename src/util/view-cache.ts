/**
 * A DataView over the last ArrayBuffer asked for. Making a DataView is a
 * call into V8's runtime (about 700 instructions in Node 20), and the views
 * a hot path reads mostly share a buffer (the frame parser's messages: a
 * queue's receive slots). Each call site keeps a cache of its own, so that
 * two buffers used in turn do not evict each other.
 * @module
 */
export class ViewCache {
  // Kept beside the view: comparing a field is cheaper than reading `view.buffer`.
  private buffer: ArrayBufferLike = new ArrayBuffer(0)
  private view = new DataView(this.buffer)

  /** A view of all of `buffer`: address it at the typed array's `byteOffset` plus the position within it. */
  of(buffer: ArrayBufferLike): DataView {
    if (buffer !== this.buffer) {
      this.view = new DataView(buffer)
      this.buffer = buffer
    }
    return this.view
  }
}
