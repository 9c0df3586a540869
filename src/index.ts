/**
 * mqrpc: typed RPC over Linux POSIX message queues. Tools find helpers
 * without a semver promise in `mqrpc/internal`.
 * @module
 */

export type {
  AnyService,
  BinaryOptions,
  CallContext,
  CallOptions,
  Client,
  ClientEvents,
  ClientMethods,
  ClientOptions,
  ClientState,
  EventName,
  EventPayload,
  Handlers,
  MethodInput,
  MethodName,
  MethodOutput,
  MethodSpec,
  AllowList,
  Peer,
  Priority,
  ServerEvents,
  ServerOptions,
  Service,
  ServiceSpec,
  SessionInfo,
  Violation,
} from './rpc/index.js'
export {
  Binary,
  ClientCore,
  Code,
  ServiceClient,
  codeName,
  createClient,
  createServer,
  defineService,
  RpcError,
  Server,
  schemaFromJson,
} from './rpc/index.js'
/** The POSIX-queue transport (the default) and the in-process one, for `transport` options and tests. */
export { MemoryNetwork, type MemoryTransportOptions, memoryTransport } from './transport/memory/memory-transport.js'
export { mqTransport } from './transport/mq/mq-transport.js'
export type { Transport } from './transport/transport.js'
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
} from './transport/mq/index.js'
export { kernelLimits, MessageQueue, MqError, queueCost } from './transport/mq/index.js'
