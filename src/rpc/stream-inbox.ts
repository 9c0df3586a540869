/**
 * The reading end of one streamed direction: the elements received and not
 * yet consumed (never more than the credit window), then how the direction
 * ended. It is the AsyncIterable a handler gets as its inputs, and the one a
 * client iterates for outputs. Consuming an element renews credit.
 * @module
 */
import { Fifo } from '../util/fifo.js'
import { CreditWindow, type WindowLimits } from './stream-credit.js'

/** What the inbox tells its owner. */
export interface InboxHooks {
  /** Send a CREDIT of `n` elements to the writer. */
  readonly grant: (n: number) => void
  /** The reader stopped early (`break`, `return()`): the owner decides what that means for the call. */
  readonly stopped: () => void
}

type End = { readonly ok: true } | { readonly ok: false; readonly error: unknown }

export class StreamInbox<T> implements AsyncIterable<T> {
  private readonly items = new Fifo<T>()
  private readonly credit: CreditWindow
  private end: End | undefined
  private reading = false
  private stoppedByReader = false
  private waiter: { resolve: (step: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined

  constructor(
    limits: WindowLimits,
    private readonly hooks: InboxHooks,
  ) {
    this.credit = new CreditWindow(limits)
  }

  /** The credit to grant before the first element: the whole window. */
  get window(): number {
    return this.credit.window
  }

  /** Elements buffered now. */
  get buffered(): number {
    return this.items.size
  }

  /** Whether the direction has ended (normally, with an error, or by the reader). */
  get ended(): boolean {
    return this.end !== undefined || this.stoppedByReader
  }

  /** An element arrived, `bytes` long on the wire. False when the writer had no credit for it: the caller ends the stream. */
  push(item: T, bytes: number): boolean {
    if (this.ended) return true
    if (!this.credit.received(bytes)) return false
    const waiter = this.waiter
    if (waiter !== undefined) {
      this.waiter = undefined
      this.renew()
      waiter.resolve({ value: item, done: false })
    } else {
      this.items.push(item)
    }
    return true
  }

  /** The writer ended normally: the reader gets what is buffered, then the end. */
  finish(): void {
    this.settle({ ok: true })
  }

  /** The stream failed: the reader gets what is buffered, then `error`. */
  fail(error: unknown): void {
    this.settle({ ok: false, error })
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.reading) throw new TypeError('a stream can be iterated only once')
    this.reading = true
    return {
      next: () => this.next(),
      return: () => {
        this.stop()
        return Promise.resolve({ value: undefined, done: true })
      },
    }
  }

  private next(): Promise<IteratorResult<T>> {
    if (this.stoppedByReader) return Promise.resolve({ value: undefined, done: true })
    if (this.items.size > 0) {
      const value = this.items.take()
      this.renew()
      return Promise.resolve({ value, done: false })
    }
    if (this.end !== undefined) {
      return this.end.ok ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.end.error)
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject }
    })
  }

  private renew(): void {
    const grant = this.credit.consumed()
    // Nobody will write after the end; a grant then would only be noise.
    if (grant > 0 && this.end === undefined) this.hooks.grant(grant)
  }

  private settle(end: End): void {
    if (this.end !== undefined) return
    this.end = end
    const waiter = this.waiter
    if (waiter === undefined) return
    this.waiter = undefined
    if (end.ok) waiter.resolve({ value: undefined, done: true })
    else waiter.reject(end.error)
  }

  private stop(): void {
    if (this.stoppedByReader) return
    this.stoppedByReader = true
    this.items.clear()
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.resolve({ value: undefined, done: true })
    if (this.end === undefined) this.hooks.stopped()
  }
}
