/**
 * The RPC layer: services, servers, clients, codes.
 * @module
 */

export { Code, codeName } from '../protocol/code.js'
export { RpcError } from '../protocol/rpc-error.js'
export { Binary, type BinaryOptions } from './binary.js'
export { type Client, ClientCore, type ClientMethods, createClient, ServiceClient } from './client.js'
export type { ClientEvents, ClientState } from './client-events.js'
export type { CallOptions, ClientOptions } from './client-options.js'
export type { CallContext, Peer } from './context.js'
export type { HealthAnswer, HealthRequest, HealthStatus, SettableHealthStatus } from './health.js'
export { checkHealth, type HealthCaller, type HealthOptions, watchHealth } from './health-client.js'
export {
  type CallKind,
  type CallNext,
  chainInterceptors,
  type Interceptor,
  type RpcCall,
  whenCallEnds,
} from './interceptor.js'
export { schemaFromJson } from './json-schema.js'
export { MAX_METADATA_BYTES, MAX_METADATA_ENTRIES, type Metadata } from './metadata.js'
export { createServer, type Handlers, Server, type ServerEvents, type SessionInfo } from './server.js'
export type { AllowList, ServerOptions } from './server-options.js'
export {
  type AnyService,
  defineService,
  type EventName,
  type EventPayload,
  type MethodInput,
  type MethodName,
  type MethodOutput,
  type MethodSpec,
  type Priority,
  type Service,
  type ServiceSpec,
  type StreamKind,
  type Violation,
} from './service.js'
export type { ClientMethodOf, HandlerOf, StreamInput } from './stream-types.js'
