/**
 * An AbortController made only when someone asks for its signal. Most
 * handlers never look at ctx.signal, and an AbortController per call was a
 * measurable share of a fast call's cost on the server.
 * @module
 */
export class LazyAbort {
  private controller: AbortController | undefined
  private abortedWith: { reason: unknown } | undefined

  /** Whether abort() has been called. */
  get aborted(): boolean {
    return this.abortedWith !== undefined
  }

  /** The signal, made on first use (already aborted when abort() came first). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      if (this.abortedWith !== undefined) this.controller.abort(this.abortedWith.reason)
    }
    return this.controller.signal
  }

  abort(reason: unknown): void {
    if (this.abortedWith !== undefined) return
    this.abortedWith = { reason }
    this.controller?.abort(reason)
  }
}
