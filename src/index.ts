/**
 * mqrpc: typed RPC over Linux POSIX message queues.
 * @module
 */
export { MessageQueue, MqError, kernelLimits, queueCost } from './transport/index.js'
export type {
  KernelLimits,
  Message,
  MessageHandler,
  OpenOptions,
  QueueAccess,
  QueueAttributes,
  QueueOwner,
  ReceiveOptions,
  SendOptions,
} from './transport/index.js'
