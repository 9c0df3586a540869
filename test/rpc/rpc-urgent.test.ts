/**
 * The urgent lane (docs/ARCHITECTURE.md, "Lanes") under load, across real processes:
 * while client processes saturate a server with CPU-bound bulk calls that
 * carry large bodies, an urgent call waits at most for the bulk handler
 * already running, never for the bulk backlog. Order is measured with the
 * server's completion sequence numbers, not with clocks.
 */
import { describe, expect, it, vi } from 'vitest'
import { Code } from '../../src/index.js'
import { uniqueQueueName } from '../helpers/queues.js'
import { connect, PROCESS_TEST_TIMEOUT_MS, spawnClient, spawnServer, useRpcHarness } from '../helpers/rpc.js'
import { until } from '../helpers/wait.js'

useRpcHarness()
vi.setConfig({ testTimeout: PROCESS_TEST_TIMEOUT_MS, hookTimeout: PROCESS_TEST_TIMEOUT_MS })

// Two handlers at once, one of them kept for urgent calls: bulk calls run
// one at a time, so the backlog is real.
const SERVER = { concurrency: 2, urgentReserve: 1 }
const BULK_MS = 20
const BIG = 16 * 1024

interface Tracked {
  readonly seq: number
  done?: number
}

describe('the urgent lane', () => {
  it('an urgent call overtakes the bulk backlog of several saturating clients', async () => {
    const queue = uniqueQueueName('urgent')
    await spawnServer(queue, SERVER)
    const procs = await Promise.all([spawnClient(queue), spawnClient(queue), spawnClient(queue)])
    const client = await connect(queue)

    // Three processes, each with 40 bulk calls of 20 ms of CPU and 16 KiB each way...
    for (const proc of procs) {
      const sent = await proc.request({ op: 'bulk', count: 40, ms: BULK_MS, padBytes: BIG, replyBytes: BIG })
      expect(sent.value).toEqual({ sent: 40 })
    }
    // ...and this process's own bulk calls, small so that their replies arrive as soon as they are made.
    const mine: Tracked[] = []
    const pad = new Uint8Array(64)
    const bulk = Array.from({ length: 40 }, (_, seq) => {
      const tracked: Tracked = { seq }
      mine.push(tracked)
      return client.spin({ seq, ms: BULK_MS, pad, replyBytes: 0 }).then((result) => {
        tracked.done = result.done
        return result
      })
    })
    const pendingNow = () => mine.filter((call) => call.done === undefined)
    // Small requests get into the server's queue ahead of large ones, so this
    // process's calls are among the first in the backlog: wait for a few to finish.
    await until(() => mine.length - pendingNow().length >= 3, 'bulk calls are flowing')

    // Urgent by the method's own priority, with a bulk-lane call of the same method made at the same moment.
    const pendingAtUrgent = pendingNow()
    const urgentCall = client.ping({ seq: 1 })
    const normalCall = client.ping({ seq: 2 }, { priority: 'normal' })
    const urgent = await urgentCall
    // Urgent by call option, on a method of normal priority.
    const pendingAtOverride = pendingNow()
    const override = await client.spin({ seq: 99, ms: 0, pad, replyBytes: 0 }, { priority: 'urgent' })
    const normal = await normalCall
    const all = await Promise.all(bulk)
    const finished = await Promise.all(procs.map((proc) => proc.waitFor({ op: 'bulk', finished: true }, 60_000)))

    expect(urgent.urgent).toBe(true)
    expect(override.urgent).toBe(true)
    expect(normal.urgent).toBe(false)
    expect(all.every((result) => !result.urgent)).toBe(true)
    // The backlog was real when the urgent calls were made...
    expect(pendingAtUrgent.length).toBeGreaterThanOrEqual(20)
    expect(pendingAtOverride.length).toBeGreaterThanOrEqual(20)
    // ...and each urgent call finished before all but a few of the calls still
    // pending: the bulk handler running when it arrived, and calls that had
    // finished on the server but whose replies this process had not read yet
    // (one or two; more when a loaded machine holds this process back). Had
    // it waited for the backlog, it would have overtaken none (see `normal`).
    const overtaken = (pending: Tracked[], done: number) => pending.filter((call) => (call.done as number) > done).length
    expect(pendingAtUrgent.length - overtaken(pendingAtUrgent, urgent.done)).toBeLessThanOrEqual(8)
    expect(pendingAtOverride.length - overtaken(pendingAtOverride, override.done)).toBeLessThanOrEqual(8)
    // The same method through the bulk lane waited behind every bulk call sent before it.
    expect(overtaken(pendingAtUrgent, normal.done)).toBe(0)
    expect(urgent.done).toBeLessThan(normal.done)
    // The other processes' bulk calls were overtaken too, and all of them still succeeded.
    let othersAfterUrgent = 0
    for (const line of finished) {
      const results = line.results as { seq: number; done?: number; error?: unknown }[]
      expect(results).toHaveLength(40)
      expect(results.filter((result) => result.error !== undefined)).toEqual([])
      othersAfterUrgent += results.filter((result) => (result.done as number) > urgent.done).length
    }
    expect(othersAfterUrgent).toBeGreaterThanOrEqual(40)
  })

  it('urgent calls still complete, with their own results, while every bulk slot is busy', async () => {
    const queue = uniqueQueueName('urgent-many')
    await spawnServer(queue, SERVER)
    const [prober, ...procs] = await Promise.all([spawnClient(queue), spawnClient(queue), spawnClient(queue)])
    if (prober === undefined) throw new Error('no prober')
    for (const proc of procs) await proc.request({ op: 'bulk', count: 50, ms: BULK_MS, padBytes: BIG, replyBytes: BIG })
    await until(() => procs.every((proc) => proc.linesWith({ event: 'bulkDone' }).length >= 1), 'bulk calls are flowing')
    // Urgent calls from a process of their own, one after another and several at once.
    const results = []
    for (let seq = 0; seq < 5; seq++) results.push(await prober.call('ping', { seq }))
    results.push(...(await Promise.all(Array.from({ length: 5 }, (_, i) => prober.call('ping', { seq: 5 + i })))))
    expect(results.map((r) => r.ok)).toEqual(Array(10).fill(true))
    expect(results.map((r) => (r.value as { seq: number }).seq)).toEqual(Array.from({ length: 10 }, (_, i) => i))
    expect(results.every((r) => (r.value as { urgent: boolean }).urgent)).toBe(true)
    // The first urgent call did not wait for the bulk backlog.
    const firstUrgent = (results[0] as { value: { done: number } }).value.done
    const finished = await Promise.all(procs.map((proc) => proc.waitFor({ op: 'bulk', finished: true }, 60_000)))
    const bulkDone = finished.flatMap((line) => (line.results as { done: number }[]).map((r) => r.done))
    expect(bulkDone).toHaveLength(100)
    expect(bulkDone.filter((done) => done > firstUrgent).length).toBeGreaterThanOrEqual(50)
    // An urgent call of an unknown method is answered from the urgent lane too.
    const unknown = await prober.call('nope', {}, { priority: 'urgent' })
    expect(unknown.code).toBe(Code.UNIMPLEMENTED)
  })
})
