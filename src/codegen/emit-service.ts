/**
 * Emits `<service>/service.ts`: the service's JSON Schemas and fingerprint
 * as constants, and the service rebuilt from them with defineService, which
 * the client and handler modules hand to createClient and createServer.
 * @module
 */
import { docComment, importLine, printLiteral, propertyKey, quote } from './format.js'
import type { ServiceModel } from './service-model.js'

// The same steps as revive.ts, written out for the generated module.
const REVIVE = `/** A schema as mqrpc compiles it. */
type Schema = MethodSpec['input']

/**
 * A JSON Schema as a schema mqrpc compiles: plain JSON Schema is checked as
 * it is, and each binary node ('x-mqrpc-binary') gets back the Uint8Array
 * check of Binary(), which JSON cannot carry.
 */
function revive(schema: unknown): Schema {
  return reviveNode(schema) as Schema
}

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
`

function access(base: string, key: string): string {
  return propertyKey(key) === key ? `${base}.${key}` : `${base}[${quote(key)}]`
}

/** Doc comment lines: the service's description (if any), then `what`. */
export function describe(model: ServiceModel, ...what: string[]): string[] {
  return model.description === undefined ? what : [model.description, '', ...what]
}

/** The source of service.ts for one service. */
export function emitService(model: ServiceModel, header: string, importFrom: string): string {
  const { names } = model
  const schema = names.schema
  const methods = model.methods.map((method) => {
    const base = access(`${schema}.methods`, method.name)
    const fields = [`      input: revive(${base}.input),`]
    if (method.output !== undefined) fields.push(`      output: revive(${base}.output),`)
    if (method.priority === 'urgent') fields.push(`      priority: 'urgent',`)
    if (method.oneWay) fields.push('      oneWay: true,')
    if (method.description !== undefined) fields.push(`      description: ${quote(method.description)},`)
    return `    ${propertyKey(method.name)}: {\n${fields.join('\n')}\n    },`
  })
  const events = model.events.map((event) => `    ${propertyKey(event.name)}: revive(${access(`${schema}.events`, event.name)}),`)
  const spec = [
    ...(model.description === undefined ? [] : [`  description: ${quote(model.description)},`]),
    `  methods: {\n${methods.join('\n')}\n  },`,
    ...(events.length === 0 ? [] : [`  events: {\n${events.join('\n')}\n  },`]),
  ]
  return [
    `${header}/**
 * The \`${model.name}\` service, rebuilt from the JSON Schemas it had when
 * these stubs were generated.
 * @module
 */
${importLine(['Binary', 'defineService', 'type MethodSpec'], importFrom)}`,
    REVIVE,
    `/**
 * The schema fingerprint of \`${model.name}\` these stubs were generated from.
 * The client sends it in the handshake; a server whose schemas differ
 * refuses the client with FAILED_PRECONDITION, naming what differs.
 */
export const ${names.fingerprint} = ${quote(model.fingerprint)}
`,
    `/** The JSON Schemas of \`${model.name}\`, canonical (keys sorted), exactly as its fingerprint covers them. */
export const ${schema} = ${printLiteral(model.shape)}
`,
    `${docComment(describe(model, `The \`${model.name}\` service, for createClient and createServer.`), '')}export const ${names.service} = defineService(${quote(model.name)}, {
${spec.join('\n')}
})
`,
  ].join('\n')
}
