/**
 * Schemas that travelled as JSON (a live server's `$describe`, the schemas
 * embedded in generated stubs) back into schemas mqrpc compiles. Plain JSON
 * Schema compiles as it is; only binary fields need help, since JSON cannot
 * carry Binary()'s Uint8Array check.
 * @module
 */
import type { TSchema } from 'typebox'
import { Binary } from './binary.js'

// Keys whose values are data, not schemas: never rewritten.
const DATA_KEYS = new Set(['const', 'enum', 'default', 'examples', 'required'])

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function rewrite(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewrite)
  if (!isRecord(node)) return node
  if (node['x-mqrpc-binary'] === true) {
    const { minBytes, maxBytes, description } = node
    const binary = Binary({
      ...(typeof minBytes === 'number' ? { minBytes } : {}),
      ...(typeof maxBytes === 'number' ? { maxBytes } : {}),
      ...(typeof description === 'string' ? { description } : {}),
    })
    // Every JSON field kept, so the service's fingerprint is unchanged.
    return Object.assign(binary, node)
  }
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, DATA_KEYS.has(key) ? value : rewrite(value)]))
}

/**
 * A JSON Schema as a schema for defineService: binary nodes (marked
 * `'x-mqrpc-binary': true` by {@link Binary}) get their Uint8Array check
 * back; everything else is left as it is.
 */
export function schemaFromJson(schema: unknown): TSchema {
  return rewrite(schema) as TSchema
}
