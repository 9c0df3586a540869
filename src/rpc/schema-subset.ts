/**
 * Whether every value one JSON Schema allows is also allowed by another:
 * the schema-level half of the compatibility check (see schema-compat.ts).
 * Inclusion of JSON Schemas is undecidable in general, so this decides it
 * conservatively for the kinds mqrpc generate supports: `true` only when it
 * can be shown, and otherwise a reason at the path where it fails.
 *
 * One deliberate departure from plain JSON Schema: an object schema without
 * `additionalProperties` is taken, on the sending (narrow) side, to send only
 * the properties it names (what a program typed from it does), while on the
 * receiving (wide) side it accepts any other property (what validation does).
 * Without it, adding an optional property could never be shown safe.
 * @module
 */
import { Check } from 'typebox/value'
import {
  arrayView,
  type Bound,
  bound,
  isAnnotation,
  isAny,
  isBinary,
  isMultiple,
  isNever,
  isRecord,
  KNOWN,
  literalSafe,
  narrowSourcesFor,
  num,
  objectView,
  schemaKey,
  show,
  strip,
  typesOf,
  UNIVERSAL_PATTERNS,
  wideChecksFor,
} from './schema-nodes.js'

type Json = unknown
type Node = Record<string, Json>

/** One place where the narrow schema allows a value the wide one refuses. */
export interface SubsetIssue {
  /** JSON-pointer-like path of the schema node, e.g. `/properties/tags`. */
  readonly path: string
  readonly narrow: Json
  readonly wide: Json
  /** One line, in the words of {@link SideNames}. */
  readonly reason: string
}

/** How reasons name the two sides: `the client` and `the server`, say. */
export interface SideNames {
  readonly narrow: string
  readonly wide: string
}

const DEFAULT_NAMES: SideNames = { narrow: 'the sender', wide: 'the receiver' }

/** The comparison of one pair of nodes, with the shared output and names. */
class Comparison {
  constructor(
    readonly out: SubsetIssue[],
    readonly names: SideNames,
  ) {}

  fail(path: string, narrow: Json, wide: Json, reason: string): false {
    this.out.push({ path: path || '/', narrow, wide, reason })
    return false
  }

  /** Like {@link subset}, but only says whether, recording nothing. */
  quietly(narrow: Json, wide: Json, path: string): boolean {
    return new Comparison([], this.names).subset(narrow, wide, path)
  }

  subset(narrowIn: Json, wideIn: Json, path: string): boolean {
    const { narrow: N, wide: W } = this.names
    const n = strip(narrowIn)
    const w = strip(wideIn)
    const fail = (reason: string) => this.fail(path, narrowIn, wideIn, reason)
    if (schemaKey(n) === schemaKey(w) || isAny(w) || isNever(n)) return true
    if (isNever(w)) return fail(`${W} accepts no value here`)
    if (!isRecord(n) || !isRecord(w)) return fail(`${N} may send any value here; ${W} accepts only some`)
    // A narrow union is a subset when each member is (sibling keywords only narrow it further).
    const members = Array.isArray(n.anyOf) ? n.anyOf : Array.isArray(n.oneOf) ? n.oneOf : undefined
    if (members !== undefined) return this.every(members.map((m, i) => [m, w, `${path}/anyOf/${i}`]))
    if ('const' in n) return this.literals([n.const], w, wideIn, path)
    if (Array.isArray(n.enum)) return this.literals(n.enum, w, wideIn, path)
    const types = typesOf(n)
    if (types !== undefined && types.length > 1) return this.every(types.map((type) => [{ ...n, type }, w, path]))
    if (Array.isArray(n.allOf)) return this.narrowAllOf(n, w, path, narrowIn, wideIn)
    if (Array.isArray(w.allOf)) {
      const { allOf, ...rest } = w
      return this.every([...allOf.map((part, i): [Json, Json, string] => [n, part, `${path}/allOf/${i}`]), [n, rest, path]])
    }
    if (Array.isArray(w.anyOf) || Array.isArray(w.oneOf) || 'const' in w || Array.isArray(w.enum)) {
      // Against a union or literals, a boolean is its two values, and null its one.
      if (types?.[0] === 'boolean') return this.literals([true, false], w, wideIn, path)
      if (types?.[0] === 'null') return this.literals([null], w, wideIn, path)
    }
    if (Array.isArray(w.anyOf)) return this.wideUnion(n, w, w.anyOf, path, narrowIn, wideIn)
    if (Array.isArray(w.oneOf)) return fail(`${W} has a oneOf, which this check does not decide`)
    if (isAny(n)) return fail(`${N} may send any value here; ${W} accepts only some`)
    if ('const' in w || Array.isArray(w.enum))
      return fail(`${W} accepts only ${show('const' in w ? w.const : w.enum)}; ${N} allows other values`)
    if (isBinary(w) || isBinary(n)) return this.binary(n, w, path, narrowIn, wideIn)
    if (w.not !== undefined)
      return schemaKey(n.not) === schemaKey(w.not) || fail(`${W} has a 'not', which this check does not decide`)
    if (n.not !== undefined) return fail(`${N} is a 'not' schema, which this check does not decide`)
    for (const key of Object.keys(w)) {
      if (!KNOWN.has(key) && !isAnnotation(key) && schemaKey(n[key], true) !== schemaKey(w[key], true))
        return fail(`${W} has '${key}', which this check does not decide`)
    }
    if (types === undefined) return fail(`${N} names no type here, so it may send values ${W} refuses`)
    const type = types[0] as string
    const wideTypes = typesOf(w)
    if (wideTypes !== undefined && !wideTypes.includes(type) && !(type === 'integer' && wideTypes.includes('number'))) {
      return fail(`type changed: ${N} has ${type}, ${W} accepts ${wideTypes.join(' | ')}`)
    }
    switch (type) {
      case 'integer':
      case 'number':
        return this.number(n, w, type === 'integer', fail)
      case 'string':
        return this.string(n, w, fail)
      case 'array':
        return this.array(n, w, path)
      case 'object':
        return this.object(n, w, path)
      default:
        return true
    }
  }

  private every(pairs: readonly (readonly [Json, Json, string])[]): boolean {
    let ok = true
    for (const [narrow, wide, path] of pairs) ok = this.subset(narrow, wide, path) && ok
    return ok
  }

  private literals(values: readonly Json[], w: Node, wideIn: Json, path: string): boolean {
    const checked = literalSafe(w) as Node
    let ok = true
    for (const value of values) {
      if (Check(checked, value)) continue
      ok = this.fail(path, value, wideIn, `${this.names.wide} does not accept the value ${show(value)}`)
    }
    return ok
  }

  private narrowAllOf(n: Node, w: Node, path: string, narrowIn: Json, wideIn: Json): boolean {
    const parts = (n.allOf as Json[]).map(strip)
    // An intersection of plain objects is one object with every property.
    if (parts.every((p) => isRecord(p) && p.type === 'object' && p.patternProperties === undefined)) {
      const objects = parts as Node[]
      const merged: Node = {
        type: 'object',
        properties: Object.assign({}, ...objects.map((p) => (isRecord(p.properties) ? p.properties : {}))),
        required: [...new Set(objects.flatMap((p) => (Array.isArray(p.required) ? p.required : [])))],
      }
      if (objects.some((p) => p.additionalProperties !== undefined)) merged.additionalProperties = true
      return this.subset(merged, w, path)
    }
    if (parts.some((part) => this.quietly(part, w, path))) return true
    return this.fail(path, narrowIn, wideIn, `${this.names.wide} does not accept every value of ${this.names.narrow}'s allOf`)
  }

  private wideUnion(n: Node, w: Node, members: Json[], path: string, narrowIn: Json, wideIn: Json): boolean {
    const { anyOf: _, ...rest } = w
    if (!isAny(rest) && !this.subset(n, rest, path)) return false
    if (members.some((member) => this.quietly(n, member, path))) return true
    // When one member has the same type, its own complaint is the precise one.
    const type = typesOf(n)?.[0]
    const sameType = members.flatMap((m, i) => {
      const t = isRecord(m) ? typesOf(m) : undefined
      return t !== undefined && type !== undefined && (t.includes(type) || (type === 'integer' && t.includes('number')))
        ? [i]
        : []
    })
    if (sameType.length === 1) {
      // Paths follow the narrow side: the wide member adds no segment.
      return this.subset(n, members[sameType[0] as number], path)
    }
    const { narrow: N, wide: W } = this.names
    const reason =
      type !== undefined && sameType.length === 0 && !isBinary(n)
        ? `${W}'s union has no ${type} member; ${N} may send one`
        : `no member of ${W}'s union accepts everything ${N} allows`
    return this.fail(path, narrowIn, wideIn, reason)
  }

  private binary(n: Node, w: Node, path: string, narrowIn: Json, wideIn: Json): boolean {
    const { narrow: N, wide: W } = this.names
    if (!isBinary(w)) return this.fail(path, narrowIn, wideIn, `type changed: ${N} has binary data, ${W} does not accept it`)
    if (!isBinary(n))
      return this.fail(path, narrowIn, wideIn, `type changed: ${W} accepts only binary data, ${N} has other values`)
    const [nMin, wMin] = [num(n.minBytes) ?? 0, num(w.minBytes) ?? 0]
    const [nMax, wMax] = [num(n.maxBytes) ?? Infinity, num(w.maxBytes) ?? Infinity]
    if (nMin < wMin) return this.fail(path, narrowIn, wideIn, `${W} requires at least ${wMin} bytes; ${N} allows ${nMin}`)
    if (nMax > wMax) return this.fail(path, narrowIn, wideIn, `${W} accepts at most ${wMax} bytes; ${N} allows ${nMax}`)
    return true
  }

  private number(n: Node, w: Node, integer: boolean, fail: (reason: string) => false): boolean {
    const { narrow: N, wide: W } = this.names
    for (const side of ['lower', 'upper'] as const) {
      const wide = bound(w, side, integer)
      if (wide === undefined) continue
      const narrow = bound(n, side, integer)
      const what = side === 'lower' ? 'minimum' : 'maximum'
      const text = (b: Bound) => `${b.exclusive ? (side === 'lower' ? '>' : '<') : side === 'lower' ? '>=' : '<='} ${b.value}`
      if (narrow === undefined) return fail(`${W} has ${what} ${text(wide)}; ${N} has none`)
      const further = side === 'lower' ? narrow.value > wide.value : narrow.value < wide.value
      if (!further && (narrow.value !== wide.value || (wide.exclusive && !narrow.exclusive)))
        return fail(`${W} requires ${text(wide)}; ${N} allows ${text(narrow)}`)
    }
    const step = num(w.multipleOf)
    if (step !== undefined) {
      const own = num(n.multipleOf) ?? (integer ? 1 : undefined)
      if (own === undefined || !isMultiple(own, step))
        return fail(
          `${W} requires a multiple of ${step}; ${N} allows ${own === undefined ? 'any number' : `multiples of ${own}`}`,
        )
    }
    return true
  }

  private string(n: Node, w: Node, fail: (reason: string) => false): boolean {
    const { narrow: N, wide: W } = this.names
    const [nMin, wMin] = [num(n.minLength) ?? 0, num(w.minLength) ?? 0]
    const [nMax, wMax] = [num(n.maxLength) ?? Infinity, num(w.maxLength) ?? Infinity]
    if (nMin < wMin) return fail(`${W} requires minLength ${wMin}; ${N} allows ${nMin}`)
    if (nMax > wMax) return fail(`${W} requires maxLength ${wMax}; ${N} allows ${nMax}`)
    // Regular languages could be compared; the same pattern is what can be shown cheaply.
    if (w.pattern !== undefined && w.pattern !== n.pattern)
      return fail(`${W} requires pattern ${show(w.pattern)}; ${N} has ${n.pattern === undefined ? 'none' : show(n.pattern)}`)
    if (w.format !== undefined && w.format !== n.format)
      return fail(`${W} requires format ${show(w.format)}; ${N} has ${n.format === undefined ? 'none' : show(n.format)}`)
    return true
  }

  private array(n: Node, w: Node, path: string): boolean {
    const { narrow: N, wide: W } = this.names
    const na = arrayView(n)
    const wa = arrayView(w)
    const fail = (reason: string) => this.fail(path, n, w, reason)
    const nMax = na.rest === false ? Math.min(na.prefix.length, na.max) : na.max
    if (na.min < wa.min) return fail(`${W} requires at least ${wa.min} items; ${N} allows ${na.min}`)
    if (nMax > wa.max) return fail(`${W} accepts at most ${wa.max} items; ${N} allows ${nMax}`)
    if (w.uniqueItems === true && n.uniqueItems !== true && nMax > 1) return fail(`${W} requires unique items; ${N} does not`)
    let ok = true
    const positions = Math.min(nMax, Math.max(na.prefix.length, wa.prefix.length))
    for (let i = 0; i < positions; i++) {
      const narrowItem = na.prefix[i] ?? na.rest
      const wideItem = wa.prefix[i] ?? wa.rest
      if (narrowItem === false) break
      if (wideItem === false) return fail(`${W} accepts no item at position ${i}; ${N} allows one`)
      ok = this.subset(narrowItem, wideItem, `${path}/items/${i}`) && ok
    }
    if (nMax > positions && na.rest !== false) {
      if (wa.rest === false) return fail(`${W} accepts at most ${wa.prefix.length} items; ${N} allows more`)
      const sub = na.prefix.length === 0 && wa.prefix.length === 0 ? `${path}/items` : `${path}/items/rest`
      ok = this.subset(na.rest, wa.rest, sub) && ok
    }
    return ok
  }

  private object(n: Node, w: Node, path: string): boolean {
    const { narrow: N, wide: W } = this.names
    const no = objectView(n)
    const wo = objectView(w)
    const at = (name: string) => `${path}/properties/${name}`
    let ok = true
    for (const name of wo.required) {
      if (no.required.has(name)) continue
      ok =
        no.properties[name] === undefined
          ? this.fail(at(name), undefined, wo.properties[name], `${W} requires property '${name}', which ${N} does not send`)
          : this.fail(
              at(name),
              no.properties[name],
              wo.properties[name],
              `property '${name}' is optional for ${N} but required by ${W}`,
            )
    }
    // Each property the narrow side names must be accepted by whatever the wide side checks it with.
    for (const [name, schema] of Object.entries(no.properties)) {
      const checks = wideChecksFor(wo, name)
      if (checks === false) {
        ok = this.fail(at(name), schema, undefined, `${W} does not accept property '${name}' (additionalProperties: false)`)
        continue
      }
      for (const check of checks) ok = this.subset(schema, check, at(name)) && ok
    }
    // Properties the wide side names that the narrow side may still send as extra keys.
    for (const [name, schema] of Object.entries(wo.properties)) {
      if (name in no.properties) continue
      for (const source of narrowSourcesFor(no, name)) ok = this.subset(source, schema, at(name)) && ok
    }
    // Extra keys: the narrow side's patterns, then its explicit additionalProperties.
    const extras: [Json, string, string | undefined][] = no.patterns.map(([p, s]) => [s, `${path}/patternProperties/${p}`, p])
    if (no.additional !== undefined && no.additional !== false)
      extras.push([no.additional, `${path}/additionalProperties`, undefined])
    for (const [schema, where, pattern] of extras) {
      let covered = false
      for (const [q, target] of wo.patterns) {
        ok = this.subset(schema, target, where) && ok // overlap cannot be ruled out: assume it
        if (UNIVERSAL_PATTERNS.has(q) || q === pattern) covered = true
      }
      if (covered || wo.additional === undefined || wo.additional === true) continue
      if (wo.additional === false)
        ok = this.fail(
          where,
          schema,
          false,
          `${N} may send extra keys${pattern ? ` matching ${pattern}` : ''}; ${W} refuses them`,
        )
      else ok = this.subset(schema, wo.additional, where) && ok
    }
    const wMin = num(w.minProperties)
    if (wMin !== undefined && (num(n.minProperties) ?? no.required.size) < wMin)
      ok = this.fail(path, n, w, `${W} requires at least ${wMin} properties; ${N} may send fewer`)
    const wMax = num(w.maxProperties)
    if (wMax !== undefined) {
      const closed = no.patterns.length === 0 && (no.additional === undefined || no.additional === false)
      const nMax = num(n.maxProperties) ?? (closed ? Object.keys(no.properties).length : Infinity)
      if (nMax > wMax) ok = this.fail(path, n, w, `${W} accepts at most ${wMax} properties; ${N} may send more`)
    }
    return ok
  }
}

/**
 * Whether every value `narrow` allows is allowed by `wide`. Pushes one
 * {@link SubsetIssue} per place it cannot show that (paths start at `path`)
 * and returns false if there was any. `names` words the reasons.
 */
export function isSubschema(
  narrow: Json,
  wide: Json,
  path: string,
  out: SubsetIssue[],
  names: SideNames = DEFAULT_NAMES,
): boolean {
  return new Comparison(out, names).subset(narrow, wide, path)
}
