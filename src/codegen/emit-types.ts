/**
 * Emits `<service>/types.ts`: the input, output and event payload types of
 * a service, written out as plain interfaces and types.
 * @module
 */
import { docComment, propertyKey } from './format.js'
import { after, isInterfaceSchema, schemaDocLines, toType } from './schema-to-ts.js'
import type { ServiceModel } from './service-model.js'

function declaration(name: string, schema: unknown, lead: string, where: string): string {
  const doc = docComment(schemaDocLines(schema, [lead]), '')
  const type = toType(schema, '', where)
  // An object type with named properties reads best as an interface.
  if (isInterfaceSchema(schema)) return `${doc}export interface ${name} ${type}\n`
  return `${doc}${after(`export type ${name} =`, type)}\n`
}

/** The source of types.ts for one service. */
export function emitTypes(model: ServiceModel, header: string): string {
  const parts: string[] = [
    `${header}/**\n * The types of the \`${model.name}\` service, written out from its JSON Schemas.\n * @module\n */\n`,
  ]
  for (const method of model.methods) {
    const where = `method '${method.name}'`
    parts.push(declaration(method.inputType, method.input, `Input of \`${method.name}\`.`, `${where} input`))
    if (method.outputType !== undefined) {
      parts.push(declaration(method.outputType, method.output, `Output of \`${method.name}\`.`, `${where} output`))
    }
  }
  for (const event of model.events) {
    parts.push(declaration(event.payloadType, event.schema, `Payload of the \`${event.name}\` event.`, `event '${event.name}'`))
  }
  const entries = model.events.map((event) => `  ${propertyKey(event.name)}: ${event.payloadType}\n`).join('')
  const eventMap =
    entries === ''
      ? `export type ${model.names.eventMap} = Record<never, never>\n`
      : `export interface ${model.names.eventMap} {\n${entries}}\n`
  parts.push(`/** The payload type of each event of \`${model.name}\`, by event name. */\n${eventMap}`)
  return parts.join('\n')
}
