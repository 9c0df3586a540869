/**
 * The shapes of streaming methods, inferred from a method's spec: what its
 * handler takes and returns on the server, and what its typed method takes
 * and returns on the client. Unary methods keep their plain shapes.
 * @module
 */
import type { CallOptions } from './client-options.js'
import type { CallContext } from './context.js'

/** Input elements as a client may pass them: an async iterable (a generator, a stream) or a plain iterable (an array). */
export type StreamInput<T> = AsyncIterable<T> | Iterable<T>

/**
 * The handler of a method with spec `M`, input (element) type `In` and
 * output (element) type `Out`:
 * - unary: `(input, ctx) => Out | Promise<Out>`;
 * - `stream: 'server'`: `(input, ctx) => AsyncIterable<Out>`, usually `async function*`;
 * - `stream: 'client'`: `(inputs: AsyncIterable<In>, ctx) => Promise<Out>`;
 * - `stream: 'bidi'`: `(inputs: AsyncIterable<In>, ctx) => AsyncIterable<Out>`.
 */
export type HandlerOf<M, In, Out> = M extends { readonly stream: 'server' }
  ? (input: In, ctx: CallContext) => AsyncIterable<Out>
  : M extends { readonly stream: 'client' }
    ? (inputs: AsyncIterable<In>, ctx: CallContext) => Out | Promise<Out>
    : M extends { readonly stream: 'bidi' }
      ? (inputs: AsyncIterable<In>, ctx: CallContext) => AsyncIterable<Out>
      : (input: In, ctx: CallContext) => Out | Promise<Out>

/**
 * The typed client method of a method with spec `M`:
 * - unary: `(input, options?) => Promise<Out>`;
 * - `stream: 'server'`: `(input, options?) => AsyncIterable<Out>` (`break` cancels the call);
 * - `stream: 'client'`: `(inputs, options?) => Promise<Out>`;
 * - `stream: 'bidi'`: `(inputs, options?) => AsyncIterable<Out>`.
 */
export type ClientMethodOf<M, In, Out> = M extends { readonly stream: 'server' }
  ? (input: In, options?: CallOptions) => AsyncIterable<Out>
  : M extends { readonly stream: 'client' }
    ? (inputs: StreamInput<In>, options?: CallOptions) => Promise<Out>
    : M extends { readonly stream: 'bidi' }
      ? (inputs: StreamInput<In>, options?: CallOptions) => AsyncIterable<Out>
      : (input: In, options?: CallOptions) => Promise<Out>
