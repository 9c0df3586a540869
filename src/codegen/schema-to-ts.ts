/**
 * JSON Schema (as TypeBox writes it) to TypeScript type text that a person
 * reads in review: object types with one property per line, each with its
 * description, format and constraints as a doc comment.
 * @module
 */
import { docComment, propertyKey, quote } from './format.js'

type Json = unknown
type SchemaNode = Record<string, Json>

/** Thrown for a schema the generator cannot write as a type. */
export class SchemaTypeError extends Error {
  override name = 'SchemaTypeError'
}

function isRecord(value: Json): value is SchemaNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Whether a schema node is mqrpc's Binary(): a Uint8Array. */
export function isBinaryNode(node: Json): boolean {
  return isRecord(node) && node['x-mqrpc-binary'] === true
}

/** Keywords worth telling a reader that a TypeScript type cannot express, in this order. */
const CONSTRAINTS = [
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'minBytes',
  'maxBytes',
  'default',
] as const

/** Doc comment lines of a schema: its description, then `@integer`, `@format`, `@minimum` and the like. */
export function schemaDocLines(schema: Json, lead: readonly string[] = []): string[] {
  const lines = [...lead]
  if (!isRecord(schema)) return lines
  if (typeof schema.description === 'string' && schema.description !== '') lines.unshift(schema.description)
  const tags: string[] = []
  if (schema.type === 'integer') tags.push('@integer')
  const tuple = Array.isArray(schema.items) || Array.isArray(schema.prefixItems)
  for (const key of CONSTRAINTS) {
    if (key === 'format' && isBinaryNode(schema)) continue
    // A tuple type says how many items it has.
    if (tuple && (key === 'minItems' || key === 'maxItems')) continue
    if (schema[key] !== undefined)
      tags.push(`@${key} ${typeof schema[key] === 'string' ? schema[key] : JSON.stringify(schema[key])}`)
  }
  if (isRecord(schema.patternProperties)) {
    for (const pattern of Object.keys(schema.patternProperties)) if (pattern !== '^.*$') tags.push(`@keys ${pattern}`)
  }
  if (tags.length > 0 && lines.length > 0) lines.push('')
  return [...lines, ...tags]
}

/** A literal value as a type: `'a'`, `1`, `true`, `null`, or an object or tuple of literals. */
function literalType(value: Json, indent: string): string {
  if (typeof value === 'string') return quote(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value)
  if (Array.isArray(value)) return `readonly [${value.map((item) => literalType(item, indent)).join(', ')}]`
  if (isRecord(value)) {
    const entries = Object.keys(value).map((key) => `${propertyKey(key)}: ${literalType(value[key], indent)}`)
    return entries.length === 0 ? 'Record<string, never>' : `{ ${entries.join('; ')} }`
  }
  throw new SchemaTypeError(`a const or enum value of type ${typeof value} has no TypeScript literal`)
}

const NULLISH = new Set(['null', 'undefined', 'void'])

/**
 * Members of a union, each once, in first-seen order. A union with members
 * over several lines is written the way Biome and Prettier write it, one
 * `| member` per line, starting on a line of its own (the text then starts
 * with a newline, which the caller's `key:` or `type X =` allows for);
 * except one object type with only null or undefined beside it, which stays
 * hugged: `{ ... } | null`. `bars` false keeps every union on one line.
 */
function union(types: readonly string[], indent: string, bars: boolean): string {
  const unique = [...new Set(types)]
  if (unique.length === 0) return 'never'
  if (unique.includes('unknown')) return 'unknown'
  if (!bars || !unique.some((type) => type.includes('\n'))) return unique.join(' | ')
  const others = unique.filter((type) => !NULLISH.has(type))
  if (others.length === 1 && others[0]?.startsWith('{')) return unique.join(' | ')
  return unique.map((type) => `\n${indent}  | ${type.replaceAll('\n', '\n    ')}`).join('')
}

/** `key: type` or `type X = type`, where a broken union starts on the next line. */
export function after(head: string, type: string): string {
  return type.startsWith('\n') ? `${head}${type}` : `${head} ${type}`
}

function needsParens(type: string): boolean {
  // A top-level `|` or `&` (outside braces, brackets and angle brackets).
  let depth = 0
  for (const char of type) {
    if (char === '{' || char === '[' || char === '(' || char === '<') depth++
    else if (char === '}' || char === ']' || char === ')' || char === '>') depth--
    else if (depth === 0 && (char === '|' || char === '&')) return true
  }
  return false
}

function arrayOf(item: string, indent: string): string {
  if (item.startsWith('\n')) return `Array<${item}\n${indent}>`
  return /^[A-Za-z0-9_.<>,]+$/.test(item) ? `${item}[]` : `Array<${item}>`
}

function tupleType(items: readonly Json[], schema: SchemaNode, indent: string, path: string): string {
  const required = typeof schema.minItems === 'number' ? schema.minItems : items.length
  const elements = items.map((item, i) => {
    const type = toType(item, indent, `${path}/${i}`, false)
    return i < required ? type : `${needsParens(type) ? `(${type})` : type}?`
  })
  // The rest: closed unless the schema allows more items.
  const rest = schema.additionalItems ?? (Array.isArray(schema.prefixItems) ? schema.items : undefined)
  if (rest !== undefined && rest !== false && typeof schema.maxItems !== 'number') {
    elements.push(`...${arrayOf(rest === true ? 'unknown' : toType(rest, indent, `${path}/rest`, false), indent)}`)
  }
  return `[${elements.join(', ')}]`
}

function objectType(schema: SchemaNode, indent: string, path: string): string {
  const properties = isRecord(schema.properties) ? schema.properties : {}
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((key) => typeof key === 'string') : [])
  // Values of keys beyond the named ones: patternProperties and additionalProperties.
  const extra: string[] = []
  const patterns = isRecord(schema.patternProperties) ? schema.patternProperties : {}
  for (const [pattern, value] of Object.entries(patterns))
    extra.push(toType(value, indent, `${path}/patternProperties/${pattern}`, false))
  const additional = schema.additionalProperties
  if (additional === true) extra.push('unknown')
  else if (isRecord(additional)) extra.push(toType(additional, indent, `${path}/additionalProperties`, false))

  const names = Object.keys(properties)
  if (names.length === 0) {
    if (extra.length > 0) return `Record<string, ${union(extra, indent, false)}>`
    return 'Record<string, never>'
  }
  const inner = `${indent}  `
  const members: string[] = []
  const memberTypes: string[] = []
  let anyOptional = false
  for (const name of names) {
    const value = properties[name]
    const optional = !required.has(name)
    anyOptional ||= optional
    const type = toType(value, inner, `${path}/${name}`)
    memberTypes.push(type)
    members.push(
      `${docComment(schemaDocLines(value), inner)}${after(`${inner}${propertyKey(name)}${optional ? '?' : ''}:`, type)}`,
    )
  }
  if (extra.length > 0) {
    // An index signature must admit every named property's type too.
    const index = union([...extra, ...memberTypes, ...(anyOptional ? ['undefined'] : [])], inner, true)
    members.push(after(`${inner}[key: string]:`, index))
  }
  return `{\n${members.join('\n')}\n${indent}}`
}

function typeOfKind(kind: string, schema: SchemaNode, indent: string, path: string): string {
  switch (kind) {
    case 'string':
      return 'string'
    case 'number':
    case 'integer':
      return 'number'
    case 'boolean':
      return 'boolean'
    case 'null':
      return 'null'
    case 'undefined':
      return 'undefined'
    case 'void':
      return 'void'
    case 'bigint':
      return 'bigint'
    case 'symbol':
      return 'symbol'
    case 'object':
      return objectType(schema, indent, path)
    case 'array': {
      if (Array.isArray(schema.prefixItems)) return tupleType(schema.prefixItems, schema, indent, path)
      if (Array.isArray(schema.items)) return tupleType(schema.items, schema, indent, path)
      if (schema.items === undefined || schema.items === true) return 'unknown[]'
      return arrayOf(toType(schema.items, indent, `${path}/items`), indent)
    }
    default:
      throw new SchemaTypeError(`${path || '/'}: unknown JSON Schema type '${kind}'`)
  }
}

/**
 * The TypeScript type of a JSON Schema. `indent` is the indentation of the
 * line the type starts on; nested object types are indented from it.
 * `path` names the schema in errors.
 */
export function toType(schema: Json, indent = '', path = '', bars = true): string {
  if (schema === true) return 'unknown'
  if (schema === false) return 'never'
  if (!isRecord(schema)) throw new SchemaTypeError(`${path || '/'}: a schema must be an object, got ${JSON.stringify(schema)}`)
  if (isBinaryNode(schema)) return 'Uint8Array'
  if (typeof schema.$ref === 'string' || isRecord(schema.$defs)) {
    throw new SchemaTypeError(
      `${path || '/'}: references ($ref, Type.Ref, Type.Cyclic) are not supported by mqrpc generate; inline the schema`,
    )
  }
  if ('const' in schema) return literalType(schema.const, indent)
  if (Array.isArray(schema.enum))
    return union(
      schema.enum.map((value) => literalType(value, indent)),
      indent,
      bars,
    )
  const variants = Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : undefined
  if (variants !== undefined) {
    return union(
      variants.map((variant, i) => toType(variant, indent, `${path}/anyOf/${i}`, false)),
      indent,
      bars,
    )
  }
  if (Array.isArray(schema.allOf)) {
    const parts = schema.allOf.map((part, i) => toType(part, indent, `${path}/allOf/${i}`, false))
    return parts.map((part) => (needsParens(part) ? `(${part})` : part)).join(' & ')
  }
  if (isRecord(schema.not)) {
    // Type.Never is `{ not: {} }`; any other negation is beyond TypeScript.
    return Object.keys(schema.not).length === 0 ? 'never' : 'unknown'
  }
  if (Array.isArray(schema.type)) {
    return union(
      schema.type.map((kind) => typeOfKind(String(kind), schema, indent, path)),
      indent,
      bars,
    )
  }
  if (typeof schema.type === 'string') return typeOfKind(schema.type, schema, indent, path)
  // Type.Unknown() and Type.Any() are both `{}`: accept anything.
  return 'unknown'
}

/** Whether the type of a schema is an object type with named properties (written as an interface). */
export function isInterfaceSchema(schema: Json): boolean {
  return (
    isRecord(schema) &&
    schema.type === 'object' &&
    !isBinaryNode(schema) &&
    isRecord(schema.properties) &&
    Object.keys(schema.properties).length > 0 &&
    schema.patternProperties === undefined &&
    (schema.additionalProperties === undefined || schema.additionalProperties === false) &&
    schema.anyOf === undefined &&
    schema.oneOf === undefined &&
    schema.allOf === undefined &&
    schema.const === undefined &&
    schema.enum === undefined
  )
}
