/**
 * Emits `<service>/handlers.ts`: the interface a server implements, and
 * `serve<Service>(handlers, options)`.
 * @module
 */
import { methodDocLines, typeImports } from './emit-client.js'
import { describe } from './emit-service.js'
import { docComment, importLine, propertyKey } from './format.js'
import type { ServiceModel } from './service-model.js'

/** The source of handlers.ts for one service. */
export function emitHandlers(model: ServiceModel, header: string, importFrom: string): string {
  const { names } = model
  const types = typeImports(model, 'handlers')
  const members = model.methods.map((method) => {
    const output = method.outputType ?? 'void'
    const streamed = method.stream === 'client' || method.stream === 'bidi'
    const params = streamed
      ? `inputs: AsyncIterable<${method.inputType}>, ctx: CallContext`
      : `input: ${method.inputType}, ctx: CallContext`
    const result =
      method.stream === 'server' || method.stream === 'bidi' ? `AsyncIterable<${output}>` : `${output} | Promise<${output}>`
    return `${docComment(methodDocLines(method), '  ')}  ${method.name}(${params}): ${result}\n`
  })
  const bindings = model.methods.map((method) => {
    const streamed = method.stream === 'client' || method.stream === 'bidi'
    const cast = streamed ? `AsyncIterable<${method.inputType}>` : method.inputType
    return `      ${propertyKey(method.name)}: (input, ctx) => handlers.${method.name}(input as ${cast}, ctx),`
  })
  return `${header}/**
 * What a \`${model.name}\` server implements, and \`${names.serve}(handlers, options)\` to run it.
 * @module
 */
${importLine(['type CallContext', 'createServer', 'type Server', 'type ServerOptions'], importFrom)}${importLine([names.service], './service.js')}${importLine(types, './types.js', true)}
export type * from './types.js'

${docComment(
  describe(
    model,
    `The handlers of \`${model.name}\`, one per method. \`ctx\` tells who calls (peer uid, gid,`,
    'pid), the deadline, and the signal that aborts when the caller gives up.',
  ),
  '',
)}export interface ${names.handlers} {
${members.join('\n')}}

/** A running \`${model.name}\` server, with \`emit\` typed by the service's events. */
export type ${names.server} = Omit<Server<typeof ${names.service}>, 'emit'> & {
  /** Pushes an event to every connected client; the payload is checked against its schema first. */
  emit<E extends keyof ${names.eventMap}>(event: E, payload: ${names.eventMap}[E]): void
}

/**
 * Starts a \`${model.name}\` server on \`options.queue\` (and its urgent lane),
 * taking over a stale queue left by a crashed server.
 */
export async function ${names.serve}(handlers: ${names.handlers}, options: ServerOptions): Promise<${names.server}> {
  const server = await createServer(
    ${names.service},
    {
${bindings.join('\n')}
    },
    options,
  )
  // ${names.service} is rebuilt from JSON, so its own event types are loose; ${names.server} types them.
  return server as unknown as ${names.server}
}
`
}
