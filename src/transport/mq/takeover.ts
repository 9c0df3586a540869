/**
 * Claiming a service's queue name at start-up. A queue left by a crashed
 * server is taken over; a queue with a live server behind it is refused.
 * Liveness is asked, not guessed: the caller probes the queue (the RPC layer
 * sends a HELLO, which a live server answers).
 * @module
 */
import { MessageQueue, type OpenOptions } from './message-queue.js'
import { MqError } from './mq-error.js'
import { removeQueue } from './remove-queue.js'

type CreateOptions = Pick<OpenOptions, 'mode' | 'maxMessages' | 'messageSize'>

/** Thrown when a live server already answers on the queue a server wants. */
export class QueueInUseError extends MqError {
  constructor(name: string) {
    super(`a live server already answers on ${name}: stop it first, or give this server another queue name`, {
      code: 'EEXIST',
      syscall: 'mq_open',
      queue: name,
    })
  }
}

/**
 * Creates `name` for reading, taking over a stale queue of that name.
 * Throws {@link QueueInUseError} when `isServed` says a live server answers on it.
 */
export async function claimQueue(
  name: string,
  options: CreateOptions,
  isServed: (name: string) => Promise<boolean>,
): Promise<MessageQueue> {
  const open = () => MessageQueue.open(name, { ...options, create: true, exclusive: true, access: 'read' })
  try {
    return open()
  } catch (error) {
    if (!(error instanceof MqError) || error.code !== 'EEXIST') throw error
  }
  if (await isServed(name)) throw new QueueInUseError(name)
  removeQueue(name)
  return open()
}

/** Creates `name` for reading, removing any queue of that name first (ours to replace). */
export function replaceQueue(name: string, options: CreateOptions): MessageQueue {
  removeQueue(name)
  return MessageQueue.open(name, { ...options, create: true, exclusive: true, access: 'read' })
}
