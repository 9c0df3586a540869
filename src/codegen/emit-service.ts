/**
 * Emits `<service>/service.ts`: the service's JSON Schemas and fingerprint
 * as constants, and the service rebuilt from them with defineService, which
 * the client and handler modules hand to createClient and createServer.
 * @module
 */
import { docComment, importLine, printLiteral, propertyKey, quote } from './format.js'
import type { ServiceModel } from './service-model.js'

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
    const fields = [`      input: schemaFromJson(${base}.input),`]
    if (method.output !== undefined) fields.push(`      output: schemaFromJson(${base}.output),`)
    if (method.priority === 'urgent') fields.push(`      priority: 'urgent',`)
    if (method.oneWay) fields.push('      oneWay: true,')
    if (method.stream !== undefined) fields.push(`      stream: '${method.stream}',`)
    if (method.idempotent) fields.push('      idempotent: true,')
    if (method.description !== undefined) fields.push(`      description: ${quote(method.description)},`)
    return `    ${propertyKey(method.name)}: {\n${fields.join('\n')}\n    },`
  })
  const events = model.events.map(
    (event) => `    ${propertyKey(event.name)}: schemaFromJson(${access(`${schema}.events`, event.name)}),`,
  )
  const spec = [
    ...(model.description === undefined ? [] : [`  description: ${quote(model.description)},`]),
    ...(model.version === undefined ? [] : [`  version: ${quote(model.version)},`]),
    `  methods: {\n${methods.join('\n')}\n  },`,
    ...(events.length === 0 ? [] : [`  events: {\n${events.join('\n')}\n  },`]),
  ]
  return [
    `${header}/**
 * The \`${model.name}\` service, rebuilt from the JSON Schemas it had when
 * these stubs were generated.
 * @module
 */
${importLine(['defineService', 'schemaFromJson'], importFrom)}`,
    `/**
 * The schema fingerprint of \`${model.name}\` these stubs were generated from.
 * The client sends it in the handshake; a server whose schemas differ
 * answers with its own, and the client finds which of its methods break.
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
