/**
 * Removing a queue's name: one helper and one policy for every place that
 * does it.
 * @module
 */
import { forget } from './exit-cleanup.js'
import { MessageQueue } from './message-queue.js'
import { MqError } from './mq-error.js'

/**
 * Unlinks `name`; a name that is already gone is fine (its owner, `mqrpc gc`
 * or a server that took over removed it). Any other error (EACCES: not ours
 * to remove) is thrown, so that nobody silently believes it is gone.
 * Returns whether this call removed it.
 */
export function removeQueue(name: string): boolean {
  forget(name)
  try {
    MessageQueue.unlink(name)
    return true
  } catch (error) {
    if (error instanceof MqError && error.code === 'ENOENT') return false
    throw error
  }
}
