/**
 * Emits `<service>/client.ts`: a typed client class with one method per
 * service method, typed events, and `connect<Service>(options)`.
 * @module
 */

import { describe } from './emit-service.js'
import { docComment, importLine, propertyKey, quote } from './format.js'
import { schemaDocLines } from './schema-to-ts.js'
import type { MethodModel, ServiceModel } from './service-model.js'

const STREAM_NOTES = {
  server: 'Server stream: the server yields any number of outputs; `break` cancels the call.',
  client: 'Client stream: the caller passes any number of inputs; the server answers once.',
  bidi: 'Bidirectional stream: inputs and outputs flow both ways at once.',
} as const

/** The parameter list and result type of a client method, by its stream kind. */
export function clientSignature(method: MethodModel): { params: string; result: string } {
  const output = method.outputType ?? 'void'
  const inputs = `inputs: AsyncIterable<${method.inputType}> | Iterable<${method.inputType}>, options?: CallOptions`
  switch (method.stream) {
    case 'server':
      return { params: `input: ${method.inputType}, options?: CallOptions`, result: `AsyncIterable<${output}>` }
    case 'client':
      return { params: inputs, result: `Promise<${output}>` }
    case 'bidi':
      return { params: inputs, result: `AsyncIterable<${output}>` }
    default:
      return { params: `input: ${method.inputType}, options?: CallOptions`, result: `Promise<${output}>` }
  }
}

/** Doc lines of a method: its description, then how it travels. */
export function methodDocLines(method: MethodModel): string[] {
  const lines = method.description === undefined ? [] : [method.description]
  const notes: string[] = []
  if (method.priority === 'urgent') notes.push("Urgent: goes through the service's urgent lane, ahead of bulk work.")
  if (method.oneWay) notes.push('One-way: the server sends no reply.')
  if (method.stream !== undefined) notes.push(STREAM_NOTES[method.stream])
  if (lines.length > 0 && notes.length > 0) lines.push('')
  return [...lines, ...notes]
}

/** Type names the client (event payloads) or handler module (event map) uses from types.ts, sorted. */
export function typeImports(model: ServiceModel, side: 'client' | 'handlers'): string[] {
  const names = new Set<string>()
  for (const method of model.methods) {
    names.add(method.inputType)
    if (method.outputType !== undefined) names.add(method.outputType)
  }
  if (side === 'client') for (const event of model.events) names.add(event.payloadType)
  else names.add(model.names.eventMap)
  return [...names].sort()
}

const LIFECYCLE = `  /** The first handshake finished. */
  connect: []
  /** The session was lost (server gone, restarted or shut down); calls in flight failed with UNAVAILABLE. */
  disconnect: [reason: RpcError]
  /** A new session was made after a disconnect. */
  reconnect: []
  /**
   * The server's schema breaks some of this client's methods (named in the
   * error and \`incompatibleMethods\`): calls to those fail with
   * FAILED_PRECONDITION, the others work.
   */
  incompatible: [error: RpcError]
  /** Something went wrong that no call will report (a forged or malformed frame, a bad event). */
  error: [error: Error]
`

/** The source of client.ts for one service. */
export function emitClient(model: ServiceModel, header: string, importFrom: string): string {
  const { names } = model
  const serviceType = `Client<typeof ${names.service}>`
  const types = typeImports(model, 'client')
  const eventLines = model.events
    .map(
      (event) =>
        `${docComment(schemaDocLines(event.schema, ['Pushed by the server.']), '  ')}  ${propertyKey(event.name)}: [payload: ${event.payloadType}]\n`,
    )
    .join('')
  const methods = model.methods.map((method) => {
    const { params, result } = clientSignature(method)
    const argument = method.stream === 'client' || method.stream === 'bidi' ? 'inputs' : 'input'
    const verb = method.stream === undefined ? 'call' : 'stream'
    return `${docComment(methodDocLines(method), '  ')}  ${method.name}(${params}): ${result} {
    return this.$client.${verb}(${quote(method.name)}, ${argument}, options) as ${result}
  }
`
  })
  const listener = (verb: string, doc: string) => `  /** ${doc} */
  ${verb}<E extends keyof ${names.clientEvents}>(event: E, listener: (...args: ${names.clientEvents}[E]) => void): this {
    this.$client.${verb}(event, listener as never)
    return this
  }
`
  return `${header}/**
 * A typed client of the \`${model.name}\` service: \`${names.connect}(options)\` makes one.
 * @module
 */
${importLine(['type CallOptions', 'type Client', 'type ClientOptions', 'type ClientState', 'createClient', 'type RpcError'], importFrom)}${importLine([names.fingerprint, names.service], './service.js')}${importLine(types, './types.js', true)}
export type * from './types.js'

/** Events of a \`${model.name}\` client: the service's own, and lifecycle events. */
export interface ${names.clientEvents} {
${eventLines}${LIFECYCLE}}

${docComment(describe(model, `A typed client of \`${model.name}\`; make one with {@link ${names.connect}}.`), '')}export class ${names.client} {
  /** The client underneath: \`call()\` by name, and the built-ins \`$describe\` and \`$stats\`. */
  readonly $client: ${serviceType}

  constructor(client: ${serviceType}) {
    this.$client = client
  }

  /** Where the client stands: 'connecting', 'open', 'draining', 'disconnected' or 'closed'. */
  get state(): ClientState {
    return this.$client.state
  }

  /** The name of this client's private reply queue. */
  get replyQueue(): string {
    return this.$client.replyQueue
  }

  /** Methods the server's schema breaks for these stubs (empty when the schemas agree), with what differs. */
  get incompatibleMethods(): ReadonlyMap<string, string> {
    return this.$client.incompatibleMethods
  }

${methods.join('\n')}
${listener('on', 'Listens for an event of the service or of the connection.')}
${listener('once', 'Listens for the next time an event happens.')}
${listener('off', 'Stops listening.')}
  /** Tells the server goodbye and removes the reply queue; calls still waiting fail with CANCELLED. */
  close(): Promise<void> {
    return this.$client.close()
  }
}

/**
 * Connects to a \`${model.name}\` server on \`options.queue\`. The client sends
 * the fingerprint of the schemas these stubs were generated from; a server
 * with other schemas still lets it in, and the methods its schema breaks fail
 * with FAILED_PRECONDITION (see \`incompatibleMethods\` and the
 * \`incompatible\` event) while the others work.
 */
export async function ${names.connect}(options: ClientOptions): Promise<${names.client}> {
  return new ${names.client}(await createClient(${names.service}, { fingerprint: ${names.fingerprint}, ...options }))
}
`
}
