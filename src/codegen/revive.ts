/**
 * Rebuilding a service from its JSON Schemas, as the generated service.ts
 * does (emit-service.ts writes the same steps out as source). JSON cannot
 * carry Binary()'s Uint8Array check, so each binary node gets it back; every
 * other node is plain JSON Schema, which mqrpc compiles as it is. The
 * generator rebuilds each service this way before writing anything, and
 * refuses to write stubs whose fingerprint would differ from the schema's.
 * @module
 */
import { type AnyService, Binary, defineService, type MethodSpec, type ServiceSpec } from '../index.js'
import type { ServiceModel } from './service-model.js'

type Schema = MethodSpec['input']

function reviveNode(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(reviveNode)
  if (typeof node !== 'object' || node === null) return node
  const fields = node as Record<string, unknown>
  if (fields['x-mqrpc-binary'] === true) {
    const { minBytes, maxBytes, description } = fields
    const binary = Binary({
      ...(typeof minBytes === 'number' ? { minBytes } : {}),
      ...(typeof maxBytes === 'number' ? { maxBytes } : {}),
      ...(typeof description === 'string' ? { description } : {}),
    })
    return Object.assign(binary, fields)
  }
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, reviveNode(value)]))
}

/** A JSON Schema as a schema mqrpc compiles, binary nodes included. */
export function revive(schema: unknown): Schema {
  return reviveNode(schema) as Schema
}

/** The service that the generated service.ts of `model` defines. */
export function rebuildService(model: ServiceModel): AnyService {
  // From the canonical copy, as the generated code does.
  const shape = model.shape as {
    methods: Record<string, { input: unknown; output: unknown }>
    events: Record<string, unknown>
  }
  const methods: Record<string, MethodSpec> = {}
  for (const method of model.methods) {
    const embedded = shape.methods[method.name]
    methods[method.name] = {
      input: revive(embedded?.input),
      ...(method.output === undefined ? {} : { output: revive(embedded?.output) }),
      ...(method.priority === 'urgent' ? { priority: 'urgent' as const } : {}),
      ...(method.oneWay ? { oneWay: true } : {}),
    }
  }
  const events: Record<string, Schema> = {}
  for (const event of model.events) events[event.name] = revive(shape.events[event.name])
  const spec: ServiceSpec = { methods, events }
  return defineService(model.name, spec)
}
