/**
 * Rebuilding a service from its JSON Schemas with schemaFromJson, as the
 * generated service.ts does. The generator rebuilds each service this way
 * before writing anything, and refuses to write stubs whose fingerprint
 * would differ from the schema's.
 * @module
 */
import { type AnyService, defineService, type MethodSpec, type ServiceSpec, schemaFromJson } from '../index.js'
import type { ServiceModel } from './service-model.js'

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
      input: schemaFromJson(embedded?.input),
      ...(method.output === undefined ? {} : { output: schemaFromJson(embedded?.output) }),
      ...(method.priority === 'urgent' ? { priority: 'urgent' as const } : {}),
      ...(method.oneWay ? { oneWay: true } : {}),
      ...(method.stream === undefined ? {} : { stream: method.stream }),
    }
  }
  const events: Record<string, MethodSpec['input']> = {}
  for (const event of model.events) events[event.name] = schemaFromJson(shape.events[event.name])
  const spec: ServiceSpec = { methods, events, ...(model.version === undefined ? {} : { version: model.version }) }
  return defineService(model.name, spec)
}
