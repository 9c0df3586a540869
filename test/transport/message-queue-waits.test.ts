/**
 * Waiting: back-pressure, the event loop staying free, timeouts, aborts,
 * close with waiters, and the order in which waiters settle. A wait that
 * gives up must neither lose nor duplicate a message.
 */
import { describe, expect, it } from 'vitest'
import { MessageQueue, MqError } from '../../src/index.js'
import { mqErrorOf, seqMessage } from '../helpers/errors.js'
import { uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { spawnFixture } from '../helpers/spawn.js'
import { sleep, until } from '../helpers/wait.js'

useQueueGuard()

/** A fresh queue and a second descriptor on it, closed and unlinked by dispose(). */
function pair(tag: string, maxMessages = 10, messageSize = 64) {
  const name = uniqueQueueName(tag)
  const reader = MessageQueue.open(name, { create: true, exclusive: true, maxMessages, messageSize, access: 'read' })
  const writer = MessageQueue.open(name, { access: 'write' })
  return {
    name,
    reader,
    writer,
    async dispose() {
      await reader.close()
      await writer.close()
      MessageQueue.unlink(name)
    },
  }
}

const seqOf = (m: { data: Buffer }) => m.data.readUInt32LE(0)

/** Counts timer ticks while `during` runs: proof that the event loop is not blocked. */
async function ticksDuring<T>(during: () => Promise<T>): Promise<{ value: T; ticks: number }> {
  let ticks = 0
  const timer = setInterval(() => {
    ticks++
  }, 5)
  try {
    const value = await during()
    return { value, ticks }
  } finally {
    clearInterval(timer)
  }
}

describe('waiting without blocking the event loop', () => {
  it('a timer keeps firing while a receive waits', async () => {
    const p = pair('loop-recv')
    try {
      const { value, ticks } = await ticksDuring(async () => {
        const pending = p.reader.receive()
        await sleep(150)
        p.writer.trySend(Buffer.from('late'))
        return pending
      })
      expect(value.data.toString()).toBe('late')
      expect(ticks).toBeGreaterThanOrEqual(10)
    } finally {
      await p.dispose()
    }
  })

  it('a timer keeps firing while a send waits for room, and the send completes when room appears', async () => {
    const p = pair('loop-send', 2)
    try {
      p.writer.trySend(seqMessage(0))
      p.writer.trySend(seqMessage(1))
      let sent = false
      const { ticks } = await ticksDuring(async () => {
        const pending = p.writer.send(seqMessage(2)).then(() => {
          sent = true
        })
        await sleep(150)
        expect(sent).toBe(false)
        expect(p.writer.attributes().currentMessages).toBe(2)
        expect(seqOf(p.reader.tryReceive() as { data: Buffer })).toBe(0)
        await pending
      })
      expect(sent).toBe(true)
      expect(ticks).toBeGreaterThanOrEqual(10)
      expect([p.reader.tryReceive(), p.reader.tryReceive()].map((m) => m && seqOf(m))).toEqual([1, 2])
    } finally {
      await p.dispose()
    }
  })

  it('does not spin while waiting (little CPU over 200 ms of waiting)', async () => {
    const p = pair('nospin', 1)
    try {
      p.writer.trySend(seqMessage(0))
      const before = process.cpuUsage()
      const emptyName = uniqueQueueName('nospin-empty')
      const empty = MessageQueue.open(emptyName, { create: true, exclusive: true })
      try {
        const waits = [
          p.writer.send(seqMessage(1), { timeoutMs: 200 }).catch((e: MqError) => e.code),
          empty.receive({ timeoutMs: 200 }).catch((e: MqError) => e.code),
        ]
        expect(await Promise.all(waits)).toEqual(['ETIMEDOUT', 'ETIMEDOUT'])
        const used = process.cpuUsage(before)
        expect((used.user + used.system) / 1000).toBeLessThan(100)
      } finally {
        await empty.close()
        MessageQueue.unlink(emptyName)
      }
    } finally {
      await p.dispose()
    }
  })
})

describe('after the last receive', () => {
  it('a message that arrives with no receive waiting stays queued, the queue does not spin, and the next receive gets it', async () => {
    const p = pair('after-last')
    try {
      const first = p.reader.receive({ timeoutMs: 5000 })
      p.writer.trySend(seqMessage(0))
      expect(seqOf(await first)).toBe(0)
      // Sent while the reader may still be watching (it stops a little after its last receive).
      p.writer.trySend(seqMessage(1))
      const before = process.cpuUsage()
      await sleep(200)
      const used = process.cpuUsage(before)
      expect((used.user + used.system) / 1000).toBeLessThan(100)
      expect(p.reader.attributes().currentMessages).toBe(1)
      expect(seqOf(await p.reader.receive({ timeoutMs: 5000 }))).toBe(1)
    } finally {
      await p.dispose()
    }
  })

  it('a process whose queue finished a receive and was never closed still exits', async () => {
    const p = pair('exits')
    try {
      const child = spawnFixture('peer.ts', ['receive-once', p.name])
      await child.waitForLine('ready', 30_000)
      p.writer.trySend(seqMessage(7))
      const exit = await child.finish(15_000)
      expect({ code: exit.code, stdout: exit.stdout.trim().split('\n').at(-1) }).toEqual({ code: 0, stdout: '{"seq":7}' })
    } finally {
      await p.dispose()
    }
  })
})

describe('timeouts', () => {
  it('a receive on an empty queue rejects with ETIMEDOUT after timeoutMs', async () => {
    const p = pair('timeout-recv')
    try {
      const started = Date.now()
      const error = await mqErrorOf(() => p.reader.receive({ timeoutMs: 60 }))
      expect(Date.now() - started).toBeGreaterThanOrEqual(55)
      expect(error).toBeInstanceOf(MqError)
      expect(error).toMatchObject({ code: 'ETIMEDOUT', queue: p.name })
      expect(error.message).toBe(`receive on queue ${p.name} timed out after 60 ms`)
    } finally {
      await p.dispose()
    }
  })

  it('a send on a full queue rejects with ETIMEDOUT and is never delivered', async () => {
    const p = pair('timeout-send', 1)
    try {
      p.writer.trySend(seqMessage(0))
      const error = await mqErrorOf(() => p.writer.send(seqMessage(1), { timeoutMs: 40 }))
      expect(error).toMatchObject({ code: 'ETIMEDOUT', queue: p.name })
      expect(error.message).toBe(`send on queue ${p.name} timed out after 40 ms`)
      expect(seqOf(await p.reader.receive())).toBe(0)
      await sleep(30)
      expect(p.reader.tryReceive()).toBeUndefined()
    } finally {
      await p.dispose()
    }
  })

  it('timeoutMs 0 returns a waiting message at once and times out at once on an empty queue', async () => {
    const p = pair('timeout-zero')
    try {
      p.writer.trySend(seqMessage(5))
      expect(seqOf(await p.reader.receive({ timeoutMs: 0 }))).toBe(5)
      await expect(p.reader.receive({ timeoutMs: 0 })).rejects.toMatchObject({ code: 'ETIMEDOUT' })
    } finally {
      await p.dispose()
    }
  })

  it('a message that arrives before the timeout is delivered and the timer is cleared', async () => {
    const p = pair('timeout-beat')
    try {
      const pending = p.reader.receive({ timeoutMs: 500 })
      await sleep(20)
      p.writer.trySend(seqMessage(1))
      expect(seqOf(await pending)).toBe(1)
    } finally {
      await p.dispose()
    }
  })
})

describe('abort', () => {
  it('aborting a pending receive rejects with ABORT_ERR carrying the reason', async () => {
    const p = pair('abort-recv')
    try {
      const controller = new AbortController()
      const pending = p.reader.receive({ signal: controller.signal })
      const reason = new Error('user gave up')
      controller.abort(reason)
      const error = await mqErrorOf(() => pending)
      expect(error).toMatchObject({ code: 'ABORT_ERR', queue: p.name })
      expect(error.message).toBe(`receive on queue ${p.name} was aborted`)
      expect(error.cause).toBe(reason)
    } finally {
      await p.dispose()
    }
  })

  it('an already-aborted signal rejects at once on an empty queue, for receive and for send on a full queue', async () => {
    const p = pair('abort-already', 1)
    try {
      const signal = AbortSignal.abort()
      await expect(p.reader.receive({ signal })).rejects.toMatchObject({ code: 'ABORT_ERR' })
      p.writer.trySend(seqMessage(0))
      await expect(p.writer.send(seqMessage(1), { signal })).rejects.toMatchObject({ code: 'ABORT_ERR' })
      expect(p.writer.attributes().currentMessages).toBe(1)
      expect(seqOf(await p.reader.receive())).toBe(0)
    } finally {
      await p.dispose()
    }
  })

  // BUG (src/transport/mq/message-queue.ts, receive() and send()): the ready
  // path runs before the signal is checked, so an already-aborted signal
  // still takes a waiting message (or sends into a queue with room).
  // AbortSignal convention (fs, fetch, events.once) is to reject at once
  // and do nothing. Flip to it() when fixed.
  it('an already-aborted signal does not take a waiting message', async () => {
    const p = pair('abort-ready')
    try {
      p.writer.trySend(seqMessage(7))
      await expect(p.reader.receive({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORT_ERR' })
    } finally {
      p.reader.tryReceive()
      await p.dispose()
    }
  })

  it('an aborted pending send is never delivered; the sends around it keep their order', async () => {
    const p = pair('abort-send', 1)
    try {
      p.writer.trySend(seqMessage(0))
      const controller = new AbortController()
      const first = p.writer.send(seqMessage(1))
      const aborted = p.writer.send(seqMessage(2), { signal: controller.signal })
      const third = p.writer.send(seqMessage(3))
      controller.abort()
      await expect(aborted).rejects.toMatchObject({ code: 'ABORT_ERR' })
      const got: number[] = []
      for (let i = 0; i < 3; i++) got.push(seqOf(await p.reader.receive()))
      await Promise.all([first, third])
      expect(got).toEqual([0, 1, 3])
      await sleep(20)
      expect(p.reader.tryReceive()).toBeUndefined()
    } finally {
      await p.dispose()
    }
  })
})

describe('order and exactly-once', () => {
  it('several pending receives resolve in the order they were made', async () => {
    const p = pair('order-recv')
    try {
      const pending = Array.from({ length: 8 }, () => p.reader.receive())
      const settled: number[] = []
      pending.forEach((promise, i) => void promise.then(() => settled.push(i)))
      for (let i = 0; i < 8; i++) await p.writer.send(seqMessage(i))
      const got = await Promise.all(pending)
      expect(got.map(seqOf)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
      expect(settled).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    } finally {
      await p.dispose()
    }
  })

  it('a receive that times out in the middle of the line takes nothing; the next in line gets the message', async () => {
    const p = pair('order-middle')
    try {
      const first = p.reader.receive()
      const middle = p.reader.receive({ timeoutMs: 20 })
      const last = p.reader.receive()
      await expect(middle).rejects.toMatchObject({ code: 'ETIMEDOUT' })
      p.writer.trySend(seqMessage(1))
      p.writer.trySend(seqMessage(2))
      expect([seqOf(await first), seqOf(await last)]).toEqual([1, 2])
      expect(p.reader.tryReceive()).toBeUndefined()
    } finally {
      await p.dispose()
    }
  })

  it('pending sends keep their order through a full queue', async () => {
    const p = pair('order-send', 2)
    try {
      const sends = Array.from({ length: 30 }, (_, i) => p.writer.send(seqMessage(i)))
      const got: number[] = []
      for (let i = 0; i < 30; i++) got.push(seqOf(await p.reader.receive()))
      await Promise.all(sends)
      expect(got).toEqual(Array.from({ length: 30 }, (_, i) => i))
    } finally {
      await p.dispose()
    }
  })

  it('an aborted receive loses nothing: the next send goes to a new receive exactly once', async () => {
    const p = pair('abort-once')
    try {
      const controller = new AbortController()
      const aborted = p.reader.receive({ signal: controller.signal })
      controller.abort()
      await expect(aborted).rejects.toMatchObject({ code: 'ABORT_ERR' })
      await p.writer.send(seqMessage(42))
      await sleep(20)
      expect(p.reader.attributes().currentMessages).toBe(1)
      expect(seqOf(await p.reader.receive())).toBe(42)
      expect(p.reader.tryReceive()).toBeUndefined()
    } finally {
      await p.dispose()
    }
  })

  it('receives that race their timeouts against a sender see every message exactly once, in order', async () => {
    const p = pair('race', 10, 16)
    try {
      const total = 400
      const sender = (async () => {
        for (let i = 0; i < total; i++) {
          await p.writer.send(seqMessage(i))
          if (i % 7 === 0) await sleep(1)
        }
      })()
      const got: number[] = []
      let timeouts = 0
      while (got.length < total) {
        try {
          got.push(seqOf(await p.reader.receive({ timeoutMs: got.length % 3 })))
        } catch (error) {
          if ((error as MqError).code !== 'ETIMEDOUT') throw error
          timeouts++
        }
      }
      await sender
      expect(got).toEqual(Array.from({ length: total }, (_, i) => i))
      expect(timeouts).toBeGreaterThan(0)
      expect(p.reader.tryReceive()).toBeUndefined()
    } finally {
      await p.dispose()
    }
  })
})

describe('close with waiters pending', () => {
  it('rejects every pending receive with ERR_QUEUE_CLOSED', async () => {
    const p = pair('close-recv')
    try {
      const pending = [p.reader.receive(), p.reader.receive({ timeoutMs: 10_000 })]
      await p.reader.close()
      for (const promise of pending) {
        const error = await mqErrorOf(() => promise)
        expect(error).toMatchObject({ code: 'ERR_QUEUE_CLOSED', queue: p.name })
        expect(error.message).toBe(`queue ${p.name} was closed while a receive was waiting`)
      }
    } finally {
      await p.dispose()
    }
  })

  it('rejects every pending send with ERR_QUEUE_CLOSED and none of them is delivered', async () => {
    const p = pair('close-send', 1)
    try {
      p.writer.trySend(seqMessage(0))
      const pending = [p.writer.send(seqMessage(1)), p.writer.send(seqMessage(2), { timeoutMs: 10_000 })]
      await p.writer.close()
      for (const promise of pending) {
        const error = await mqErrorOf(() => promise)
        expect(error).toMatchObject({ code: 'ERR_QUEUE_CLOSED' })
        expect(error.message).toBe(`queue ${p.name} was closed while a send was waiting`)
      }
      expect(seqOf(await p.reader.receive())).toBe(0)
      await sleep(20)
      expect(p.reader.tryReceive()).toBeUndefined()
    } finally {
      await p.dispose()
    }
  })

  it('ends a for-await loop that is waiting for the next message', async () => {
    const p = pair('close-iter')
    try {
      const seen: number[] = []
      const loop = (async () => {
        for await (const message of p.reader) seen.push(seqOf(message))
        return 'ended'
      })()
      p.writer.trySend(seqMessage(1))
      await sleep(20)
      await p.reader.close()
      expect(await loop).toBe('ended')
      expect(seen).toEqual([1])
    } finally {
      await p.dispose()
    }
  })

  it('after close, the synchronous calls throw ERR_QUEUE_CLOSED', async () => {
    const p = pair('closed-sync')
    try {
      await p.reader.close()
      await p.writer.close()
      for (const call of [
        () => p.reader.tryReceive(),
        () => p.writer.trySend(Buffer.from('x')),
        () => p.reader.attributes(),
        () => p.reader.owner(),
        () => p.reader.consume(() => {}),
      ]) {
        expect(call).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_CLOSED' }))
      }
      const error = await mqErrorOf(() => p.reader.receive())
      expect(error.message).toBe(`cannot receive: queue ${p.name} is closed`)
    } finally {
      await p.dispose()
    }
  })

  // BUG (src/transport/mq/message-queue.ts, receive() and send()): on a closed
  // queue they throw synchronously instead of returning a rejected promise,
  // so `q.send(x).catch(...)` does not catch it. Flip to it() when fixed.
  it('after close, receive and send return rejected promises instead of throwing', async () => {
    const p = pair('closed-async')
    try {
      await p.reader.close()
      await p.writer.close()
      await expect(p.reader.receive()).rejects.toMatchObject({ code: 'ERR_QUEUE_CLOSED' })
      await expect(p.writer.send(Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_QUEUE_CLOSED' })
    } finally {
      await p.dispose()
    }
  })
})

describe('drainNow from within the consumer', () => {
  it('is a no-op while a batch is handed out: no message is overwritten, lost or repeated', async () => {
    const p = pair('drain-reentry', 10, 64)
    try {
      const seen: number[] = []
      for (let i = 0; i < 5; i++) p.writer.trySend(seqMessage(i))
      // The scheduler reads the lanes between calls, and may do so from a
      // call the consumer itself started: that read must not reuse the batch
      // buffer while the first batch is still being handed out.
      p.reader.consume((data) => {
        const seq = Buffer.from(data).readUInt32LE(0)
        seen.push(seq)
        if (seq === 0) for (const late of [100, 101, 102]) p.writer.trySend(seqMessage(late))
        p.reader.drainNow()
      })
      await until(() => seen.length >= 8, 'every message handed out')
      await sleep(20)
      expect(seen).toEqual([0, 1, 2, 3, 4, 100, 101, 102])
    } finally {
      await p.dispose()
    }
  })
})

describe('waitingInPair', () => {
  it('tells which of two paired queues has a message, and skips a partner once it is closed', async () => {
    const first = pair('pair-first')
    const second = pair('pair-second')
    try {
      first.reader.pairWith(second.reader)
      expect(first.reader.waitingInPair()).toBe(0)
      second.writer.trySend(seqMessage(1))
      expect(first.reader.waitingInPair()).toBe(2)
      first.writer.trySend(seqMessage(2))
      expect(first.reader.waitingInPair()).toBe(3)
      expect(first.reader.tryReceive()?.data.readUInt32LE(0)).toBe(2)
      expect(second.reader.tryReceive()?.data.readUInt32LE(0)).toBe(1)
      expect(first.reader.waitingInPair()).toBe(0)
      // The readiness is the kernel's: a message another process put there counts too.
      expect((await spawnFixture('peer.ts', ['write', second.name, '1']).exited).code).toBe(0)
      expect(first.reader.waitingInPair()).toBe(2)
      first.writer.trySend(seqMessage(3))
      await second.reader.close()
      expect(first.reader.waitingInPair()).toBe(1)
    } finally {
      await first.dispose()
      await second.dispose()
    }
  })
})

describe('readOneAtATime', () => {
  it('reads one message per wake-up and still hands over every message, in order, from another process', async () => {
    // A queue of 10 slots, 200 messages from a writer that waits for room:
    // one read per wake leaves the rest to the poll, which must wake again
    // while any wait; switched back, the rest come in batches.
    const q = pair('one-at-a-time', 10)
    try {
      const seen: number[] = []
      q.reader.readOneAtATime(true)
      const stop = q.reader.consume((data) => {
        seen.push(Buffer.from(data).readUInt32LE(0))
        if (seen.length === 100) q.reader.readOneAtATime(false)
      })
      const writer = spawnFixture('peer.ts', ['write', q.name, '200'])
      expect((await writer.exited).code).toBe(0)
      await until(() => seen.length === 200, 'all 200 messages consumed')
      stop()
      expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i))
      expect(q.reader.tryReceive()).toBeUndefined()
    } finally {
      await q.dispose()
    }
  })
})
