/**
 * Per-call metadata: a few string pairs that ride in the REQUEST (its
 * optional fourth element, docs/PROTOCOL.md 6.1), for auth tokens and trace
 * context. Bounded, so that it never turns into a second body.
 * @module
 */
import { Code } from '../protocol/code.js'
import { RpcError } from '../protocol/rpc-error.js'

/** String keys and values sent with one call; readable as `ctx.metadata` on the server. */
export type Metadata = Readonly<Record<string, string>>

/** Most entries in one call's metadata. */
export const MAX_METADATA_ENTRIES = 32
/** Most bytes (UTF-8 keys plus values) in one call's metadata. */
export const MAX_METADATA_BYTES = 4096

/** The metadata of a call that carries none. */
export const NO_METADATA: Metadata = Object.freeze(Object.create(null) as Record<string, string>)

/**
 * Checks what a peer or a caller gave as metadata, and returns a frozen copy
 * without a prototype (a key such as `__proto__` or `toString` is then just a
 * key). Throws INVALID_ARGUMENT naming the rule broken (and `method`, when given).
 */
export function checkMetadata(value: unknown, method?: string): Metadata {
  if (value === undefined || value === null) return NO_METADATA
  // Spelled here, after the common case: a call without metadata builds no message.
  const what = method === undefined ? 'metadata' : `metadata of the call to '${method}'`
  if (typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new RpcError(Code.INVALID_ARGUMENT, `${what} must be a map of strings to strings`)
  }
  const entries = Object.entries(value)
  if (entries.length === 0) return NO_METADATA
  if (entries.length > MAX_METADATA_ENTRIES) {
    throw new RpcError(
      Code.INVALID_ARGUMENT,
      `${what} has ${entries.length} entries; at most ${MAX_METADATA_ENTRIES} are allowed (MAX_METADATA_ENTRIES)`,
    )
  }
  const copy = Object.create(null) as Record<string, string>
  let bytes = 0
  for (const [key, text] of entries) {
    if (typeof text !== 'string') throw new RpcError(Code.INVALID_ARGUMENT, `${what} value of '${key}' must be a string`)
    if (key === '') throw new RpcError(Code.INVALID_ARGUMENT, `${what} keys must not be empty`)
    bytes += Buffer.byteLength(key) + Buffer.byteLength(text)
    copy[key] = text
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw new RpcError(
      Code.INVALID_ARGUMENT,
      `${what} is ${bytes} bytes; at most ${MAX_METADATA_BYTES} are allowed (MAX_METADATA_BYTES, keys and values in UTF-8)`,
    )
  }
  return Object.freeze(copy)
}
