/**
 * Structure-aware fuzzing from schemas: fast-check arbitraries generated
 * from a method's TypeBox schema (read as the JSON Schema it is), the way
 * Mojo generates fuzzers from its IDL.
 *
 * - arbitraryFromSchema(schema): values the schema accepts;
 * - invalidFromSchema(schema): values it rejects, each with the JSON pointer
 *   of the place that was broken (a wrong type, a bound crossed, a required
 *   property removed, an item too many, a union matched by no branch...).
 *
 * Kinds covered: object (required and optional properties,
 * additionalProperties false), array (minItems, maxItems), tuple, anyOf
 * (unions), const (literals), enum, integer and number (minimum, maximum,
 * exclusive bounds, multipleOf is not), string (minLength, maxLength, in
 * code points as TypeBox counts them), boolean, null, and mqrpc's Binary
 * (x-mqrpc-binary with minBytes, maxBytes). Anything else throws: a schema
 * the fuzzer does not understand must not be fuzzed silently.
 * @module
 */
import fc from 'fast-check'
import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'

/** The JSON Schema keywords read here. */
interface Schema {
  readonly type?: string
  readonly properties?: Readonly<Record<string, Schema>>
  readonly required?: readonly string[]
  readonly additionalProperties?: boolean | Schema
  readonly items?: Schema | readonly Schema[]
  readonly additionalItems?: boolean
  readonly minItems?: number
  readonly maxItems?: number
  readonly anyOf?: readonly Schema[]
  readonly const?: unknown
  readonly enum?: readonly unknown[]
  readonly minimum?: number
  readonly maximum?: number
  readonly exclusiveMinimum?: number
  readonly exclusiveMaximum?: number
  readonly minLength?: number
  readonly maxLength?: number
  readonly minBytes?: number
  readonly maxBytes?: number
  readonly 'x-mqrpc-binary'?: boolean
}

/** Caps that keep generated values small: a few hundred calls must not move megabytes. */
const MAX_ARRAY = 6
const MAX_STRING = 40
const MAX_BYTES = 300

type Kind =
  | 'object'
  | 'tuple'
  | 'array'
  | 'union'
  | 'const'
  | 'enum'
  | 'integer'
  | 'number'
  | 'string'
  | 'boolean'
  | 'null'
  | 'binary'

function kindOf(s: Schema): Kind {
  if (s['x-mqrpc-binary'] === true) return 'binary'
  if (s.anyOf !== undefined) return 'union'
  if (s.const !== undefined) return 'const'
  if (s.enum !== undefined) return 'enum'
  if (s.type === 'array') return Array.isArray(s.items) ? 'tuple' : 'array'
  switch (s.type) {
    case 'object':
    case 'integer':
    case 'number':
    case 'string':
    case 'boolean':
    case 'null':
      return s.type
  }
  throw new Error(`arbitraryFromSchema: unsupported schema ${JSON.stringify(s)}`)
}

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1')
const child = (path: string, key: string | number) => `${path}/${escapePointer(String(key))}`

/** Bounds of a numeric schema, as an inclusive range within what JSON numbers carry exactly. */
function range(s: Schema, integer: boolean): { min: number; max: number } {
  let min = s.minimum ?? (integer ? Number.MIN_SAFE_INTEGER : -1e12)
  let max = s.maximum ?? (integer ? Number.MAX_SAFE_INTEGER : 1e12)
  if (s.exclusiveMinimum !== undefined) min = integer ? Math.floor(s.exclusiveMinimum) + 1 : s.exclusiveMinimum + 1e-6
  if (s.exclusiveMaximum !== undefined) max = integer ? Math.ceil(s.exclusiveMaximum) - 1 : s.exclusiveMaximum - 1e-6
  return { min, max }
}

/** Values the schema accepts. */
export function arbitraryFromSchema(schema: TSchema): fc.Arbitrary<unknown> {
  return valid(schema as Schema)
}

function valid(s: Schema): fc.Arbitrary<unknown> {
  switch (kindOf(s)) {
    case 'binary': {
      const min = s.minBytes ?? 0
      return fc.uint8Array({ minLength: min, maxLength: Math.max(min, Math.min(s.maxBytes ?? MAX_BYTES, MAX_BYTES)) })
    }
    case 'union':
      return fc.oneof(...(s.anyOf as Schema[]).map(valid))
    case 'const':
      return fc.constant(s.const)
    case 'enum':
      return fc.constantFrom(...(s.enum as unknown[]))
    case 'integer': {
      const { min, max } = range(s, true)
      // Small values mostly, the bounds and the extremes sometimes.
      return fc.oneof(
        {
          weight: 3,
          arbitrary: fc.integer({ min: Math.max(min, -1000), max: Math.max(Math.max(min, -1000), Math.min(max, 1000)) }),
        },
        { weight: 1, arbitrary: fc.constantFrom(min, max) },
        { weight: 1, arbitrary: fc.integer({ min, max }) },
      )
    }
    case 'number': {
      const { min, max } = range(s, false)
      return fc
        .oneof(
          fc.double({ min, max, noNaN: true, noDefaultInfinity: true }),
          fc.constantFrom(min, max),
          fc.integer({ min: -100, max: 100 }),
        )
        .filter((n) => n >= min && n <= max)
        .map((n) => (Object.is(n, -0) ? 0 : n))
    }
    case 'string': {
      const minLength = s.minLength ?? 0
      const maxLength = Math.max(minLength, Math.min(s.maxLength ?? MAX_STRING, MAX_STRING))
      // Code points anywhere in Unicode (no lone surrogates: they do not survive UTF-8), or plain ASCII.
      return fc.oneof(
        fc.string({ unit: 'binary', minLength, maxLength }),
        fc.string({ unit: 'grapheme-ascii', minLength, maxLength }),
      )
    }
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array': {
      const minLength = s.minItems ?? 0
      return fc.array(valid(s.items as Schema), {
        minLength,
        maxLength: Math.max(minLength, Math.min(s.maxItems ?? MAX_ARRAY, MAX_ARRAY)),
      })
    }
    case 'tuple':
      return fc.tuple(...(s.items as Schema[]).map(valid))
    case 'object': {
      const properties = s.properties ?? {}
      const model: Record<string, fc.Arbitrary<unknown>> = {}
      for (const [key, sub] of Object.entries(properties)) model[key] = valid(sub)
      return fc.record(model, { requiredKeys: (s.required ?? []).filter((k) => k in properties) })
    }
  }
}

/** A value the schema rejects, and where it was broken (a JSON pointer; `/` for the whole value). */
export interface Invalid {
  readonly value: unknown
  readonly path: string
  readonly how: string
}

/**
 * Values the schema rejects: a valid value broken in one place, at any
 * depth. Each is checked against TypeBox itself (Value.Check), so a
 * "mutation" that another union branch happens to accept is never counted
 * as invalid.
 */
export function invalidFromSchema(schema: TSchema): fc.Arbitrary<Invalid> {
  return broken(schema as Schema, '').filter(({ value }) => !Value.Check(schema, value))
}

/** Values of every JSON-ish kind, to put where they do not belong. */
const strangers: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  2 ** 53 + 2,
  '',
  'text',
  [],
  [1, 2],
  {},
  { x: 1 },
  new Uint8Array([1, 2, 3]),
]

function wrongTypes(s: Schema): fc.Arbitrary<{ value: unknown; how: string }>[] {
  const rejected = strangers.filter((v) => !Value.Check(s as TSchema, v))
  if (rejected.length === 0) return []
  return [fc.constantFrom(...rejected).map((value) => ({ value, how: `wrong type (${describeValue(value)})` }))]
}

function describeValue(value: unknown): string {
  if (value instanceof Uint8Array) return 'binary'
  if (Array.isArray(value)) return 'array'
  return value === null ? 'null' : typeof value
}

/** Ways to break a value of this schema right here (not inside it). */
function hereMutations(s: Schema): fc.Arbitrary<{ value: unknown; how: string }>[] {
  const out: fc.Arbitrary<{ value: unknown; how: string }>[] = wrongTypes(s)
  const at = (value: unknown, how: string) => fc.constant({ value, how })
  switch (kindOf(s)) {
    case 'integer':
    case 'number': {
      const integer = kindOf(s) === 'integer'
      const { min, max } = range(s, integer)
      if (integer) out.push(fc.integer({ min: -1000, max: 1000 }).map((n) => ({ value: n + 0.5, how: 'not an integer' })))
      if (s.minimum !== undefined || s.exclusiveMinimum !== undefined)
        out.push(at(integer ? min - 1 : min - 1e-3, 'below minimum'))
      if (s.maximum !== undefined || s.exclusiveMaximum !== undefined)
        out.push(at(integer ? max + 1 : max + 1e-3, 'above maximum'))
      break
    }
    case 'string':
      if ((s.minLength ?? 0) > 0) out.push(at('x'.repeat((s.minLength as number) - 1), 'shorter than minLength'))
      if (s.maxLength !== undefined) out.push(at('y'.repeat(s.maxLength + 1), 'longer than maxLength'))
      break
    case 'binary':
      if ((s.minBytes ?? 0) > 0) out.push(at(new Uint8Array((s.minBytes as number) - 1), 'fewer than minBytes'))
      if (s.maxBytes !== undefined) out.push(at(new Uint8Array(s.maxBytes + 1).fill(7), 'more than maxBytes'))
      out.push(at([1, 2, 3], 'bytes as an array of numbers'), at('AQID', 'bytes as base64 text'))
      break
    case 'const':
      out.push(at(typeof s.const === 'string' ? `${s.const}!` : 'other', 'another literal'))
      break
    case 'enum':
      out.push(at('not-in-the-enum', 'not in the enum'))
      break
    case 'array':
      if ((s.minItems ?? 0) > 0) {
        out.push(
          fc.array(valid(s.items as Schema), { minLength: 0, maxLength: (s.minItems as number) - 1 }).map((value) => ({
            value,
            how: 'fewer than minItems',
          })),
        )
      }
      if (s.maxItems !== undefined && s.maxItems < 50) {
        out.push(
          fc
            .array(valid(s.items as Schema), { minLength: s.maxItems + 1, maxLength: s.maxItems + 3 })
            .map((value) => ({ value, how: 'more than maxItems' })),
        )
      }
      break
    case 'tuple': {
      const items = s.items as Schema[]
      out.push(fc.tuple(...items.map(valid)).map((t) => ({ value: t.slice(0, -1), how: 'a tuple one short' })))
      if (s.additionalItems === false) {
        out.push(fc.tuple(...items.map(valid)).map((t) => ({ value: [...t, 'extra'], how: 'a tuple one too long' })))
      }
      break
    }
    case 'object': {
      const required = (s.required ?? []).filter((k) => k in (s.properties ?? {}))
      if (required.length > 0) {
        out.push(
          fc.tuple(valid(s), fc.constantFrom(...required)).map(([value, key]) => {
            const copy = { ...(value as Record<string, unknown>) }
            delete copy[key]
            return { value: copy, how: `required property '${key}' missing` }
          }),
        )
      }
      if (s.additionalProperties === false) {
        out.push(valid(s).map((value) => ({ value: { ...(value as object), zzExtra: 1 }, how: 'an extra property' })))
      }
      break
    }
    default:
      break
  }
  return out
}

/** Ways to break a value of this schema somewhere inside it. */
function innerMutations(s: Schema, path: string): fc.Arbitrary<Invalid>[] {
  switch (kindOf(s)) {
    case 'object': {
      const properties = Object.entries(s.properties ?? {})
      return properties.map(([key, sub]) =>
        fc.tuple(valid(s), broken(sub, child(path, key))).map(([value, inner]) => ({
          ...inner,
          value: { ...(value as object), [key]: inner.value },
        })),
      )
    }
    case 'array': {
      const minLength = Math.max(1, s.minItems ?? 0)
      const maxLength = Math.max(minLength, Math.min(s.maxItems ?? MAX_ARRAY, MAX_ARRAY))
      if ((s.maxItems ?? 1) < 1) return []
      return [
        fc.tuple(fc.array(valid(s.items as Schema), { minLength, maxLength }), fc.nat()).chain(([items, at]) => {
          const i = at % items.length
          return broken(s.items as Schema, child(path, i)).map((inner) => {
            const copy = [...items]
            copy[i] = inner.value
            return { ...inner, value: copy }
          })
        }),
      ]
    }
    case 'tuple':
      return (s.items as Schema[]).map((sub, i) =>
        fc.tuple(valid(s), broken(sub, child(path, i))).map(([value, inner]) => {
          const copy = [...(value as unknown[])]
          copy[i] = inner.value
          return { ...inner, value: copy }
        }),
      )
    case 'union':
      // Break a value of one branch deep inside; the filter in invalidFromSchema keeps it only if no branch accepts it.
      return (s.anyOf as Schema[]).flatMap((branch) => innerMutations(branch, path))
    default:
      return []
  }
}

function broken(s: Schema, path: string): fc.Arbitrary<Invalid> {
  const here = hereMutations(s).map((a) => a.map(({ value, how }) => ({ value, how, path: path === '' ? '/' : path })))
  const inner = innerMutations(s, path)
  if (here.length === 0 && inner.length === 0) throw new Error(`invalidFromSchema: no way to break ${JSON.stringify(s)}`)
  if (here.length === 0) return fc.oneof(...inner)
  return inner.length === 0
    ? fc.oneof(...here)
    : fc.oneof({ weight: 1, arbitrary: fc.oneof(...here) }, { weight: 2, arbitrary: fc.oneof(...inner) })
}

/** Whether JSON pointer `ancestor` is `path` or contains it (`/` contains everything). */
export function pointerContains(ancestor: string, path: string): boolean {
  if (ancestor === '/' || ancestor === '') return true
  if (path === '/' || path === '') return false
  return path === ancestor || path.startsWith(`${ancestor}/`)
}

/** Equality that knows Uint8Array (by bytes) and ignores the Buffer/Uint8Array distinction. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(a, b) === 0
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]))
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined)
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined)
    return (
      ka.length === kb.length && ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    )
  }
  return Object.is(a, b)
}
