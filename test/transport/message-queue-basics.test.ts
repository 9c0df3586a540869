/**
 * MessageQueue in one process: round trips, attributes, priority order, the
 * non-blocking paths, the iterator and consume mode.
 */
import { describe, expect, it } from 'vitest'
import { MessageQueue } from '../../src/index.js'
import { seqMessage } from '../helpers/errors.js'
import { uniqueQueueName, useQueueGuard } from '../helpers/queues.js'

useQueueGuard()

/** Creates a fresh queue; the caller closes and unlinks it. */
function create(tag: string, options: Parameters<typeof MessageQueue.open>[1] = {}): MessageQueue {
  return MessageQueue.open(uniqueQueueName(tag), { create: true, exclusive: true, ...options })
}

async function dispose(...queues: MessageQueue[]): Promise<void> {
  for (const q of queues) await q.close()
  const names = new Set(queues.map((q) => q.name))
  for (const name of names) MessageQueue.unlink(name)
}

describe('MessageQueue basics', () => {
  it('creates a queue with the asked attributes and reports them', async () => {
    const q = create('attrs', { maxMessages: 4, messageSize: 128 })
    try {
      expect(q.created).toBe(true)
      expect(q.access).toBe('readwrite')
      expect(q.maxMessages).toBe(4)
      expect(q.messageSize).toBe(128)
      expect(q.attributes()).toEqual({ maxMessages: 4, messageSize: 128, currentMessages: 0 })
      expect(q.trySend(Buffer.from('a'))).toBe(true)
      expect(q.trySend(Buffer.from('b'))).toBe(true)
      expect(q.attributes().currentMessages).toBe(2)
      const owner = q.owner()
      expect(owner.uid).toBe(process.getuid?.())
      expect(owner.gid).toBe(process.getgid?.())
      expect(owner.mode).toBe(0o600)
    } finally {
      await dispose(q)
    }
  })

  it('defaults to 10 x 8192 and opening an existing queue does not create it', async () => {
    const q = create('defaults')
    const again = MessageQueue.open(q.name, { create: true })
    const plain = MessageQueue.open(q.name)
    try {
      expect(q.attributes()).toMatchObject({ maxMessages: 10, messageSize: 8192 })
      expect(again.created).toBe(false)
      expect(plain.created).toBe(false)
      q.trySend(Buffer.from('shared'))
      expect((await plain.receive()).data.toString()).toBe('shared')
    } finally {
      await dispose(q, again, plain)
    }
  })

  it('carries bytes exactly: empty, binary, Uint8Array and a full messageSize', async () => {
    const q = create('bytes', { messageSize: 256 })
    try {
      const full = Buffer.alloc(256, 0xab)
      const binary = Buffer.from([0, 255, 1, 254, 0, 0])
      await q.send(Buffer.alloc(0))
      await q.send(binary)
      await q.send(new Uint8Array([7, 8, 9]))
      await q.send(full)
      expect((await q.receive()).data).toEqual(Buffer.alloc(0))
      expect((await q.receive()).data).toEqual(binary)
      expect((await q.receive()).data).toEqual(Buffer.from([7, 8, 9]))
      const last = await q.receive()
      expect(last.data).toEqual(full)
      expect(Buffer.isBuffer(last.data)).toBe(true)
    } finally {
      await dispose(q)
    }
  })

  it('received buffers are copies that later receives do not overwrite', async () => {
    const q = create('copies', { messageSize: 16 })
    try {
      for (let i = 0; i < 5; i++) q.trySend(seqMessage(i))
      const got = [await q.receive(), await q.receive(), q.tryReceive(), await q.receive(), q.tryReceive()]
      expect(got.map((m) => m?.data.readUInt32LE(0))).toEqual([0, 1, 2, 3, 4])
    } finally {
      await dispose(q)
    }
  })

  it('delivers higher priority first and FIFO within one priority', async () => {
    const q = create('prio', { messageSize: 32 })
    try {
      const sent: [string, number][] = [
        ['a0', 0],
        ['b5', 5],
        ['c1', 1],
        ['d5', 5],
        ['e0', 0],
        ['f9', 9],
        ['g1', 1],
        ['h5', 5],
      ]
      for (const [text, priority] of sent) await q.send(Buffer.from(text), { priority })
      const got: [string, number][] = []
      for (let i = 0; i < sent.length; i++) {
        const { data, priority } = await q.receive()
        got.push([data.toString(), priority])
      }
      expect(got).toEqual([
        ['f9', 9],
        ['b5', 5],
        ['d5', 5],
        ['h5', 5],
        ['c1', 1],
        ['g1', 1],
        ['a0', 0],
        ['e0', 0],
      ])
    } finally {
      await dispose(q)
    }
  })

  it('tryReceive returns undefined on an empty queue, again after draining', async () => {
    const q = create('empty', { maxMessages: 2, messageSize: 16 })
    try {
      expect(q.tryReceive()).toBeUndefined()
      expect(q.trySend(Buffer.from('x'), 3)).toBe(true)
      expect(q.tryReceive()).toEqual({ data: Buffer.from('x'), priority: 3 })
      expect(q.tryReceive()).toBeUndefined()
    } finally {
      await dispose(q)
    }
  })

  it('trySend returns false on a full queue and the message is not sent', async () => {
    const q = create('full', { maxMessages: 3, messageSize: 16 })
    try {
      expect([q.trySend(seqMessage(0)), q.trySend(seqMessage(1)), q.trySend(seqMessage(2))]).toEqual([true, true, true])
      expect(q.trySend(seqMessage(99))).toBe(false)
      expect(q.trySend(seqMessage(99), 31)).toBe(false)
      expect(q.attributes().currentMessages).toBe(3)
      expect(q.tryReceive()?.data.readUInt32LE(0)).toBe(0)
      expect(q.trySend(seqMessage(3))).toBe(true)
      const rest = [q.tryReceive(), q.tryReceive(), q.tryReceive(), q.tryReceive()]
      expect(rest.map((m) => m?.data.readUInt32LE(0))).toEqual([1, 2, 3, undefined])
    } finally {
      await dispose(q)
    }
  })

  it('separate read and write descriptors talk through the kernel', async () => {
    const name = uniqueQueueName('rw')
    const reader = MessageQueue.open(name, { create: true, exclusive: true, access: 'read' })
    const writer = MessageQueue.open(name, { access: 'write' })
    try {
      expect(reader.access).toBe('read')
      expect(writer.access).toBe('write')
      const pending = reader.receive()
      await writer.send(Buffer.from('over the kernel'))
      expect((await pending).data.toString()).toBe('over the kernel')
    } finally {
      await dispose(reader, writer)
    }
  })

  it('the async iterator yields messages in order and ends when the queue is closed', async () => {
    const q = create('iter', { messageSize: 16 })
    const writer = MessageQueue.open(q.name, { access: 'write' })
    try {
      const seen: number[] = []
      const loop = (async () => {
        for await (const { data } of q) {
          seen.push(data.readUInt32LE(0))
          if (seen.length === 25) void q.close()
        }
        return 'ended'
      })()
      for (let i = 0; i < 25; i++) await writer.send(seqMessage(i))
      expect(await loop).toBe('ended')
      expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i))
    } finally {
      await dispose(q, writer)
    }
  })

  it('consume hands every message to the handler in order, and stops when asked', async () => {
    const q = create('consume', { messageSize: 16 })
    const writer = MessageQueue.open(q.name, { access: 'write' })
    try {
      const seen: number[] = []
      let done: () => void = () => {}
      const all = new Promise<void>((resolve) => {
        done = resolve
      })
      const stop = q.consume((data, priority) => {
        expect(priority).toBe(2)
        seen.push(Buffer.from(data).readUInt32LE(0))
        if (seen.length === 100) done()
      })
      for (let i = 0; i < 100; i++) await writer.send(seqMessage(i), { priority: 2 })
      await all
      expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i))
      stop()
      writer.trySend(seqMessage(1000))
      await new Promise((resolve) => setTimeout(resolve, 30))
      expect(seen).toHaveLength(100)
      // After stop, receive works again and gets what consume left.
      expect((await q.receive()).data.readUInt32LE(0)).toBe(1000)
    } finally {
      await dispose(q, writer)
    }
  })

  it('consume refuses a second reader in the same process with EBUSY', async () => {
    const q = create('busy')
    try {
      const stop = q.consume(() => {})
      expect(() => q.consume(() => {})).toThrow(expect.objectContaining({ code: 'EBUSY' }))
      stop()
    } finally {
      await dispose(q)
    }
  })

  it('close is idempotent and marks the queue closed', async () => {
    const q = create('close')
    expect(q.isClosed).toBe(false)
    await q.close()
    await q.close()
    expect(q.isClosed).toBe(true)
    MessageQueue.unlink(q.name)
  })
})
