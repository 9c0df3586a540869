/**
 * The reader's credit window on its own (src/rpc/stream-credit.ts): a
 * writer that sends whenever it holds credit, a reader that consumes at
 * random, elements of random sizes. The stream tests run the same window
 * between real peers; here every interleaving fast-check finds is checked.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_STREAM_WINDOW, MAX_DEFAULT_STREAM_WINDOW } from '../../src/rpc/defaults.js'
import { CreditWindow, FIRST_WINDOW, replyStreamWindow, SMALLEST_WINDOW, type WindowLimits } from '../../src/rpc/stream-credit.js'

/** One writer and one reader around a window; `step` sends all the credit allows or consumes one element. */
class Pair {
  readonly window: CreditWindow
  credit: number
  buffered: number[] = []
  sent = 0
  consumed = 0

  constructor(
    limits: WindowLimits,
    private readonly sizeOf: (n: number) => number,
  ) {
    this.window = new CreditWindow(limits)
    this.credit = this.window.window
  }

  send(): void {
    while (this.credit > 0) {
      const bytes = this.sizeOf(this.sent++)
      this.credit--
      expect(this.window.received(bytes)).toBe(true)
      this.buffered.push(bytes)
    }
  }

  consume(): void {
    if (this.buffered.shift() === undefined) return
    this.consumed++
    this.credit += this.window.consumed()
  }
}

describe('CreditWindow', () => {
  it('never lets the writer more than the element limit ahead, and never stalls it', () => {
    fc.assert(
      fc.property(
        fc.record({ elements: fc.integer({ min: 1, max: 600 }), bytes: fc.integer({ min: 1, max: 1 << 20 }) }),
        fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 400 }),
        (limits, sizes, steps) => {
          const pair = new Pair(limits, (n) => sizes[n % sizes.length] as number)
          expect(pair.credit).toBe(Math.min(limits.elements, FIRST_WINDOW))
          for (const sends of steps) {
            if (sends) pair.send()
            else pair.consume()
            expect(pair.sent - pair.consumed).toBeLessThanOrEqual(pair.window.window)
            expect(pair.window.window).toBeLessThanOrEqual(limits.elements)
          }
          // Stalled would be: nothing buffered to consume and no credit to send with.
          pair.send()
          expect(pair.buffered.length + pair.credit).toBeGreaterThan(0)
          while (pair.buffered.length > 0) pair.consume()
          expect(pair.credit).toBeGreaterThan(0)
        },
      ),
    )
  })

  it('settles on as many elements of the size seen as fit the byte budget, within its bounds', () => {
    const settled = (limits: WindowLimits, size: number) => {
      const pair = new Pair(limits, () => size)
      for (let i = 0; i < 2000; i++) {
        pair.send()
        pair.consume()
      }
      return pair.window.window
    }
    const limits = { elements: 256, bytes: 256 * 1024 }
    expect(settled(limits, 64)).toBe(256)
    expect(settled(limits, 4096)).toBe(64)
    expect(settled(limits, 64 * 1024)).toBe(SMALLEST_WINDOW)
    expect(settled(limits, 1 << 20)).toBe(SMALLEST_WINDOW)
    // An element limit under the smallest window is kept to.
    expect(settled({ elements: 2, bytes: 1 }, 1 << 20)).toBe(2)
    // Empty elements count as a byte each.
    expect(settled({ elements: 1000, bytes: 100 }, 0)).toBe(100)
  })

  it('follows the elements when their size changes', () => {
    let size = 64
    const pair = new Pair({ elements: 256, bytes: 256 * 1024 }, () => size)
    const run = () => {
      for (let i = 0; i < 1000; i++) {
        pair.send()
        pair.consume()
      }
      return pair.window.window
    }
    expect(run()).toBe(256)
    size = 32 * 1024
    expect(run()).toBe(8)
    size = 100
    expect(run()).toBe(256)
  })
})

describe('replyStreamWindow', () => {
  it('gives a client the default window per KiB of its reply messages, within its bounds', () => {
    // A path that does not know its message size: the plain default.
    expect(replyStreamWindow(undefined)).toBe(DEFAULT_STREAM_WINDOW)
    expect(replyStreamWindow(512)).toBe(DEFAULT_STREAM_WINDOW)
    expect(replyStreamWindow(1024)).toBe(DEFAULT_STREAM_WINDOW)
    expect(replyStreamWindow(2048)).toBe(2 * DEFAULT_STREAM_WINDOW)
    expect(replyStreamWindow(4096)).toBe(4 * DEFAULT_STREAM_WINDOW)
    expect(replyStreamWindow(8192)).toBe(MAX_DEFAULT_STREAM_WINDOW)
    expect(replyStreamWindow(1024 * 1024)).toBe(MAX_DEFAULT_STREAM_WINDOW)
  })
})
