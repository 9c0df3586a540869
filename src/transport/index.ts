/**
 * The transport layer: queues and frames, nothing about services.
 * @module
 */
export { MessageQueue } from './message-queue.js'
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
export { MqError } from './mq-error.js'
export { kernelLimits, queueCost, type KernelLimits } from './kernel-limits.js'
export { queueNameProblem } from './queue-name.js'
