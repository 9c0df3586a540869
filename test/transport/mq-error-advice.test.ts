/**
 * Every error path of MessageQueue: the code, syscall, queue and a message
 * a person can act on.
 */
import { describe, expect, it } from 'vitest'
import { kernelLimits, MessageQueue, MqError, queueCost } from '../../src/index.js'
import { hasCapSysResource, mqErrorOf } from '../helpers/errors.js'
import { trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { spawnFixture } from '../helpers/spawn.js'

useQueueGuard()

describe('queue names', () => {
  const cases: [string, string, RegExp][] = [
    ['a name without a leading slash', 'calc', /must start with "\/"/],
    ['the empty name', '', /must start with "\/"/],
    ['a bare slash', '/', /is empty/],
    ['a name with a second slash', '/calc/v1', /holds a "\/" after the first character/],
    ['a name with a trailing slash', '/calc/', /holds a "\/" after the first character/],
    ['a name of 256 bytes after the slash', `/${'a'.repeat(256)}`, /256 bytes after the "\/"; the kernel allows at most 255/],
  ]
  for (const [what, name, message] of cases) {
    it(`rejects ${what} before any syscall, for open and unlink`, async () => {
      for (const call of [() => MessageQueue.open(name, { create: true }), () => MessageQueue.unlink(name)]) {
        const error = await mqErrorOf(call)
        expect(error).toBeInstanceOf(MqError)
        expect(error).toBeInstanceOf(Error)
        expect(error.name).toBe('MqError')
        expect(error.code).toBe('EINVAL')
        expect(error.queue).toBe(name)
        expect(error.message).toMatch(message)
      }
    })
  }

  it('accepts a name of exactly 255 bytes after the slash', async () => {
    const prefix = uniqueQueueName('max')
    const name = trackQueue(prefix + 'x'.repeat(256 - prefix.length))
    expect(Buffer.byteLength(name)).toBe(256)
    const q = MessageQueue.open(name, { create: true, exclusive: true })
    await q.close()
    MessageQueue.unlink(name)
  })

  it('rejects a name that is not a string', async () => {
    const error = await mqErrorOf(() => MessageQueue.open(42 as unknown as string))
    expect(error.code).toBe('EINVAL')
    expect(error.message).toMatch(/must be a string, got number/)
  })
})

describe('attributes beyond the machine limits', () => {
  const limits = kernelLimits()
  const lifted = hasCapSysResource()
  const why = 'this process has CAP_SYS_RESOURCE, which lifts msg_max and msgsize_max'

  it.skipIf(lifted || limits.msgMax === undefined)(
    'maxMessages above msg_max fails with EINVAL naming the /proc limit',
    async () => {
      const max = limits.msgMax as number
      const name = uniqueQueueName('too-many')
      const error = await mqErrorOf(() => MessageQueue.open(name, { create: true, maxMessages: max + 1 }))
      expect(error).toMatchObject({ code: 'EINVAL', syscall: 'mq_open', queue: name })
      expect(error.errno).toBe(22)
      expect(error.message).toContain(`maxMessages ${max + 1} exceeds this machine's limit /proc/sys/fs/mqueue/msg_max = ${max}`)
      expect(error.message).toContain(`sysctl -w fs.mqueue.msg_max=${max + 1}`)
    },
  )

  it.skipIf(lifted || limits.msgsizeMax === undefined)(
    'messageSize above msgsize_max fails with EINVAL naming the /proc limit',
    async () => {
      const max = limits.msgsizeMax as number
      const name = uniqueQueueName('too-big')
      const error = await mqErrorOf(() => MessageQueue.open(name, { create: true, messageSize: max + 1 }))
      expect(error).toMatchObject({ code: 'EINVAL', syscall: 'mq_open', queue: name })
      expect(error.message).toContain(
        `messageSize ${max + 1} exceeds this machine's limit /proc/sys/fs/mqueue/msgsize_max = ${max}`,
      )
    },
  )

  it('on this machine the limits are the ones the design measured, or the skip says why', () => {
    if (lifted) console.warn(`limit tests skipped: ${why}`)
    expect(limits.msgMax).toBeGreaterThanOrEqual(1)
    expect(limits.msgsizeMax).toBeGreaterThanOrEqual(128)
  })

  it('maxMessages 0 and messageSize 0 fail with EINVAL saying so', async () => {
    const name = uniqueQueueName('zero')
    const noSlots = await mqErrorOf(() => MessageQueue.open(name, { create: true, maxMessages: 0 }))
    expect(noSlots.code).toBe('EINVAL')
    expect(noSlots.message).toContain('maxMessages 0 must be at least 1')
    const noBytes = await mqErrorOf(() => MessageQueue.open(name, { create: true, messageSize: 0 }))
    expect(noBytes.message).toContain('messageSize 0 must be at least 1')
  })

  it('EMFILE when the per-user budget (RLIMIT_MSGQUEUE) is used up explains the budget and its current figure', async () => {
    // Run in a child with a small RLIMIT_MSGQUEUE, so the test does not eat
    // the budget that other test files of this user share. The kernel
    // compares the user's total with the creating process's own limit.
    const budget = 200_000
    const prefix = uniqueQueueName('emfile')
    for (let i = 0; i < 10; i++) trackQueue(`${prefix}-${i}`)
    const child = spawnFixture('peer.ts', ['emfile', prefix, '10', '10', '8192'], {
      wrapper: ['bash', '-c', `ulimit -q ${budget} && exec "$0" "$@"`],
    })
    const result = await child.json<{ opened: number; code: string; syscall: string; message: string }>()
    expect(result.code).toBe('EMFILE')
    expect(result.syscall).toBe('mq_open')
    expect(result.opened).toBeLessThanOrEqual(Math.floor(budget / (10 * 8192)))
    expect(result.message).toContain(`RLIMIT_MSGQUEUE, \`ulimit -q\`) is ${budget} bytes`)
    expect(result.message).toContain(`A queue of 10 x 8192 bytes costs about ${queueCost(10, 8192)} bytes`)
    expect(result.message).toContain('ulimit -q')
  })
})

describe('open and unlink', () => {
  it('exclusive create of an existing queue fails with EEXIST', async () => {
    const name = uniqueQueueName('eexist')
    const q = MessageQueue.open(name, { create: true, exclusive: true })
    try {
      const error = await mqErrorOf(() => MessageQueue.open(name, { create: true, exclusive: true }))
      expect(error).toMatchObject({ code: 'EEXIST', syscall: 'mq_open', queue: name, errno: 17 })
      expect(error.message).toContain(`queue ${name} already exists and { exclusive: true } was asked for`)
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('opening a queue that does not exist fails with ENOENT', async () => {
    const name = uniqueQueueName('enoent')
    const error = await mqErrorOf(() => MessageQueue.open(name, { access: 'read' }))
    expect(error).toMatchObject({ code: 'ENOENT', syscall: 'mq_open', queue: name, errno: 2 })
    expect(error.message).toContain(`no queue named ${name} exists`)
    expect(error.message).toContain('{ create: true }')
  })

  it('unlinking a queue that does not exist fails with ENOENT from mq_unlink', async () => {
    const name = uniqueQueueName('unlink-enoent')
    const error = await mqErrorOf(() => MessageQueue.unlink(name))
    expect(error).toMatchObject({ code: 'ENOENT', syscall: 'mq_unlink', queue: name })
  })

  it('unlink removes the name at once but open descriptors keep working', async () => {
    const name = uniqueQueueName('unlinked')
    const q = MessageQueue.open(name, { create: true, exclusive: true })
    try {
      MessageQueue.unlink(name)
      await expect(mqErrorOf(() => MessageQueue.open(name))).resolves.toMatchObject({ code: 'ENOENT' })
      await q.send(Buffer.from('still here'))
      expect((await q.receive()).data.toString()).toBe('still here')
    } finally {
      await q.close()
    }
  })
})

describe('send and receive errors', () => {
  it('a message larger than messageSize fails with EMSGSIZE naming both sizes', async () => {
    const name = uniqueQueueName('emsgsize')
    const q = MessageQueue.open(name, { create: true, exclusive: true, messageSize: 16 })
    try {
      for (const call of [() => q.trySend(Buffer.alloc(17)), () => q.send(Buffer.alloc(17))]) {
        const error = await mqErrorOf(call)
        expect(error).toMatchObject({ code: 'EMSGSIZE', syscall: 'mq_send', queue: name, errno: 90 })
        expect(error.message).toContain(`message of 17 bytes is larger than queue ${name}'s messageSize 16`)
      }
      expect(q.attributes().currentMessages).toBe(0)
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('a too-large message waiting behind a full queue rejects with EMSGSIZE and the next send still goes', async () => {
    const name = uniqueQueueName('emsgsize-queued')
    const q = MessageQueue.open(name, { create: true, exclusive: true, maxMessages: 1, messageSize: 16 })
    try {
      q.trySend(Buffer.from('first'))
      // 'second' waits for room, so the large one queues behind it.
      const second = q.send(Buffer.from('second'))
      const big = q.send(Buffer.alloc(17))
      const next = q.send(Buffer.from('next'))
      expect(q.tryReceive()?.data.toString()).toBe('first')
      await second
      expect((await q.receive()).data.toString()).toBe('second')
      await expect(big).rejects.toMatchObject({ code: 'EMSGSIZE' })
      await next
      expect((await q.receive()).data.toString()).toBe('next')
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  // BUG (src/transport/mq/message-queue.ts, send()): the fast path calls
  // trySend, whose EMSGSIZE escapes as a synchronous throw instead of a
  // rejected promise. Flip to it() when fixed.
  it('send of a too-large message returns a rejected promise', async () => {
    const name = uniqueQueueName('emsgsize-async')
    const q = MessageQueue.open(name, { create: true, exclusive: true, messageSize: 16 })
    try {
      await expect(q.send(Buffer.alloc(17))).rejects.toMatchObject({ code: 'EMSGSIZE' })
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('sending on a queue opened for reading fails with EBADF', async () => {
    const name = uniqueQueueName('ebadf-send')
    const q = MessageQueue.open(name, { create: true, exclusive: true, access: 'read' })
    try {
      const error = await mqErrorOf(() => q.trySend(Buffer.from('x')))
      expect(error).toMatchObject({ code: 'EBADF', syscall: 'mq_send', queue: name })
      expect(error.message).toContain('opened for read')
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  // BUG (src/transport/mq/message-queue.ts constructor + native ReceiveMany):
  // a write-only queue gets a 0-byte receive buffer, so receiveMany clamps
  // to 0 slots and never calls mq_receive: tryReceive() returns undefined
  // instead of EBADF, and receive() on a non-empty queue spins at 100% CPU
  // (poll says readable, the drain reads nothing) until it times out.
  // Flip to it() when fixed.
  it('receiving on a queue opened for writing fails with EBADF', async () => {
    const name = uniqueQueueName('ebadf-recv')
    const q = MessageQueue.open(name, { create: true, exclusive: true, access: 'write' })
    try {
      expect(() => q.tryReceive()).toThrow(expect.objectContaining({ code: 'EBADF' }))
      q.trySend(Buffer.from('x'))
      await expect(q.receive({ timeoutMs: 100 })).rejects.toMatchObject({ code: 'EBADF' })
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('a priority at or above MQ_PRIO_MAX (32768) fails with EINVAL', async () => {
    const name = uniqueQueueName('prio-max')
    const q = MessageQueue.open(name, { create: true, exclusive: true })
    try {
      expect(q.trySend(Buffer.from('ok'), 32767)).toBe(true)
      const error = await mqErrorOf(() => q.trySend(Buffer.from('x'), 32768))
      expect(error).toMatchObject({ code: 'EINVAL', syscall: 'mq_send', queue: name })
      expect(q.tryReceive()?.priority).toBe(32767)
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })
})
