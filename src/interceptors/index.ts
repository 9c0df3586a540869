/**
 * The built-in interceptors, each a few lines on the public interceptor
 * API (src/rpc/interceptor.ts). Exported from the public entry, `mqrpc`.
 * @module
 */
export { type CallLogEntry, type LoggingOptions, loggingInterceptor } from './logging.js'
export { type MeterProviderLike, type OtelOptions, otelInterceptor, type SpanLike, type TracerProviderLike } from './otel.js'
export { type BackoffOptions, type RetryOptions, retryInterceptor } from './retry.js'
