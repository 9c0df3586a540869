/**
 * Schema evolution: the schema-level subset check over pairs of TypeBox
 * schemas (both directions), and the service-level rule over the examples of
 * issue 10 (safe and breaking changes to inputs, outputs, methods, events).
 */
import { type TSchema, Type } from 'typebox'
import { describe, expect, it } from 'vitest'
import { emitService } from '../../src/codegen/emit-service.js'
import { serviceModel } from '../../src/codegen/service-model.js'
import { Binary, defineService, type MethodSpec } from '../../src/index.js'
import { describeService } from '../../src/rpc/introspection.js'
import {
  brokenMethodMessages,
  checkCompatibility,
  describeBreakingChange,
  type ServiceShape,
} from '../../src/rpc/schema-compat.js'
import { isSubschema, type SubsetIssue } from '../../src/rpc/schema-subset.js'
import { serviceShape } from '../../src/rpc/service.js'

const json = (schema: TSchema): unknown => JSON.parse(JSON.stringify(schema))

/** true: a ⊆ b; a string: not a subset, and the first issue is at that path. */
type Expect = true | string

function subset(a: TSchema, b: TSchema): { ok: boolean; out: SubsetIssue[] } {
  const out: SubsetIssue[] = []
  const ok = isSubschema(json(a), json(b), '', out)
  return { ok, out }
}

// [name, a, b, a ⊆ b?, b ⊆ a?]
const pairs: [string, TSchema, TSchema, Expect, Expect][] = [
  // Objects: optional and required properties, additionalProperties.
  [
    'new optional property',
    Type.Object({ a: Type.String() }),
    Type.Object({ a: Type.String(), b: Type.Optional(Type.Number()) }),
    true,
    true,
  ],
  [
    'new required property',
    Type.Object({ a: Type.String() }),
    Type.Object({ a: Type.String(), b: Type.Number() }),
    '/properties/b',
    true,
  ],
  [
    'required to optional',
    Type.Object({ a: Type.String() }),
    Type.Object({ a: Type.Optional(Type.String()) }),
    true,
    '/properties/a',
  ],
  [
    'closed sender, new optional property on an open receiver',
    Type.Object({ a: Type.String() }, { additionalProperties: false }),
    Type.Object({ a: Type.String(), b: Type.Optional(Type.Number()) }),
    true,
    '/properties/b',
  ],
  [
    'new optional property on a closed receiver',
    Type.Object({ a: Type.String() }),
    Type.Object({ a: Type.String(), b: Type.Optional(Type.Number()) }, { additionalProperties: false }),
    true,
    true,
  ],
  [
    'extra keys allowed vs refused',
    Type.Object({ a: Type.String() }, { additionalProperties: true }),
    Type.Object({ a: Type.String() }, { additionalProperties: false }),
    '/additionalProperties',
    true,
  ],
  [
    'typed extra keys vs a named property of another type',
    Type.Object({ a: Type.String() }, { additionalProperties: Type.Number() }),
    Type.Object({ a: Type.String(), b: Type.Optional(Type.String()) }),
    '/properties/b',
    '/properties/b',
  ],
  [
    'nested property type change',
    Type.Object({ p: Type.Object({ x: Type.Number() }) }),
    Type.Object({ p: Type.Object({ x: Type.String() }) }),
    '/properties/p/properties/x',
    '/properties/p/properties/x',
  ],
  // Scalars.
  ['type change', Type.String(), Type.Number(), '/', '/'],
  ['integer within number', Type.Integer(), Type.Number(), true, '/'],
  ['boolean vs null', Type.Boolean(), Type.Null(), '/', '/'],
  ['widened numeric bounds', Type.Number({ minimum: 1, maximum: 10 }), Type.Number({ minimum: 0, maximum: 100 }), true, '/'],
  ['exclusive vs inclusive bound', Type.Number({ exclusiveMinimum: 0 }), Type.Number({ minimum: 0 }), true, '/'],
  ['integer exclusive bound', Type.Integer({ exclusiveMinimum: 0 }), Type.Integer({ minimum: 1 }), true, true],
  ['bound vs none', Type.Integer({ maximum: 5 }), Type.Integer(), true, '/'],
  ['multipleOf', Type.Number({ multipleOf: 1 }), Type.Number({ multipleOf: 0.5 }), true, '/'],
  ['integer is a multiple of 0.5', Type.Integer(), Type.Number({ multipleOf: 0.5 }), true, '/'],
  ['string lengths', Type.String({ minLength: 2, maxLength: 5 }), Type.String({ minLength: 1, maxLength: 64 }), true, '/'],
  ['pattern', Type.String({ pattern: '^[0-9]+$' }), Type.String(), true, '/'],
  ['different patterns', Type.String({ pattern: '^[0-9]+$' }), Type.String({ pattern: '^[a-z]+$' }), '/', '/'],
  ['format', Type.String({ format: 'email' }), Type.String(), true, '/'],
  ['different formats', Type.String({ format: 'email' }), Type.String({ format: 'uuid' }), '/', '/'],
  ['annotations do not matter', Type.String({ description: 'a' }), Type.String({ description: 'b', title: 't' }), true, true],
  // Literals, unions, enums, nullable.
  [
    'new union member',
    Type.Union([Type.Literal('a'), Type.Literal('b')]),
    Type.Union([Type.Literal('a'), Type.Literal('b'), Type.Literal('c')]),
    true,
    '/anyOf/2',
  ],
  ['literal in its type', Type.Literal('a'), Type.String(), true, '/'],
  ['literal vs a pattern', Type.Literal('12'), Type.String({ pattern: '^[0-9]+$' }), true, '/'],
  ['literal out of bounds', Type.Literal(7), Type.Integer({ maximum: 5 }), '/', '/'],
  ['enum widened', Type.Enum(['red', 'green']), Type.Enum(['red', 'green', 'blue']), true, '/'],
  ['enum vs union of literals', Type.Enum([200, 404]), Type.Union([Type.Literal(200), Type.Literal(404)]), true, true],
  ['boolean vs both literals', Type.Boolean(), Type.Union([Type.Literal(true), Type.Literal(false)]), true, true],
  ['nullable', Type.String(), Type.Union([Type.String(), Type.Null()]), true, '/anyOf/1'],
  [
    'nullable member widened',
    Type.Union([Type.String({ maxLength: 3 }), Type.Null()]),
    Type.Union([Type.String(), Type.Null()]),
    true,
    '/anyOf/0',
  ],
  [
    'tagged union: member changed',
    Type.Union([
      Type.Object({ kind: Type.Literal('circle'), r: Type.Number() }),
      Type.Object({ kind: Type.Literal('rect'), w: Type.Number() }),
    ]),
    Type.Union([
      Type.Object({ kind: Type.Literal('circle'), r: Type.Number() }),
      Type.Object({ kind: Type.Literal('rect'), w: Type.Number(), h: Type.Number() }),
    ]),
    '/anyOf/1',
    true,
  ],
  // Arrays and tuples.
  ['array item widened', Type.Array(Type.Integer()), Type.Array(Type.Number()), true, '/items'],
  ['array bounds', Type.Array(Type.String(), { minItems: 1, maxItems: 3 }), Type.Array(Type.String()), true, '/'],
  ['unique items', Type.Array(Type.String(), { uniqueItems: true }), Type.Array(Type.String()), true, '/'],
  ['tuple in array', Type.Tuple([Type.String(), Type.String()]), Type.Array(Type.String()), true, '/'],
  [
    'tuple element changed',
    Type.Tuple([Type.String(), Type.Number()]),
    Type.Tuple([Type.String(), Type.String()]),
    '/items/1',
    '/items/1',
  ],
  ['tuple grew', Type.Tuple([Type.String()]), Type.Tuple([Type.String(), Type.Number()]), '/', '/'],
  ['empty tuple', Type.Tuple([]), Type.Array(Type.Number()), true, '/'],
  // Records.
  [
    'record value widened',
    Type.Record(Type.String(), Type.Integer()),
    Type.Record(Type.String(), Type.Number()),
    true,
    '/patternProperties/^.*$',
  ],
  ['record vs open object', Type.Record(Type.String(), Type.Integer()), Type.Object({}), true, true],
  [
    'record vs closed object',
    Type.Record(Type.String(), Type.Integer()),
    Type.Object({}, { additionalProperties: false }),
    '/patternProperties/^.*$',
    true,
  ],
  [
    'record vs a named property of another type',
    Type.Record(Type.String(), Type.Integer()),
    Type.Object({ a: Type.Optional(Type.String()) }),
    '/properties/a',
    '/properties/a',
  ],
  ['number-keyed record', Type.Record(Type.Number(), Type.String()), Type.Record(Type.String(), Type.String()), true, true],
  [
    'record value changed',
    Type.Record(Type.Number(), Type.String()),
    Type.Record(Type.Number(), Type.Integer()),
    '/patternProperties/^-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?$',
    '/patternProperties/^-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?$',
  ],
  // Binary.
  ['binary bounds', Binary({ maxBytes: 10 }), Binary({ maxBytes: 100 }), true, '/'],
  ['binary min', Binary({ minBytes: 32, maxBytes: 32 }), Binary(), true, '/'],
  ['binary vs string', Binary(), Type.String(), '/', '/'],
  // Unknown, never, intersections.
  ['anything vs string', Type.String(), Type.Unknown(), true, '/'],
  ['anything in a union with anything', Type.Unknown(), Type.Union([Type.String(), Type.Unknown()]), true, true],
  ['nullable binary', Binary(), Type.Union([Binary(), Type.Null()]), true, '/anyOf/1'],
  ['never', Type.Never(), Type.String(), true, '/'],
  [
    'intersection of objects',
    Type.Intersect([Type.Object({ a: Type.String() }), Type.Object({ b: Type.Number() })]),
    Type.Object({ a: Type.String(), b: Type.Number() }),
    true,
    true,
  ],
]

describe('isSubschema', () => {
  for (const [name, a, b, aInB, bInA] of pairs) {
    it(name, () => {
      for (const [narrow, wide, expected] of [
        [a, b, aInB],
        [b, a, bInA],
      ] as const) {
        const { ok, out } = subset(narrow, wide)
        if (expected === true) expect(out, JSON.stringify(out)).toEqual([])
        else {
          expect(ok).toBe(false)
          expect(out[0]?.path).toBe(expected)
          expect(out[0]?.reason).toMatch(/\S/)
        }
        expect(ok).toBe(out.length === 0)
      }
    })
  }

  it('names both sides and words the reason with the given names', () => {
    const out: SubsetIssue[] = []
    isSubschema(json(Type.Integer({ minimum: 0 })), json(Type.Integer({ minimum: 5 })), '/x', out, {
      narrow: 'the client',
      wide: 'the server',
    })
    expect(out).toEqual([
      { path: '/x', narrow: { type: 'integer', minimum: 0 }, wide: { type: 'integer', minimum: 5 }, reason: expect.any(String) },
    ])
    expect(out[0]?.reason).toBe('the server requires >= 5; the client allows >= 0')
  })
})

type Methods = Record<string, MethodSpec>
const shape = (methods: Methods, events: Record<string, TSchema> = {}) =>
  serviceShape(defineService('calc', { methods, events })) as ServiceShape

const add = (input: TSchema, output: TSchema = Type.Number()): MethodSpec => ({ input, output })
const AddInput = Type.Object({ a: Type.Number(), b: Type.Number() })
const base = { add: add(AddInput), neg: add(Type.Number()) }

describe('checkCompatibility', () => {
  const compatible: [string, ServiceShape, ServiceShape][] = [
    ['the same schema', shape(base), shape(base)],
    [
      'a new optional input property',
      shape(base),
      shape({
        ...base,
        add: add(Type.Object({ a: Type.Number(), b: Type.Number(), tags: Type.Optional(Type.Array(Type.String())) })),
      }),
    ],
    ['a new method', shape(base), shape({ ...base, mul: add(AddInput) })],
    [
      'a new output property',
      shape({ ...base, add: add(AddInput, Type.Object({ sum: Type.Number() })) }),
      shape({ ...base, add: add(AddInput, Type.Object({ sum: Type.Number(), at: Type.Integer() })) }),
    ],
    [
      'optional to required on output',
      shape({ ...base, add: add(AddInput, Type.Object({ sum: Type.Optional(Type.Number()) })) }),
      shape({ ...base, add: add(AddInput, Type.Object({ sum: Type.Number() })) }),
    ],
    ['a widened input bound', shape({ ...base, neg: add(Type.Number({ minimum: 0 })) }), shape(base)],
    [
      'a new union member in an input',
      shape({ ...base, neg: add(Type.Union([Type.Number(), Type.Null()])) }),
      shape({ ...base, neg: add(Type.Union([Type.Number(), Type.Null(), Type.String()])) }),
    ],
    ['a new event the client does not know', shape(base), shape(base, { tick: Type.Integer() })],
    ['an event the server no longer emits', shape(base, { tick: Type.Integer() }), shape(base)],
    ['a narrowed event payload', shape(base, { tick: Type.Integer() }), shape(base, { tick: Type.Integer({ minimum: 0 }) })],
    ['a method moved to the urgent lane', shape(base), shape({ ...base, neg: { ...add(Type.Number()), priority: 'urgent' } })],
  ]
  for (const [name, client, server] of compatible) {
    it(`compatible: ${name}`, () => {
      const result = checkCompatibility(client, server)
      expect(result.breaking).toEqual([])
      expect(result.compatible).toBe(true)
    })
  }

  const breaking: [string, ServiceShape, ServiceShape, string, string][] = [
    [
      'a new required input property',
      shape(base),
      shape({ ...base, add: add(Type.Object({ a: Type.Number(), b: Type.Number(), c: Type.Number() })) }),
      'add',
      '/methods/add/input/properties/c',
    ],
    ['a removed method', shape(base), shape({ add: base.add }), 'neg', '/methods/neg'],
    ['a renamed method', shape(base), shape({ add: base.add, negate: base.neg }), 'neg', '/methods/neg'],
    ['a type change', shape(base), shape({ ...base, neg: add(Type.String()) }), 'neg', '/methods/neg/input'],
    [
      'a narrowed input bound',
      shape(base),
      shape({ ...base, neg: add(Type.Number({ maximum: 9 })) }),
      'neg',
      '/methods/neg/input',
    ],
    [
      'a removed output property the client requires',
      shape({ ...base, add: add(AddInput, Type.Object({ sum: Type.Number(), carry: Type.Boolean() })) }),
      shape({ ...base, add: add(AddInput, Type.Object({ sum: Type.Number() })) }),
      'add',
      '/methods/add/output/properties/carry',
    ],
    [
      'a new output union member the client cannot accept',
      shape({ ...base, neg: add(Type.Number(), Type.Union([Type.Number(), Type.Null()])) }),
      shape({ ...base, neg: add(Type.Number(), Type.Union([Type.Number(), Type.Null(), Type.String()])) }),
      'neg',
      '/methods/neg/output/anyOf/2',
    ],
    [
      'a method that became one-way',
      shape(base),
      shape({ ...base, neg: { input: Type.Number(), oneWay: true } }),
      'neg',
      '/methods/neg/oneWay',
    ],
  ]
  for (const [name, client, server, method, path] of breaking) {
    it(`breaking: ${name}, for that method only`, () => {
      const result = checkCompatibility(client, server)
      expect(result.compatible).toBe(false)
      expect([...result.brokenMethods.keys()]).toEqual([method])
      expect(result.brokenMethods.get(method)?.map((c) => c.path)).toContain(path)
      for (const change of result.breaking) expect(describeBreakingChange(change)).toMatch(/^\/methods\/\S+: \S/)
    })
  }

  it('reports a missing method as missing, and says so in its message', () => {
    const result = checkCompatibility(shape(base), shape({ add: base.add }))
    expect(result.missing).toEqual(['neg'])
    expect(result.brokenMethods.get('neg')?.[0]).toMatchObject({ kind: 'missing', server: undefined })
    expect(brokenMethodMessages(shape(base), shape({ add: base.add })).get('neg')).toMatch(/no method 'neg'.*UNIMPLEMENTED/)
  })

  it('names both sides: the client schema and the server schema', () => {
    const result = checkCompatibility(shape(base), shape({ ...base, neg: add(Type.Integer()) }))
    expect(result.breaking).toEqual([
      {
        kind: 'method',
        name: 'neg',
        path: '/methods/neg/input',
        client: { type: 'number' },
        server: { type: 'integer' },
        reason: 'type changed: the client has number, the server accepts integer',
      },
    ])
  })

  it('breaks an event whose payload the client would refuse', () => {
    const result = checkCompatibility(shape(base, { tick: Type.Integer() }), shape(base, { tick: Type.Number() }))
    expect(result.brokenMethods.size).toBe(0)
    expect(result.brokenEvents.get('tick')?.[0]).toMatchObject({ kind: 'event', path: '/events/tick' })
  })

  it('ignores a one-way method output and takes $describe answers too', () => {
    const client = {
      methods: { log: { input: { type: 'string' }, output: null, priority: 'normal', oneWay: true } },
      events: {},
    }
    const server = {
      name: 'x',
      version: '2.0.0',
      methods: { log: { input: {}, output: null, priority: 'normal', oneWay: true, description: 'logs' } },
    }
    expect(checkCompatibility(client, server).compatible).toBe(true)
    expect(brokenMethodMessages(client, server).size).toBe(0)
  })
})

describe('service version', () => {
  const spec = { methods: { neg: add(Type.Number()) } }

  it('takes an optional semver version, outside the fingerprint', () => {
    const plain = defineService('calc', spec)
    const versioned = defineService('calc', { ...spec, version: '1.2.0-rc.1+build.5' })
    expect(plain.version).toBeUndefined()
    expect(versioned.version).toBe('1.2.0-rc.1+build.5')
    expect(versioned.fingerprint).toBe(plain.fingerprint)
  })

  it('refuses a version that is not semver', () => {
    for (const version of ['1.2', 'v1.2.0', '01.2.3', '1.2.3.4', ''])
      expect(() => defineService('calc', { ...spec, version }), version).toThrow(/not a semver version/)
  })

  it('is shown by $describe when set, and re-emitted by the generator', () => {
    const versioned = defineService('calc', { ...spec, version: '2.0.0' })
    expect(describeService(versioned, '/calc', '/calc.urgent')).toMatchObject({ name: 'calc', version: '2.0.0' })
    expect(describeService(defineService('calc', spec), '/calc', '/calc.urgent')).not.toHaveProperty('version')
    expect(emitService(serviceModel(versioned), '', 'mqrpc')).toContain("  version: '2.0.0',\n")
    expect(emitService(serviceModel(defineService('calc', spec)), '', 'mqrpc')).not.toContain('version:')
  })
})
