import { describe, expect, it } from 'vitest'
import { median, medianOfRounds, takeTurns } from '../../bench/summary.js'

// The benchmark's figures are medians over rounds; a slip here would put a wrong figure and a wrong verdict in docs/BENCHMARKS.md.
describe('bench: medians over rounds', () => {
  it('takes the middle value, or the mean of the middle two, whatever the order', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([10, 40, 20, 30])).toBe(25)
    expect(median([7])).toBe(7)
  })

  it('folds rounds figure by figure, through nested objects and arrays, keeping labels', () => {
    const round = (p50: number, calls: number, multi: number) => ({
      label: 'mqrpc',
      latency: { median_us: p50, n: 5000 },
      throughput: [
        { inFlight: 32, calls_per_s: calls },
        { inFlight: 64, calls_per_s: calls * 2 },
      ],
      multi_calls_per_s: multi,
    })
    // One round lands on a burst of other load (the second): it moves no figure.
    const folded = medianOfRounds([round(40, 150_000, 200_000), round(400, 50_000, 70_000), round(42, 140_000, 210_000)])
    expect(folded).toEqual({
      label: 'mqrpc',
      latency: { median_us: 42, n: 5000 },
      throughput: [
        { inFlight: 32, calls_per_s: 140_000 },
        { inFlight: 64, calls_per_s: 280_000 },
      ],
      multi_calls_per_s: 200_000,
    })
  })

  it('takes turns, the order reversed every other round, and returns each one its own results', async () => {
    const order: string[] = []
    const results = await takeTurns(['a', 'b', 'c'], 3, async (item, round) => {
      order.push(item)
      return `${item}${round}`
    })
    expect(order).toEqual(['a', 'b', 'c', 'c', 'b', 'a', 'a', 'b', 'c'])
    expect(results).toEqual([
      ['a0', 'a1', 'a2'],
      ['b0', 'b1', 'b2'],
      ['c0', 'c1', 'c2'],
    ])
  })
})
