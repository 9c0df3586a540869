/**
 * `mqrpc/internal`: helpers for tools such as the `mqrpc` command (listing
 * and cleaning up queues, probing servers, quoting defaults). Not covered by
 * semver: anything here may change in a minor release. Applications use the
 * public entry, `mqrpc`.
 * @module
 */

export { Code, codeName } from './protocol/code.js'
export { RpcError } from './protocol/rpc-error.js'
export * from './rpc/defaults.js'
export { isServed, PROBE_SERVICE } from './rpc/probe.js'
export { MemoryNetwork, memoryTransport } from './transport/memory/memory-transport.js'
export { type KernelLimits, kernelLimits, queueCost } from './transport/mq/kernel-limits.js'
export { MessageQueue } from './transport/mq/message-queue.js'
export { defaultTransport, mqTransport } from './transport/mq/mq-transport.js'
export { processAlive } from './transport/mq/process-alive.js'
export {
  DEFAULT_REPLY_MAX_MESSAGES,
  DEFAULT_REPLY_MESSAGE_SIZE,
  DEFAULT_SERVICE_MAX_MESSAGES,
  DEFAULT_SERVICE_MESSAGE_SIZE,
} from './transport/mq/queue-defaults.js'
export { DEFAULT_SERVICE_QUEUE_MODE, REPLY_QUEUE_MODE } from './transport/mq/queue-modes.js'
export { queueNameProblem } from './transport/mq/queue-name-rules.js'
export { pidOfReplyQueue, replyQueueName, urgentLaneName } from './transport/mq/queue-naming.js'
export { removeQueue } from './transport/mq/remove-queue.js'
export type {
  Inbound,
  Listener,
  Outbound,
  PeerLink,
  ReplyPath,
  ServiceLanes,
  Transport,
  TransportStatus,
  VouchedIdentity,
} from './transport/transport.js'
