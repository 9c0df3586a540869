/**
 * Text helpers of the generator: names, string literals, doc comments, and
 * a printer of JSON values as TypeScript literals. Everything here is
 * deterministic, so that the same schemas always give the same bytes.
 * @module
 */

/** Columns a printed literal may take before it is broken over lines. */
export const LINE_WIDTH = 130

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** Words of a name: `kitchen-sink.v2` and `kitchenSinkV2` both give kitchen, sink, v2. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word !== '')
}

/** `kitchen-sink` -> `KitchenSink`, `getUser` -> `GetUser`. */
export function pascalCase(name: string): string {
  const pascal = words(name)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('')
  // An identifier may not start with a digit.
  return /^[0-9]/.test(pascal) ? `_${pascal}` : pascal
}

/** `kitchen-sink` -> `kitchenSink`. */
export function camelCase(name: string): string {
  const pascal = pascalCase(name)
  return pascal.charAt(0).toLowerCase() + pascal.slice(1)
}

/** A single-quoted TypeScript string literal. */
export function quote(text: string): string {
  let out = "'"
  for (const char of text) {
    const code = char.codePointAt(0) as number
    if (char === "'" || char === '\\') out += `\\${char}`
    else if (char === '\n') out += '\\n'
    else if (char === '\r') out += '\\r'
    else if (char === '\t') out += '\\t'
    else if (code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029) {
      out += `\\u${code.toString(16).padStart(4, '0')}`
    } else out += char
  }
  return `${out}'`
}

/** A property key as written in an object literal or type: bare when it is an identifier. */
export function propertyKey(key: string): string {
  return IDENTIFIER.test(key) ? key : quote(key)
}

/** Whether `name` can be written as a bare identifier. */
export function isIdentifier(name: string): boolean {
  return IDENTIFIER.test(name)
}

/** A doc comment of `lines` at `indent`, or '' when there is nothing to say. */
export function docComment(lines: readonly string[], indent: string): string {
  // `*/` inside a description would end the comment early.
  const body = lines.flatMap((line) => line.split('\n')).map((line) => line.replaceAll('*/', '*\\/').trimEnd())
  while (body.length > 0 && body.at(-1) === '') body.pop()
  if (body.length === 0) return ''
  if (body.length === 1) return `${indent}/** ${body[0]} */\n`
  return `${indent}/**\n${body.map((line) => (line === '' ? `${indent} *` : `${indent} * ${line}`)).join('\n')}\n${indent} */\n`
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A JSON scalar as TypeScript source. */
function scalar(value: unknown): string {
  if (typeof value === 'string') return quote(value)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot write ${value} into generated code: JSON has no such number`)
    return Object.is(value, -0) ? '0' : String(value)
  }
  if (typeof value === 'boolean' || value === null) return String(value)
  throw new TypeError(`cannot write a ${typeof value} into generated code: schemas must be JSON`)
}

/**
 * A JSON value as a TypeScript literal, laid out as Biome and Prettier lay
 * it out: keys sorted, 2-space indent, trailing commas, and an object or
 * array on one line when it fits in the line (`column` characters come
 * before it, `suffix` after); an array of two or more objects (or arrays)
 * of two or more entries each is always broken.
 */
export function printLiteral(value: unknown, indent = '', column = indent.length, suffix = 0): string {
  if (!Array.isArray(value) && !isRecord(value)) return scalar(value)
  const flat = flatLiteral(value)
  if (flat !== undefined && column + flat.length + suffix <= LINE_WIDTH) return flat
  const inner = `${indent}  `
  if (Array.isArray(value)) {
    const items = value.map((item) => `${inner}${printLiteral(item, inner, inner.length, 1)},`)
    return `[\n${items.join('\n')}\n${indent}]`
  }
  const entries = Object.keys(value)
    .sort()
    .map((key) => {
      const head = `${inner}${propertyKey(key)}: `
      return `${head}${printLiteral(value[key], inner, head.length, 1)},`
    })
  return `{\n${entries.join('\n')}\n${indent}}`
}

function entryCount(value: unknown): number {
  if (Array.isArray(value)) return value.length
  return isRecord(value) ? Object.keys(value).length : 0
}

/** Prettier's rule: `[{ a, b }, { c, d }]` is never put on one line. */
function alwaysBroken(items: readonly unknown[]): boolean {
  if (items.length < 2) return false
  const kind = (item: unknown) => (Array.isArray(item) ? 'array' : isRecord(item) ? 'object' : 'scalar')
  const first = kind(items[0])
  return first !== 'scalar' && items.every((item) => kind(item) === first && entryCount(item) > 1)
}

/** The one-line form of a literal, or undefined when it cannot be one line. */
function flatLiteral(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    if (alwaysBroken(value)) return undefined
    const items: string[] = []
    for (const item of value) {
      const flat = flatLiteral(item)
      if (flat === undefined) return undefined
      items.push(flat)
    }
    const text = `[${items.join(', ')}]`
    return text.length <= LINE_WIDTH ? text : undefined
  }
  if (isRecord(value)) {
    const keys = Object.keys(value).sort()
    if (keys.length === 0) return '{}'
    const entries: string[] = []
    for (const key of keys) {
      const flat = flatLiteral(value[key])
      if (flat === undefined) return undefined
      entries.push(`${propertyKey(key)}: ${flat}`)
    }
    const text = `{ ${entries.join(', ')} }`
    return text.length <= LINE_WIDTH ? text : undefined
  }
  return scalar(value)
}

/** An import statement (with its newline), broken over lines when long; '' when nothing is imported. */
export function importLine(names: readonly string[], from: string, typeOnly = false): string {
  if (names.length === 0) return ''
  const head = typeOnly ? 'import type' : 'import'
  const flat = `${head} { ${names.join(', ')} } from ${quote(from)}`
  if (flat.length <= LINE_WIDTH) return `${flat}\n`
  return `${head} {\n${names.map((name) => `  ${name},\n`).join('')}} from ${quote(from)}\n`
}
