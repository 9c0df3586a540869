/**
 * Advice about a queue's size names the options of whoever made the queue:
 * a client's reply queue is sized by createClient's replyMaxMessages and
 * replyMessageSize, a server's queues (and MessageQueue.open's) by
 * maxMessages and messageSize.
 */
import { describe, expect, it } from 'vitest'
import { toMqError } from '../../src/transport/mq/mq-error.js'
import { probeQueueName, replyQueueName } from '../../src/transport/mq/queue-naming.js'

const emfile = { code: 'EMFILE', errno: 24, syscall: 'mq_open' }
const einval = { code: 'EINVAL', errno: 22, syscall: 'mq_open' }

describe('EMFILE advice', () => {
  it("names a client's reply queue options for a reply queue", () => {
    const error = toMqError(emfile, { queue: replyQueueName(), maxMessages: 10, messageSize: 1024, create: true })
    expect(error.code).toBe('EMFILE')
    expect(error.message).toContain("ask for smaller queues (createClient's replyMaxMessages and replyMessageSize)")
    expect(error.message).not.toMatch(/\bmaxMessages\b|\bmessageSize\b/)
  })

  it("names the server's (and MessageQueue.open's) options for any other queue", () => {
    const error = toMqError(emfile, { queue: '/calc', maxMessages: 10, messageSize: 8192, create: true })
    expect(error.message).toContain("ask for smaller queues (maxMessages and messageSize (createServer's options")
    expect(error.message).not.toContain('replyMaxMessages')
  })

  it('names no option for a probe queue, whose size nobody chooses', () => {
    const error = toMqError(emfile, { queue: probeQueueName(), maxMessages: 2, messageSize: 1024, create: true })
    expect(error.message).not.toContain('ask for smaller queues')
    expect(error.message).toContain('ulimit -q')
  })
})

describe('EINVAL advice on sizes', () => {
  it("uses the client's option names for a reply queue", () => {
    const error = toMqError(einval, { queue: replyQueueName(), maxMessages: 0, messageSize: 0, create: true })
    expect(error.message).toContain('replyMaxMessages 0 must be at least 1')
    expect(error.message).toContain('replyMessageSize 0 must be at least 1')
  })

  it('uses maxMessages and messageSize for any other queue', () => {
    const error = toMqError(einval, { queue: '/calc', maxMessages: 0, messageSize: 0, create: true })
    expect(error.message).toContain('maxMessages 0 must be at least 1')
    expect(error.message).toContain('messageSize 0 must be at least 1')
  })
})
