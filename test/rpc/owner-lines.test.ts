/**
 * The scheduler's lines on their own: any mix of pushes and takes hands
 * items out in the order they came, across the compaction of a line that
 * never empties, and lists keep lines in turn order.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LineList, OwnerLine } from '../../src/rpc/owner-lines.js'

describe('OwnerLine', () => {
  it('takes items first in, first out, whatever the mix of pushes and takes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 600 }), { maxLength: 40 }), (bursts) => {
        const line = new OwnerLine<number>('owner')
        const model: number[] = []
        let next = 0
        // Each burst pushes n items, then takes half of what waits: the line rarely empties.
        for (const n of bursts) {
          for (let i = 0; i < n; i++) {
            line.push(next)
            model.push(next++)
          }
          for (let i = Math.ceil(model.length / 2); i > 0; i--) expect(line.take()).toBe(model.shift())
          expect(line.size).toBe(model.length)
        }
        while (model.length > 0) expect(line.take()).toBe(model.shift())
        expect(line.size).toBe(0)
      }),
    )
  })

  it('keeps order across compaction of a line that never empties', () => {
    const line = new OwnerLine<number>('owner')
    for (let i = 0; i < 10; i++) line.push(i)
    const taken: number[] = []
    for (let i = 10; i < 2000; i++) {
      line.push(i)
      taken.push(line.take())
    }
    expect(taken).toEqual(Array.from({ length: 1990 }, (_, i) => i))
    expect(line.size).toBe(10)
  })
})

describe('LineList', () => {
  it('serves the first line and lets lines join at the back', () => {
    const list = new LineList<number>()
    const [a, b, c] = ['a', 'b', 'c'].map((owner) => new OwnerLine<number>(owner)) as [
      OwnerLine<number>,
      OwnerLine<number>,
      OwnerLine<number>,
    ]
    expect(list.first).toBeUndefined()
    list.push(a)
    expect(list.several).toBe(false)
    list.push(b)
    list.push(c)
    expect(list.several).toBe(true)
    list.push(list.shift())
    expect([list.shift(), list.shift(), list.shift()].map((line) => line.owner)).toEqual(['b', 'c', 'a'])
    expect(list.first).toBeUndefined()
    list.push(c)
    expect(list.first?.owner).toBe('c')
  })
})
