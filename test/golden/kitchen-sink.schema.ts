/**
 * The golden schema of the generator's tests: one service that uses every
 * TypeBox kind `mqrpc generate` writes out, with descriptions, formats and
 * constraints, an urgent and a one-way method, and events. Its stubs are
 * committed under test/golden/expected/ and compared byte for byte.
 * @module
 */
import { Type } from 'typebox'
import { Binary, defineService } from '../../src/index.js'

const Address = Type.Object(
  {
    street: Type.String({ description: 'Street and number.', minLength: 1 }),
    city: Type.String(),
    postcode: Type.Optional(Type.String({ pattern: '^[0-9]{5}$' })),
    /** A nested object inside a nested object. */
    geo: Type.Optional(Type.Object({ lat: Type.Number({ minimum: -90, maximum: 90 }), lon: Type.Number() })),
  },
  { description: 'Where to ship an order.' },
)

const Shape = Type.Union(
  [
    Type.Object({ kind: Type.Literal('circle'), radius: Type.Number({ exclusiveMinimum: 0 }) }),
    Type.Object({ kind: Type.Literal('rect'), width: Type.Number(), height: Type.Number() }),
  ],
  { description: 'A tagged union.' },
)

export const KitchenSink = defineService('kitchen-sink', {
  description: 'Every schema kind the generator supports, in one service.',
  methods: {
    everything: {
      description: 'Takes one field of every kind and echoes a summary.',
      input: Type.Object({
        id: Type.Integer({ description: 'Integer with bounds.', minimum: 1, maximum: 1_000_000 }),
        ratio: Type.Number({ description: 'Any number.', multipleOf: 0.5 }),
        name: Type.String({ description: 'A plain string.', minLength: 1, maxLength: 64 }),
        email: Type.String({ format: 'email' }),
        createdAt: Type.String({ format: 'date-time', description: 'RFC 3339 time.' }),
        active: Type.Boolean({ default: true }),
        nothing: Type.Null(),
        maybe: Type.Optional(Type.String({ description: 'An optional field.' })),
        nullable: Type.Union([Type.String(), Type.Null()]),
        level: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn')], {
          description: 'Literals as a union.',
        }),
        color: Type.Enum(['red', 'green', 'blue'], { description: 'An enum: a union of its values.' }),
        code: Type.Enum([200, 404, 500]),
        yes: Type.Literal(true),
        tags: Type.Array(Type.String(), { minItems: 1, uniqueItems: true }),
        matrix: Type.Array(Type.Array(Type.Number())),
        points: Type.Array(Type.Object({ x: Type.Integer(), y: Type.Integer() })),
        pair: Type.Tuple([Type.String(), Type.Number()], { description: 'A tuple.' }),
        counts: Type.Record(Type.String(), Type.Integer(), { description: 'A record of integers.' }),
        nested: Type.Record(Type.String(), Type.Record(Type.String(), Type.Boolean()), {
          description: 'A record of records.',
        }),
        byIndex: Type.Record(Type.Number(), Type.String()),
        address: Address,
        shape: Shape,
        either: Type.Union([Type.Array(Type.String()), Type.Integer()]),
        both: Type.Intersect([Type.Object({ a: Type.String() }), Type.Object({ b: Type.Number() })]),
        extra: Type.Object({ known: Type.String() }, { additionalProperties: Type.Number() }),
        anything: Type.Unknown({ description: 'Anything at all.' }),
        whatever: Type.Any(),
        photo: Binary({ maxBytes: 1 << 20, description: 'Raw bytes (a Uint8Array).' }),
        thumbnail: Type.Optional(Binary()),
        'quoted-key': Type.String({ description: 'A property whose name is not an identifier.' }),
      }),
      output: Type.Object({
        ok: Type.Boolean(),
        fields: Type.Integer({ minimum: 0 }),
        digest: Binary({ minBytes: 32, maxBytes: 32 }),
      }),
    },
    lookup: {
      description: 'A scalar input and an array-of-unions output.',
      input: Type.String({ format: 'uuid' }),
      output: Type.Array(Type.Union([Type.Object({ found: Type.Literal(true), value: Type.String() }), Type.Null()])),
    },
    empty: {
      input: Type.Object({}),
      output: Type.Tuple([]),
    },
    halt: {
      description: 'Stops everything; overtakes bulk work.',
      input: Type.Object({ reason: Type.Optional(Type.String()) }),
      output: Type.Null(),
      priority: 'urgent',
    },
    audit: {
      description: 'Fire and forget.',
      input: Type.Object({ line: Type.String(), at: Type.Optional(Type.Integer()) }),
      oneWay: true,
    },
    tail: {
      description: 'Follows the log as it grows.',
      input: Type.Object({ from: Type.Integer({ minimum: 0 }) }),
      output: Type.Object({ line: Type.String(), at: Type.Integer() }),
      stream: 'server',
    },
  },
  events: {
    progress: Type.Object(
      { done: Type.Integer({ minimum: 0 }), total: Type.Integer({ minimum: 0 }), note: Type.Optional(Type.String()) },
      { description: 'How far a long job has come.' },
    ),
    changed: Type.Union([Type.Object({ id: Type.Integer() }), Type.Object({ ids: Type.Array(Type.Integer()) })]),
    ping: Type.Null(),
  },
})
