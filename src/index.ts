/**
 * mqrpc: typed RPC over Linux POSIX message queues. Tools find helpers
 * without a semver promise in `mqrpc/internal`.
 * @module
 */

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
export type {
  AllowList,
  AnyService,
  BinaryOptions,
  CallContext,
  CallKind,
  CallNext,
  CallOptions,
  Client,
  ClientEvents,
  ClientMethods,
  ClientOptions,
  ClientState,
  EventName,
  EventPayload,
  Handlers,
  HealthAnswer,
  HealthCaller,
  HealthOptions,
  HealthRequest,
  HealthStatus,
  Interceptor,
  Metadata,
  MethodInput,
  MethodName,
  MethodOutput,
  MethodSpec,
  Peer,
  Priority,
  RpcCall,
  ServerEvents,
  ServerOptions,
  Service,
  ServiceSpec,
  SessionInfo,
  SettableHealthStatus,
  StreamInput,
  StreamKind,
  Violation,
} from './rpc/index.js'
export {
  Binary,
  ClientCore,
  Code,
  chainInterceptors,
  checkHealth,
  codeName,
  createClient,
  createServer,
  defineService,
  MAX_METADATA_BYTES,
  MAX_METADATA_ENTRIES,
  RpcError,
  Server,
  ServiceClient,
  schemaFromJson,
  watchHealth,
  whenCallEnds,
} from './rpc/index.js'
/** Schema evolution: whether a client of one schema may talk to a server of another (what `mqrpc breaking` runs). */
export {
  type BreakingChange,
  type Compatibility,
  checkCompatibility,
  type ServiceShape,
} from './rpc/schema-compat.js'
export { serviceShape } from './rpc/service.js'
/** The POSIX-queue transport (the default) and the in-process one, for `transport` options and tests. */
export { MemoryNetwork, type MemoryTransportOptions, memoryTransport } from './transport/memory/memory-transport.js'
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
export { mqTransport } from './transport/mq/mq-transport.js'
export type { Transport } from './transport/transport.js'
