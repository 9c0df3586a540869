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
  CallKind,
  CallNext,
  HealthAnswer,
  HealthCaller,
  HealthOptions,
  HealthRequest,
  HealthStatus,
  Interceptor,
  Metadata,
  Peer,
  RpcCall,
  SettableHealthStatus,
  Priority,
  ServerEvents,
  ServerOptions,
  Service,
  ServiceSpec,
  SessionInfo,
  StreamInput,
  StreamKind,
  Violation,
} from './rpc/index.js'
export {
  Binary,
  chainInterceptors,
  checkHealth,
  ClientCore,
  MAX_METADATA_BYTES,
  MAX_METADATA_ENTRIES,
  watchHealth,
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
/** Built-in interceptors: structured logging, OpenTelemetry (optional peer dependency, loaded lazily), retries. */
export {
  type BackoffOptions,
  type CallLogEntry,
  type LoggingOptions,
  loggingInterceptor,
  type MeterProviderLike,
  type OtelOptions,
  otelInterceptor,
  type RetryOptions,
  retryInterceptor,
  type SpanLike,
  type TracerProviderLike,
} from './interceptors/index.js'
/** The POSIX-queue transport (the default) and the in-process one, for `transport` options and tests. */
export { MemoryNetwork, type MemoryTransportOptions, memoryTransport } from './transport/memory/memory-transport.js'
export { mqTransport } from './transport/mq/mq-transport.js'
export type { Transport } from './transport/transport.js'
/** Schema evolution: whether a client of one schema may talk to a server of another (what `mqrpc breaking` runs). */
export {
  type BreakingChange,
  type Compatibility,
  checkCompatibility,
  type ServiceShape,
} from './rpc/schema-compat.js'
export { serviceShape } from './rpc/service.js'
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
