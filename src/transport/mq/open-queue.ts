/**
 * A queue by name, through the addon: opening it (mq_open, defaults applied)
 * and removing its name (mq_unlink). The name is checked first, so that a
 * bad one fails with advice, and errno becomes MqError.
 * @module
 */
import { addon } from './load-addon.js'
import type { OpenOptions, QueueAccess } from './message-queue-types.js'
import { MqError, toMqError } from './mq-error.js'
import type { NativeAccess, NativeQueue } from './native.js'
import { queueNameProblem } from './queue-name-rules.js'

const ACCESS: Record<QueueAccess, NativeAccess> = { read: 1, write: 2, readwrite: 3 }

/** Opens, and with `create` creates, the queue `name` for `access`. Throws MqError. */
export function openNativeQueue(name: string, access: QueueAccess, options: OpenOptions): NativeQueue {
  assertQueueName(name, 'mq_open')
  const mode = options.mode ?? 0o600
  const maxMessages = options.maxMessages ?? 10
  const messageSize = options.messageSize ?? 8192
  const ctx = { queue: name, maxMessages, messageSize, mode, access, create: options.create ?? false }
  try {
    return new addon.Queue(
      name,
      ACCESS[access],
      options.create ?? false,
      options.exclusive ?? false,
      mode,
      maxMessages,
      messageSize,
    )
  } catch (error) {
    throw toMqError(error, ctx)
  }
}

/** Removes the name `name` (the queue lives on until its last descriptor closes). Throws MqError. */
export function unlinkQueueName(name: string): void {
  assertQueueName(name, 'mq_unlink')
  try {
    addon.unlink(name)
  } catch (error) {
    throw toMqError(error, { queue: name })
  }
}

/** Throws EINVAL with the kernel's rule that `name` breaks, before any system call sees it. */
function assertQueueName(name: string, syscall: 'mq_open' | 'mq_unlink'): void {
  const problem = queueNameProblem(name)
  if (problem !== undefined) throw new MqError(problem, { code: 'EINVAL', syscall, queue: String(name) })
}
