/**
 * mqrpc: typed RPC over Linux POSIX message queues.
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
  codeName,
  createClient,
  createServer,
  defineService,
  RpcError,
  Server,
  schemaFromJson,
} from './rpc/index.js'
/** How mqrpc names its queues (urgent lanes, reply and probe queues), for tools such as `mqrpc ls` and `mqrpc gc`. */
export { processAlive } from './transport/mq/process-alive.js'
export { pidOfReplyQueue, urgentLaneName } from './transport/mq/queue-naming.js'
/** Whether a live server answers on a request queue (a HELLO probe), as a starting server asks before taking a queue over. */
export { isServed } from './transport/mq/takeover.js'
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
