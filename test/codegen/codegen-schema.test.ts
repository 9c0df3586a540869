/**
 * The generator's pure parts, in process: JSON Schema to TypeScript types,
 * the literal printer, names, the service model's clash checks, and the
 * round trip of a service through its JSON Schemas (equal fingerprints).
 */
import { Type } from 'typebox'
import { describe, expect, it } from 'vitest'
import { Calc } from '../../examples/calc/service.js'
import { camelCase, docComment, LINE_WIDTH, pascalCase, printLiteral, quote } from '../../src/codegen/format.js'
import { rebuildService } from '../../src/codegen/revive.js'
import { schemaDocLines, toType } from '../../src/codegen/schema-to-ts.js'
import { serviceModel } from '../../src/codegen/service-model.js'
import { Binary, defineService } from '../../src/index.js'
import { Shop } from '../fixtures/codegen-schema.js'
import { KitchenSink } from '../golden/kitchen-sink.schema.js'

const json = (schema: unknown) => JSON.parse(JSON.stringify(schema)) as unknown
const type = (schema: unknown) => toType(json(schema))

describe('JSON Schema to TypeScript', () => {
  it('writes scalars, literals and enums', () => {
    expect(type(Type.String())).toBe('string')
    expect(type(Type.Number())).toBe('number')
    expect(type(Type.Integer())).toBe('number')
    expect(type(Type.Boolean())).toBe('boolean')
    expect(type(Type.Null())).toBe('null')
    expect(type(Type.Unknown())).toBe('unknown')
    expect(type(Type.Any())).toBe('unknown')
    expect(type(Type.Never())).toBe('never')
    expect(type(Type.Literal("it's"))).toBe("'it\\'s'")
    expect(type(Type.Literal(42))).toBe('42')
    expect(type(Type.Literal(false))).toBe('false')
    expect(type(Type.Enum(['a', 'b', 3]))).toBe("'a' | 'b' | 3")
    expect(type(Type.Union([Type.Literal('x'), Type.Null()]))).toBe("'x' | null")
  })

  it('writes arrays, tuples and records', () => {
    expect(type(Type.Array(Type.String()))).toBe('string[]')
    expect(type(Type.Array(Type.Union([Type.String(), Type.Number()])))).toBe('Array<string | number>')
    expect(type(Type.Tuple([Type.String(), Type.Integer()]))).toBe('[string, number]')
    expect(type(Type.Tuple([]))).toBe('[]')
    expect(type(Type.Record(Type.String(), Type.Integer()))).toBe('Record<string, number>')
    expect(type(Type.Record(Type.String(), Type.Array(Type.Boolean())))).toBe('Record<string, boolean[]>')
    expect(type(Type.Object({}))).toBe('Record<string, never>')
  })

  it('marks Binary() fields as Uint8Array', () => {
    expect(type(Binary())).toBe('Uint8Array')
    expect(type(Type.Array(Binary({ maxBytes: 4 })))).toBe('Uint8Array[]')
    expect(type(Type.Object({ blob: Type.Optional(Binary()) }))).toBe('{\n  blob?: Uint8Array\n}')
  })

  it('writes objects one property per line, optional ones with ?, and docs from descriptions and formats', () => {
    const schema = Type.Object({
      id: Type.Integer({ description: 'The id.', minimum: 1 }),
      email: Type.Optional(Type.String({ format: 'email' })),
      'odd-key': Type.Boolean(),
      inner: Type.Object({ deep: Type.Null() }),
    })
    expect(type(schema)).toBe(
      [
        '{',
        '  /**',
        '   * The id.',
        '   *',
        '   * @integer',
        '   * @minimum 1',
        '   */',
        '  id: number',
        '  /** @format email */',
        '  email?: string',
        "  'odd-key': boolean",
        '  inner: {',
        '    deep: null',
        '  }',
        '}',
      ].join('\n'),
    )
  })

  it('breaks a union of object types one member per line, and hugs one object with null', () => {
    const a = Type.Object({ kind: Type.Literal('a') })
    const b = Type.Object({ kind: Type.Literal('b') })
    expect(type(Type.Union([a, b]))).toBe("\n  | {\n      kind: 'a'\n    }\n  | {\n      kind: 'b'\n    }")
    expect(type(Type.Union([a, Type.Null()]))).toBe("{\n  kind: 'a'\n} | null")
  })

  it('gives index signatures room for the named properties', () => {
    const schema = Type.Object({ known: Type.String() }, { additionalProperties: Type.Number() })
    expect(type(schema)).toBe('{\n  known: string\n  [key: string]: number | string\n}')
  })

  it('refuses references, which it cannot inline', () => {
    expect(() => toType({ $ref: 'Other' }, '', '/input')).toThrow(/\/input: references \(\$ref/)
  })

  it('turns constraints into doc tags', () => {
    expect(schemaDocLines(json(Type.String({ format: 'uuid', maxLength: 36 })))).toEqual(['@format uuid', '@maxLength 36'])
    expect(schemaDocLines(json(Binary({ maxBytes: 10, description: 'Bytes.' })))).toEqual(['Bytes.', '', '@maxBytes 10'])
  })
})

describe('text helpers', () => {
  it('name things in TypeScript style', () => {
    expect(pascalCase('kitchen-sink')).toBe('KitchenSink')
    expect(pascalCase('calc')).toBe('Calc')
    expect(pascalCase('getUser')).toBe('GetUser')
    expect(pascalCase('my.service_v2')).toBe('MyServiceV2')
    expect(camelCase('kitchen-sink')).toBe('kitchenSink')
  })

  it('quote strings safely', () => {
    expect(quote("a'b\\c\nd\u0001")).toBe("'a\\'b\\\\c\\nd\\u0001'")
  })

  it('keep doc comments closed', () => {
    expect(docComment(['ends */ early'], '')).toBe('/** ends *\\/ early */\n')
    expect(docComment([], '  ')).toBe('')
  })

  it('print literals with sorted keys, on one line when they fit', () => {
    expect(printLiteral({ b: 1, a: ['x', null, true] })).toBe("{ a: ['x', null, true], b: 1 }")
    const long = { key: 'v'.repeat(LINE_WIDTH) }
    expect(printLiteral(long)).toBe(`{\n  key: '${'v'.repeat(LINE_WIDTH)}',\n}`)
    // Prettier's rule: an array of objects with several keys each is always broken.
    expect(
      printLiteral([
        { a: 1, b: 2 },
        { a: 3, b: 4 },
      ]),
    ).toBe('[\n  { a: 1, b: 2 },\n  { a: 3, b: 4 },\n]')
    expect(() => printLiteral(Number.NaN)).toThrow(/JSON has no such number/)
  })
})

describe('the service model', () => {
  it('embeds exactly the JSON that the fingerprint covers', () => {
    const model = serviceModel(Calc)
    expect(model.fingerprint).toBe(Calc.fingerprint)
    expect(model.names).toMatchObject({
      client: 'CalcClient',
      connect: 'connectCalc',
      handlers: 'CalcHandlers',
      serve: 'serveCalc',
    })
    expect(model.methods.map((m) => [m.name, m.inputType, m.outputType])).toEqual([
      ['add', 'AddInput', 'AddOutput'],
      ['divide', 'DivideInput', 'DivideOutput'],
      ['checksum', 'ChecksumInput', 'ChecksumOutput'],
      ['log', 'LogInput', undefined],
      ['stop', 'StopInput', 'StopOutput'],
    ])
  })

  it('refuses names that would clash in the generated code', () => {
    const clash = defineService('clash', {
      methods: {
        get: { input: Type.Object({}), output: Type.Null() },
        Get: { input: Type.Object({}), output: Type.Null() },
      },
    })
    expect(() => serviceModel(clash)).toThrow(/GetInput/)
  })

  it.each([
    ['calc', Calc],
    ['shop', Shop],
    ['kitchen-sink', KitchenSink],
  ])('rebuilds %s from its JSON Schemas with the same fingerprint', (_name, service) => {
    const rebuilt = rebuildService(serviceModel(service))
    expect(rebuilt.fingerprint).toBe(service.fingerprint)
  })

  it('rebuilt binary fields still check for Uint8Array', () => {
    const rebuilt = rebuildService(serviceModel(Calc))
    const checksum = rebuilt.methods.get('checksum')
    expect(checksum?.input.check({ data: new Uint8Array(3) })).toBe(true)
    expect(checksum?.input.check({ data: 'abc' })).toBe(false)
    expect(checksum?.input.check({ data: [1, 2, 3] })).toBe(false)
    const upload = rebuildService(serviceModel(Shop)).methods.get('upload')
    expect(upload?.input.check({ name: 'x', data: new Uint8Array(2 << 20) })).toBe(false)
  })
})
