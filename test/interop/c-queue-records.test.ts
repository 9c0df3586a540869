/**
 * Interop with plain C, the classic client/server sample done right:
 * test/c/struct_send.c writes fixed-size records that MessageQueue reads,
 * and test/c/struct_recv.c reads records that MessageQueue wrote, with a
 * buffer of the queue's mq_msgsize. The record (test/c/record.h) is 32
 * bytes: uint32 seq @0, int32 value @4, char text[24] @8, host order.
 */
import { endianness } from 'node:os'
import { describe, expect, it } from 'vitest'
import { MessageQueue } from '../../src/index.js'
import { uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { spawnProgram } from '../helpers/spawn.js'

useQueueGuard()

interface Record {
  seq: number
  value: number
  text: string
}

const RECORD_SIZE = 32

function encode(record: Record): Buffer {
  const data = Buffer.alloc(RECORD_SIZE)
  data.writeUInt32LE(record.seq, 0)
  data.writeInt32LE(record.value, 4)
  data.write(record.text, 8, 23, 'latin1')
  return data
}

function decode(data: Buffer): Record {
  expect(data.length).toBe(RECORD_SIZE)
  const end = data.indexOf(0, 8)
  return {
    seq: data.readUInt32LE(0),
    value: data.readInt32LE(4),
    text: data.toString('latin1', 8, end === -1 ? RECORD_SIZE : end),
  }
}

/** What struct_send sends as record i. */
const cRecord = (i: number): Record => ({ seq: i, value: i * 7 - 100, text: `record-${i}` })

describe.skipIf(endianness() !== 'LE')('interop with C programs', () => {
  it('C sends structs, MessageQueue reads and decodes them (the C side blocks on a full queue)', async () => {
    const name = uniqueQueueName('c-to-node')
    const q = MessageQueue.open(name, { create: true, exclusive: true, access: 'read', maxMessages: 10, messageSize: 8192 })
    try {
      const count = 50
      const sender = spawnProgram('struct_send', [name, String(count), '4'])
      const got: Record[] = []
      for (let i = 0; i < count; i++) {
        const { data, priority } = await q.receive({ timeoutMs: 10_000 })
        expect(priority).toBe(4)
        got.push(decode(data))
        // Read slowly at first so that the C sender meets a full queue.
        if (i < 5) await new Promise((resolve) => setTimeout(resolve, 10))
      }
      expect(got).toEqual(Array.from({ length: count }, (_, i) => cRecord(i)))
      expect((await sender.success()).trim()).toBe(`sent ${count}`)
      expect(q.tryReceive()).toBeUndefined()
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('MessageQueue writes structs, C reads them with a buffer of mq_msgsize and prints them', async () => {
    const name = uniqueQueueName('node-to-c')
    const q = MessageQueue.open(name, { create: true, exclusive: true, access: 'write', maxMessages: 10, messageSize: 4096 })
    try {
      const records = Array.from({ length: 40 }, (_, i) => ({ seq: i, value: -i * 1000 + 3, text: `from node ${i}` }))
      const receiver = spawnProgram('struct_recv', [name, String(records.length)])
      for (const record of records) await q.send(encode(record), { priority: 1 })
      const lines = (await receiver.success()).trim().split('\n')
      expect(lines).toEqual(records.map((r) => `seq=${r.seq} value=${r.value} prio=1 text=${r.text}`))
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('C receives MessageQueue priorities highest first, FIFO within one', async () => {
    const name = uniqueQueueName('node-to-c-prio')
    const q = MessageQueue.open(name, { create: true, exclusive: true, access: 'write', messageSize: 64 })
    try {
      const priorities = [1, 0, 2, 1, 0, 2, 9]
      for (const [seq, priority] of priorities.entries()) {
        expect(q.trySend(encode({ seq, value: priority, text: `p${priority}` }), priority)).toBe(true)
      }
      const receiver = spawnProgram('struct_recv', [name, String(priorities.length)])
      const lines = (await receiver.success()).trim().split('\n')
      expect(lines).toEqual([
        'seq=6 value=9 prio=9 text=p9',
        'seq=2 value=2 prio=2 text=p2',
        'seq=5 value=2 prio=2 text=p2',
        'seq=0 value=1 prio=1 text=p1',
        'seq=3 value=1 prio=1 text=p1',
        'seq=1 value=0 prio=0 text=p0',
        'seq=4 value=0 prio=0 text=p0',
      ])
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('a message that is not one record is reported by the C reader, not misread', async () => {
    const name = uniqueQueueName('node-to-c-bad')
    const q = MessageQueue.open(name, { create: true, exclusive: true, access: 'write', messageSize: 64 })
    try {
      q.trySend(Buffer.alloc(RECORD_SIZE + 4))
      q.trySend(encode({ seq: 1, value: 2, text: 'ok' }))
      const receiver = spawnProgram('struct_recv', [name, '2'])
      const out = await receiver.finish()
      expect(out.code).toBe(1)
      expect(out.stdout.trim().split('\n')).toEqual([`bad-size ${RECORD_SIZE + 4}`, 'seq=1 value=2 prio=0 text=ok'])
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('the C sender reports ENOENT for a queue that does not exist', async () => {
    const name = uniqueQueueName('c-enoent')
    const out = await spawnProgram('struct_send', [name, '1']).finish()
    expect(out.code).toBe(1)
    expect(out.stdout.trim()).toBe('open ENOENT')
  })
})
