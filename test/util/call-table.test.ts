/**
 * CallTable (src/util/call-table.ts) must answer as a Map does, whatever
 * the order of adds, deletes and lookups, the first call in fields of its
 * own or not.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CallTable } from '../../src/util/call-table.js'

const id = fc.integer({ min: 0, max: 6 })
const operation = fc.oneof(
  fc.record({ op: fc.constant('set' as const), id, value: fc.integer() }),
  fc.record({ op: fc.constant('delete' as const), id }),
  fc.record({ op: fc.constant('get' as const), id }),
  fc.record({ op: fc.constant('clear' as const) }),
)

describe('CallTable', () => {
  it('answers every sequence of operations as a Map does', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const table = new CallTable<number>()
        const model = new Map<number, number>()
        for (const o of operations) {
          if (o.op === 'set') {
            table.set(o.id, o.value)
            model.set(o.id, o.value)
          } else if (o.op === 'delete') {
            expect(table.delete(o.id)).toBe(model.delete(o.id))
          } else if (o.op === 'get') {
            expect(table.get(o.id)).toBe(model.get(o.id))
            expect(table.has(o.id)).toBe(model.has(o.id))
          } else {
            table.clear()
            model.clear()
          }
          expect(table.size).toBe(model.size)
          expect(new Map(table.entries())).toEqual(model)
          expect([...table.keys()].sort()).toEqual([...model.keys()].sort())
          expect([...table.values()].sort()).toEqual([...model.values()].sort())
        }
      }),
      { numRuns: 500 },
    )
  })

  it('lets entries be deleted while it is iterated, as a Map does', () => {
    const table = new CallTable<string>()
    for (const n of [1, 2, 3, 4]) table.set(n, `call ${n}`)
    const seen: number[] = []
    for (const n of table.keys()) {
      seen.push(n)
      table.delete(n)
    }
    expect(seen.sort()).toEqual([1, 2, 3, 4])
    expect(table.size).toBe(0)
  })
})
