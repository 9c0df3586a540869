/**
 * The transport layer: queues and frames, nothing about services.
 * @module
 */

export { type KernelLimits, kernelLimits, queueCost } from './kernel-limits.js'
export type {
  Message,
  MessageHandler,
  OpenOptions,
  QueueAccess,
  QueueAttributes,
  QueueOwner,
  ReceiveOptions,
  SendOptions,
} from './message-queue.js'
export { MessageQueue } from './message-queue.js'
export { MqError } from './mq-error.js'
export { queueNameProblem } from './queue-name-rules.js'
