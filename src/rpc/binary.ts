/**
 * Binary data as a schema: TypeBox 1.x has no Uint8Array kind, so this is an
 * `Unsafe` schema refined by an `instanceof` check. It travels as msgpack
 * `bin` (never base64) and decodes as a Uint8Array on the other side.
 * @module
 */
import { type TSchema, type TUnsafe, Type } from 'typebox'

/** Marks a binary schema in its JSON form, for introspection and codegen. */
export const BINARY_FORMAT = 'binary'

/** Options of {@link Binary}. */
export type BinaryOptions = Readonly<{
  /** Smallest length in bytes. Defaults to 0. */
  minBytes?: number
  /** Largest length in bytes. Defaults to no limit but the server's maxBodyBytes. */
  maxBytes?: number
  /** Shown in introspection and generated doc comments. Defaults to none. */
  description?: string
}>

/** A Uint8Array field: `Type.Object({ image: Binary({ maxBytes: 1 << 20 }) })`. */
export function Binary(options: BinaryOptions = {}): TUnsafe<Uint8Array> {
  const { minBytes = 0, maxBytes = Number.POSITIVE_INFINITY, description } = options
  // No JSON `type`: a Uint8Array is not a JSON value, so the refinement is
  // the whole check; `format` and the marker tell tools what it is.
  const schema = Type.Unsafe<Uint8Array>({
    format: BINARY_FORMAT,
    'x-mqrpc-binary': true,
    ...(options.minBytes === undefined ? {} : { minBytes }),
    ...(options.maxBytes === undefined ? {} : { maxBytes }),
    ...(description === undefined ? {} : { description }),
  })
  return Type.Refine(
    schema,
    (value: unknown) => value instanceof Uint8Array && value.length >= minBytes && value.length <= maxBytes,
    (value: unknown) =>
      value instanceof Uint8Array
        ? `must be between ${minBytes} and ${maxBytes} bytes, got ${value.length}`
        : 'must be binary data (Uint8Array)',
  ) as TUnsafe<Uint8Array>
}

/** Whether a schema is one made by {@link Binary}. */
export function isBinarySchema(schema: TSchema): boolean {
  return (schema as Record<string, unknown>)['x-mqrpc-binary'] === true
}
