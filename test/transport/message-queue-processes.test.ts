/**
 * MessageQueue between two real processes: the test process and a node
 * child (test/fixtures/peer.ts) that opens the same queue by name.
 */
import { describe, expect, it } from 'vitest'
import { MessageQueue } from '../../src/index.js'
import { seqMessage } from '../helpers/errors.js'
import { uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { spawnFixture } from '../helpers/spawn.js'

useQueueGuard()

interface ReadResult {
  seqs: number[]
  priorities: number[]
  sizes: number[]
}

interface WriteResult {
  sent: number
  waited: number
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

describe('between two processes', () => {
  it('a child sends, this process receives', async () => {
    const name = uniqueQueueName('child-sends')
    const q = MessageQueue.open(name, { create: true, exclusive: true, access: 'read' })
    try {
      const child = spawnFixture('peer.ts', ['write', name, '25'])
      // A loaded machine can take longer than a receive's timeout to start the child.
      await child.waitForLine('ready', 30_000)
      const got: number[] = []
      for (let i = 0; i < 25; i++) got.push((await q.receive({ timeoutMs: 10_000 })).data.readUInt32LE(0))
      expect(got).toEqual(range(25))
      expect((await child.json<WriteResult>()).sent).toBe(25)
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('this process sends, a child receives', async () => {
    const name = uniqueQueueName('parent-sends')
    const q = MessageQueue.open(name, { create: true, exclusive: true, access: 'write', messageSize: 64 })
    try {
      const child = spawnFixture('peer.ts', ['read', name, '25'])
      await child.waitForLine('ready')
      for (let i = 0; i < 25; i++) await q.send(seqMessage(i, 12))
      const result = await child.json<ReadResult>()
      expect(result.seqs).toEqual(range(25))
      expect(result.sizes).toEqual(Array(25).fill(12))
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('the child receives higher priorities first and FIFO within a priority', async () => {
    const name = uniqueQueueName('child-prio')
    const q = MessageQueue.open(name, { create: true, exclusive: true, access: 'write', messageSize: 16 })
    try {
      const priorities = [0, 3, 1, 3, 0, 7, 1, 3, 0, 7]
      for (const [seq, priority] of priorities.entries()) expect(q.trySend(seqMessage(seq), priority)).toBe(true)
      const child = spawnFixture('peer.ts', ['read', name, String(priorities.length)])
      const result = await child.json<ReadResult>()
      const expected = [...priorities.entries()]
        .sort(([seqA, prioA], [seqB, prioB]) => prioB - prioA || seqA - seqB)
        .map(([seq]) => seq)
      expect(result.seqs).toEqual(expected)
      expect(result.priorities).toEqual([7, 7, 3, 3, 3, 1, 1, 0, 0, 0])
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('10,000 messages through a 10-slot queue to a slow reader: none lost, none reordered, the sender waited', async () => {
    const name = uniqueQueueName('flood-out')
    const q = MessageQueue.open(name, { create: true, exclusive: true, access: 'write', maxMessages: 10, messageSize: 64 })
    const total = 10_000
    let ticks = 0
    const timer = setInterval(() => {
      ticks++
    }, 5)
    try {
      // The reader sleeps 2 ms after every 50 messages.
      const child = spawnFixture('peer.ts', ['read', name, String(total), '50', '2'])
      await child.waitForLine('ready')
      let waits = 0
      for (let i = 0; i < total; i++) {
        // A full queue means this send has to wait for the reader.
        if (q.attributes().currentMessages === q.maxMessages) waits++
        await q.send(seqMessage(i))
      }
      const result = await child.json<ReadResult>(30_000)
      expect(result.seqs.length).toBe(total)
      expect(result.seqs).toEqual(range(total))
      expect(waits).toBeGreaterThan(50)
      expect(ticks).toBeGreaterThan(5)
    } finally {
      clearInterval(timer)
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('10,000 messages from a child into a slow reader here: none lost, none reordered, the child waited', async () => {
    const name = uniqueQueueName('flood-in')
    const q = MessageQueue.open(name, { create: true, exclusive: true, access: 'read', maxMessages: 10, messageSize: 64 })
    const total = 10_000
    try {
      const child = spawnFixture('peer.ts', ['write', name, String(total)])
      let next = 0
      let bad = -1
      for (let i = 0; i < total; i++) {
        const seq = (await q.receive({ timeoutMs: 10_000 })).data.readUInt32LE(0)
        if (seq !== next && bad === -1) bad = i
        next = seq + 1
        if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 1))
      }
      expect(bad).toBe(-1)
      expect(next).toBe(total)
      const result = await child.json<WriteResult>()
      expect(result.sent).toBe(total)
      expect(result.waited).toBeGreaterThan(0)
      expect(q.tryReceive()).toBeUndefined()
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('a receive here keeps waiting while the event loop runs, until a child sends', async () => {
    const name = uniqueQueueName('wait-child')
    const q = MessageQueue.open(name, { create: true, exclusive: true, access: 'read' })
    let ticks = 0
    const timer = setInterval(() => {
      ticks++
    }, 5)
    try {
      const pending = q.receive({ timeoutMs: 15_000 })
      await new Promise((resolve) => setTimeout(resolve, 100))
      const before = ticks
      const child = spawnFixture('peer.ts', ['write', name, '1'])
      const message = await pending
      expect(message.data.readUInt32LE(0)).toBe(0)
      expect(before).toBeGreaterThanOrEqual(8)
      await child.success()
    } finally {
      clearInterval(timer)
      await q.close()
      MessageQueue.unlink(name)
    }
  })
})
