/**
 * A JSON Schema in one short line that reads like a TypeScript type, for
 * `mqrpc describe`: `{ a: number; b?: string[] }`. Integers stay `integer`
 * and string formats show as `string<email>`, since the reader is choosing
 * what to type; the full schema is printed beside it.
 * @module
 */

type Node = Record<string, unknown>

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value)
const KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/

function union(parts: string[]): string {
  const unique = [...new Set(parts)]
  return unique.length === 0 ? 'never' : unique.join(' | ')
}

function element(text: string): string {
  return /[|&]/.test(text) && !text.startsWith('{') ? `(${text})` : text
}

function primitive(type: string, node: Node): string {
  switch (type) {
    case 'string':
      return typeof node.format === 'string' ? `string<${node.format}>` : 'string'
    case 'integer':
    case 'number':
    case 'boolean':
    case 'null':
      return type
    case 'array':
      return arrayText(node)
    case 'object':
      return objectText(node)
    default:
      return 'unknown'
  }
}

function arrayText(node: Node): string {
  // A tuple: `prefixItems` in JSON Schema 2020-12, an `items` array before it (TypeBox writes the latter).
  if (Array.isArray(node.prefixItems)) return `[${node.prefixItems.map(schemaText).join(', ')}]`
  if (Array.isArray(node.items)) return `[${node.items.map(schemaText).join(', ')}]`
  return `${element(node.items === undefined ? 'unknown' : schemaText(node.items))}[]`
}

function objectText(node: Node): string {
  const properties = isNode(node.properties) ? node.properties : {}
  const required = new Set(Array.isArray(node.required) ? node.required : [])
  const fields = Object.entries(properties).map(([key, value]) => {
    const name = KEY.test(key) ? key : JSON.stringify(key)
    return `${name}${required.has(key) ? '' : '?'}: ${schemaText(value)}`
  })
  const patterns = isNode(node.patternProperties) ? Object.values(node.patternProperties) : []
  const rest = isNode(node.additionalProperties) ? [node.additionalProperties] : []
  const values = [...patterns, ...rest].map(schemaText)
  if (fields.length === 0 && values.length > 0) return `Record<string, ${union(values)}>`
  if (values.length > 0) fields.push(`[key: string]: ${union(values)}`)
  return fields.length === 0 ? '{}' : `{ ${fields.join('; ')} }`
}

/** The schema as a short type expression. */
export function schemaText(schema: unknown): string {
  if (schema === true || (isNode(schema) && Object.keys(schema).length === 0)) return 'unknown'
  if (!isNode(schema)) return 'never'
  if (schema['x-mqrpc-binary'] === true) return 'Uint8Array'
  if ('const' in schema) return JSON.stringify(schema.const)
  if (Array.isArray(schema.enum)) return union(schema.enum.map((value) => JSON.stringify(value)))
  if (Array.isArray(schema.anyOf)) return union(schema.anyOf.map(schemaText))
  if (Array.isArray(schema.oneOf)) return union(schema.oneOf.map(schemaText))
  if (Array.isArray(schema.allOf)) return schema.allOf.map((part) => element(schemaText(part))).join(' & ')
  if (typeof schema.$ref === 'string') return schema.$ref.replace(/^.*\//, '')
  if (Array.isArray(schema.type)) return union(schema.type.map((type) => primitive(String(type), schema)))
  if (typeof schema.type === 'string') return primitive(schema.type, schema)
  if (isNode(schema.properties)) return objectText(schema)
  return 'unknown'
}
