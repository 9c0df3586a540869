/**
 * The pieces of JSON Schema that the subset check (schema-subset.ts) reads:
 * which keywords are annotations, canonical text of a schema, and views of
 * number bounds, arrays and objects that make the two sides comparable.
 * @module
 */

type Json = unknown
type Node = Record<string, Json>

// Keywords that say nothing about which values are valid.
const ANNOTATIONS = new Set('description title default examples $comment $id $schema deprecated readOnly writeOnly'.split(' '))
// Keys whose values are data, not schemas: never read as schemas.
const DATA_KEYS = new Set(['const', 'enum', 'required'])
/** Keywords the subset check understands; any other on the wide side must be matched verbatim. */
export const KNOWN = new Set(
  [
    'type properties required additionalProperties patternProperties minProperties maxProperties',
    'items prefixItems additionalItems minItems maxItems uniqueItems',
    'minimum maximum exclusiveMinimum exclusiveMaximum multipleOf minLength maxLength pattern format',
    'const enum anyOf oneOf allOf not x-mqrpc-binary minBytes maxBytes',
  ].flatMap((line) => line.split(' ')),
)
/** patternProperties keys that match every key (Type.Record(Type.String(), ...) writes `^.*$`). */
export const UNIVERSAL_PATTERNS = new Set(['', '.*', '^.*$', '^(.*)$'])

/** A JSON object (not an array, not null). */
export function isRecord(value: Json): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Whether a keyword is an annotation: descriptions, defaults and `x-` extensions other than the binary marker. */
export const isAnnotation = (key: string) => ANNOTATIONS.has(key) || (key.startsWith('x-') && key !== 'x-mqrpc-binary')

/** The node without annotations (one level; children are stripped when visited). */
export function strip(schema: Json): Json {
  if (!isRecord(schema)) return schema
  return Object.fromEntries(Object.entries(schema).filter(([key]) => !isAnnotation(key)))
}

/** Canonical text of a schema without annotations at any depth: equal text, equal meaning. */
export function schemaKey(schema: Json, data = false): string {
  if (Array.isArray(schema)) return `[${schema.map((item) => schemaKey(item, data)).join(',')}]`
  if (!isRecord(schema)) return JSON.stringify(schema) ?? 'null'
  const keys = Object.keys(schema)
    .filter((key) => data || !isAnnotation(key))
    .sort()
  return `{${keys.map((key) => `${JSON.stringify(key)}:${schemaKey(schema[key], data || DATA_KEYS.has(key))}`).join(',')}}`
}

/** Whether a schema accepts every value (`true`, `{}`, Type.Unknown(), Type.Any()). */
export function isAny(schema: Json): boolean {
  return schema === true || (isRecord(schema) && Object.keys(schema).every(isAnnotation))
}

/** Whether a schema accepts no value (`false`, Type.Never(), an empty enum or union). */
export function isNever(schema: Json): boolean {
  if (schema === false) return true
  if (!isRecord(schema)) return false
  return (
    (schema.not !== undefined && isAny(schema.not)) ||
    (Array.isArray(schema.enum) && schema.enum.length === 0) ||
    (Array.isArray(schema.anyOf) && schema.anyOf.length === 0)
  )
}

/** Whether a node is Binary(): a Uint8Array, checked by code, not by JSON keywords. */
export const isBinary = (schema: Node) => schema['x-mqrpc-binary'] === true

/** The node's `type` as a list; undefined when it names none. */
export function typesOf(schema: Node): string[] | undefined {
  if (typeof schema.type === 'string') return [schema.type]
  if (Array.isArray(schema.type)) return schema.type.filter((t): t is string => typeof t === 'string')
  return undefined
}

/** The value when it is a number. */
export const num = (value: Json): number | undefined => (typeof value === 'number' ? value : undefined)
/** A value as JSON text, for reasons. */
export const show = (value: Json) => JSON.stringify(value) ?? 'undefined'

/**
 * The schema with Binary() nodes made Never, for checking JSON literals: a
 * binary node has no JSON keywords (its Uint8Array test is code), and no JSON
 * literal is binary.
 */
export function literalSafe(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(literalSafe)
  if (!isRecord(schema)) return schema
  if (isBinary(schema)) return { not: {} }
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, DATA_KEYS.has(k) ? v : literalSafe(v)]))
}

// Whether a patternProperties key matches a property name.
function matches(pattern: string, key: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(key)
  } catch {
    return true // An unreadable pattern may match: assume it does.
  }
}

/** One end of a number range. */
export interface Bound {
  readonly value: number
  readonly exclusive: boolean
}

/**
 * The tighter of minimum and exclusiveMinimum (or of the maxima); for an
 * integer made inclusive, so that `> 0` and `>= 1` compare equal.
 */
export function bound(schema: Node, side: 'lower' | 'upper', integer: boolean): Bound | undefined {
  const lower = side === 'lower'
  const inclusive = num(lower ? schema.minimum : schema.maximum)
  const exclusive = num(lower ? schema.exclusiveMinimum : schema.exclusiveMaximum)
  const candidates: Bound[] = []
  if (inclusive !== undefined) candidates.push({ value: inclusive, exclusive: false })
  if (exclusive !== undefined) candidates.push({ value: exclusive, exclusive: true })
  const normal = candidates.map((b) => {
    if (!integer) return b
    if (lower) return { value: b.exclusive ? Math.floor(b.value) + 1 : Math.ceil(b.value), exclusive: false }
    return { value: b.exclusive ? Math.ceil(b.value) - 1 : Math.floor(b.value), exclusive: false }
  })
  const tighter = (a: Bound, b: Bound) =>
    a.value === b.value ? (a.exclusive ? a : b) : (lower ? a.value > b.value : a.value < b.value) ? a : b
  return normal.reduce<Bound | undefined>((best, b) => (best === undefined ? b : tighter(best, b)), undefined)
}

/** Whether every multiple of `value` is a multiple of `step`. */
export function isMultiple(value: number, step: number): boolean {
  const ratio = value / step
  return Math.abs(ratio - Math.round(ratio)) < 1e-9 && Math.round(ratio) !== 0
}

/** An array or tuple schema, whichever keywords (items/additionalItems or prefixItems/items) wrote it. */
export interface ArrayView {
  readonly prefix: readonly Json[]
  /** Schema of items after the prefix; false when there may be none. */
  readonly rest: Json
  readonly min: number
  readonly max: number
}

/** The {@link ArrayView} of an array schema; absent items means any item. */
export function arrayView(schema: Node): ArrayView {
  const min = num(schema.minItems) ?? 0
  const max = num(schema.maxItems) ?? Infinity
  if (Array.isArray(schema.prefixItems)) return { prefix: schema.prefixItems, rest: schema.items ?? true, min, max }
  if (Array.isArray(schema.items)) return { prefix: schema.items, rest: schema.additionalItems ?? true, min, max }
  return { prefix: [], rest: schema.items ?? true, min, max }
}

/** An object schema's named properties, required names, patterns and additionalProperties. */
export interface ObjectView {
  readonly properties: Readonly<Record<string, Json>>
  readonly required: ReadonlySet<string>
  readonly patterns: readonly [string, Json][]
  /** additionalProperties; undefined when absent. */
  readonly additional: Json
}

/** The {@link ObjectView} of an object schema. */
export function objectView(schema: Node): ObjectView {
  return {
    properties: isRecord(schema.properties) ? schema.properties : {},
    required: new Set(Array.isArray(schema.required) ? schema.required.filter((k) => typeof k === 'string') : []),
    patterns: isRecord(schema.patternProperties) ? Object.entries(schema.patternProperties) : [],
    additional: schema.additionalProperties,
  }
}

/** The schemas the wide side checks key `name` with, or false when it refuses the key. */
export function wideChecksFor(wide: ObjectView, name: string): Json[] | false {
  const checks: Json[] = []
  if (name in wide.properties) checks.push(wide.properties[name])
  for (const [pattern, schema] of wide.patterns) if (matches(pattern, name)) checks.push(schema)
  if (checks.length > 0) return checks
  if (wide.additional === false) return false
  return wide.additional === undefined || wide.additional === true ? [] : [wide.additional]
}

/** What the narrow side may send under key `name` without naming it (absent additionalProperties sends nothing). */
export function narrowSourcesFor(narrow: ObjectView, name: string): Json[] {
  const sources = narrow.patterns.filter(([pattern]) => matches(pattern, name)).map(([, schema]) => schema)
  if (sources.length > 0) return sources
  return narrow.additional === undefined || narrow.additional === false ? [] : [narrow.additional]
}
