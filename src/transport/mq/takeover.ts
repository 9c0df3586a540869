/**
 * Claiming a service's queue name at start-up. A queue left by a crashed
 * server is taken over; a queue with a live server behind it is refused.
 * Liveness is asked, not guessed: we send a HELLO into the queue and a live
 * server answers it (with a REJECT, since the probe names no real service).
 * @module
 */
import { FrameType, forEachFrame } from '../../protocol/frame.js'
import { FrameWriter } from '../../protocol/frame-writer.js'
import { MessageQueue, type OpenOptions } from './message-queue.js'
import { MqError } from './mq-error.js'
import { Code } from '../../protocol/code.js'
import { probeQueueName } from './queue-naming.js'
import { RpcError } from '../../rpc/rpc-error.js'
import { encodeBody, WIRE_PROTOCOL } from '../../protocol/wire.js'

type CreateOptions = Pick<OpenOptions, 'mode' | 'maxMessages' | 'messageSize'>

/** Whether a live server reads `queue`: it answers a probe within `timeoutMs`. */
export async function isServed(queue: string, timeoutMs: number): Promise<boolean> {
  let target: MessageQueue
  try {
    target = MessageQueue.open(queue, { access: 'write' })
  } catch (error) {
    if (error instanceof MqError && error.code === 'ENOENT') return false
    throw error
  }
  const probeName = probeQueueName()
  const probe = MessageQueue.open(probeName, {
    create: true,
    exclusive: true,
    mode: 0o622,
    maxMessages: 2,
    messageSize: 1024,
    access: 'read',
  })
  try {
    const hello = encodeBody({
      protocol: WIRE_PROTOCOL,
      service: '$probe',
      replyQueue: probeName,
      pid: process.pid,
      nonce: new Uint8Array(8),
    })
    const writer = new FrameWriter(target, { sendTimeoutMs: timeoutMs })
    try {
      await writer.write({ type: FrameType.HELLO, flags: 0, token: 0n, callId: 0 }, hello)
    } catch {
      return false // full, and nobody drains it
    }
    try {
      const { data } = await probe.receive({ timeoutMs })
      let answered = false
      forEachFrame(data, () => {
        answered = true
      })
      return answered
    } catch {
      return false
    }
  } finally {
    await probe.close()
    await target.close()
    MessageQueue.unlink(probeName)
  }
}

/**
 * Creates `name` for reading, taking over a stale queue of that name.
 * Throws ALREADY_EXISTS when a live server answers on it.
 */
export async function claimQueue(name: string, options: CreateOptions, probeTimeoutMs: number): Promise<MessageQueue> {
  const open = () => MessageQueue.open(name, { ...options, create: true, exclusive: true, access: 'read' })
  try {
    return open()
  } catch (error) {
    if (!(error instanceof MqError) || error.code !== 'EEXIST') throw error
  }
  if (await isServed(name, probeTimeoutMs)) {
    throw new RpcError(
      Code.ALREADY_EXISTS,
      `a live server already answers on ${name}: stop it first, or give this server another queue name`,
    )
  }
  try {
    MessageQueue.unlink(name)
  } catch (error) {
    if (!(error instanceof MqError) || error.code !== 'ENOENT') throw error
  }
  return open()
}

/** Creates `name` for reading, removing any queue of that name first (ours to replace). */
export function replaceQueue(name: string, options: CreateOptions): MessageQueue {
  try {
    MessageQueue.unlink(name)
  } catch (error) {
    if (!(error instanceof MqError) || error.code !== 'ENOENT') throw error
  }
  return MessageQueue.open(name, { ...options, create: true, exclusive: true, access: 'read' })
}
