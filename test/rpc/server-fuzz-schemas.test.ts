/**
 * Structure-aware fuzzing from the schemas themselves (as Mojo generates
 * fuzzers from its IDL): values generated from each method's TypeBox schema
 * (test/helpers/schema-arbitrary.ts), valid ones and broken ones, sent
 * through a real client, and as raw frames, to a real server in another
 * process (test/fixtures/fuzz-server.ts, whose methods return their input).
 *
 * - valid inputs are served: each comes back equal;
 * - invalid inputs get INVALID_ARGUMENT, whose message and
 *   details.violations name a path at, above or below the place that was
 *   broken;
 * - nothing else happens: the server emits no 'error', counts nothing as
 *   dropped, ran exactly the valid calls' handlers, and still answers.
 *
 * fast-check runs each property with a fixed seed (printed on failure, with
 * the shrunk counterexample); MQRPC_FUZZ_SEED replays another.
 */
import { ExtData } from '@msgpack/msgpack'
import fc from 'fast-check'
import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { describe, expect, it } from 'vitest'
import { Code, RpcError } from '../../src/index.js'
import { FUZZ_SCHEMAS } from '../fixtures/fuzz-service.js'
import { FrameType, pack, RawPeer } from '../fixtures/sec-wire.js'
import { fuzzParams, reportFuzzCases } from '../helpers/fuzz.js'
import { atCleanup, connectFuzz, jsonLines, startFuzzServer, useFuzzHarness } from '../helpers/fuzz-rpc.js'
import { uniqueQueueName } from '../helpers/queues.js'
import { arbitraryFromSchema, invalidFromSchema, pointerContains, sameValue } from '../helpers/schema-arbitrary.js'

useFuzzHarness()
reportFuzzCases('server-fuzz-schemas')

const METHODS = Object.keys(FUZZ_SCHEMAS) as (keyof typeof FUZZ_SCHEMAS)[]
/** Calls per method and kind: 5 methods x (40 valid + 40 invalid) + raw frames = a few hundred calls. */
const VALID_PER_METHOD = 40
const INVALID_PER_METHOD = 40
const RAW_PER_METHOD = 8

/** What the broken value's ERROR must say: INVALID_ARGUMENT, with paths, one of them on the way to or from `path`. */
function expectInvalidArgument(error: unknown, path: string, method: string): void {
  expect(error).toBeInstanceOf(RpcError)
  const e = error as RpcError
  expect(e.code, e.message).toBe(Code.INVALID_ARGUMENT)
  expect(e.message).toContain(`input of '${method}' does not match its schema`)
  const violations = (e.details as { violations?: { path: string; message: string }[] } | undefined)?.violations ?? []
  expect(violations.length, e.message).toBeGreaterThan(0)
  for (const v of violations) {
    expect(v.path.startsWith('/'), `violation path ${v.path} is a JSON pointer`).toBe(true)
    expect(e.message).toContain(v.path)
  }
  // At the broken place, above it (a union, an object missing a property), or below it (the item
  // one too many of a tuple, the property an object does not allow).
  expect(
    violations.some((v) => pointerContains(v.path, path) || pointerContains(path, v.path)),
    `a violation at, above or below ${path}: ${JSON.stringify(violations)}`,
  ).toBe(true)
}

describe('the schema arbitraries agree with TypeBox', () => {
  it.each(METHODS)('%s: generated valid values pass Value.Check, broken ones fail it', (method) => {
    const schema: TSchema = FUZZ_SCHEMAS[method]
    fc.assert(
      fc.property(arbitraryFromSchema(schema), (value) => Value.Check(schema, value)),
      fuzzParams(`generator ${method} valid`, 300),
    )
    fc.assert(
      fc.property(invalidFromSchema(schema), ({ value }) => !Value.Check(schema, value)),
      fuzzParams(`generator ${method} invalid`, 300),
    )
  })
})

describe('values generated from each method’s schema, sent to a real server in another process', () => {
  it('valid ones are echoed back equal; broken ones get INVALID_ARGUMENT naming a path; nothing else happens', async () => {
    const { queue, server } = await startFuzzServer()
    const client = await connectFuzz(queue)
    const clientErrors: Error[] = []
    client.on('error', (error) => clientErrors.push(error))
    const tried = { valid: 0, invalid: 0, raw: 0 }
    const hows = new Map<string, number>()

    for (const method of METHODS) {
      const schema: TSchema = FUZZ_SCHEMAS[method]
      await fc.assert(
        fc.asyncProperty(arbitraryFromSchema(schema), async (input) => {
          tried.valid++
          const output = await client.call(method, input)
          if (!sameValue(output, input)) expect(output).toEqual(input)
        }),
        fuzzParams(`${method} valid`, VALID_PER_METHOD),
      )
      await fc.assert(
        fc.asyncProperty(invalidFromSchema(schema), async ({ value, path, how }) => {
          tried.invalid++
          hows.set(how, (hows.get(how) ?? 0) + 1)
          const error = await client.call(method, value).then(
            (output) => new Error(`served an invalid input (${how} at ${path}): ${JSON.stringify(output)}`),
            (e: unknown) => e,
          )
          expectInvalidArgument(error, path, method)
        }),
        fuzzParams(`${method} invalid`, INVALID_PER_METHOD),
      )
    }

    // The same server, through raw frames: msgpack the TypeScript client would not send for these
    // schemas (a timestamp, an unknown ext type, bin where text is due and text where bin is due, nil).
    const peer = RawPeer.create(queue, 'fuzz', uniqueQueueName('raw'))
    atCleanup(() => peer.close())
    await peer.handshake()
    const strangers: [string, unknown][] = [
      ['a timestamp ext', new Date(0)],
      ['an unknown ext type', new ExtData(42, Uint8Array.of(1, 2, 3))],
      ['bin', Uint8Array.of(0x68, 0x69)],
      ['text', 'hi'],
      ['nil', null],
    ]
    for (const method of METHODS) {
      const schema = FUZZ_SCHEMAS[method] as TSchema & { properties: Record<string, TSchema> }
      const samples = fc.sample(
        fc.tuple(arbitraryFromSchema(schema), fc.constantFrom(...Object.keys(schema.properties)), fc.constantFrom(...strangers)),
        { numRuns: RAW_PER_METHOD, seed: 7 },
      )
      for (const [valid, key, [what, stranger]] of samples) {
        const value = { ...(valid as object), [key]: stranger }
        // A stranger the schema happens to accept there (nil for a nullable field) proves nothing here.
        if (Value.Check(schema, value)) continue
        tried.raw++
        const reply = await peer.call(method, value)
        expect(reply.type, `${what} at /${key}`).toBe(FrameType.ERROR)
        const body = reply.body as { code: number; message: string; details?: unknown }
        expectInvalidArgument(new RpcError(body.code, body.message, body.details), `/${key}`, method)
      }
    }

    // Nothing else happened: nothing dropped or reported, every valid call (and only those) ran a
    // handler, and the server still answers.
    const stats = (await client.call('$stats', {})) as {
      dropped: { malformed: number; unknownSession: number; overLimit: number }
      methods: Record<string, { served: number; failed: number }>
    }
    expect(stats.dropped).toEqual({ malformed: 0, unknownSession: 0, overLimit: 0 })
    expect(
      await client.call('scalars', {
        i: 1,
        big: 2,
        n: 0.5,
        pos: 1,
        s: 'x',
        b: true,
        z: null,
        lit: 'on',
        color: 'red',
        level: 'low',
      }),
    ).toEqual({ i: 1, big: 2, n: 0.5, pos: 1, s: 'x', b: true, z: null, lit: 'on', color: 'red', level: 'low' })
    expect(clientErrors).toEqual([])
    expect(client.state).toBe('open')
    server.send('close')
    await server.success(15_000)
    const lines = jsonLines(server)
    expect(lines.filter((l) => l.event === 'error')).toEqual([])
    const served = (lines.find((l) => l.event === 'closed')?.served ?? {}) as Record<string, number>
    const handlerRuns = Object.values(served).reduce((a, b) => a + b, 0)
    // fast-check runs each valid property VALID_PER_METHOD times (no shrinking when all pass), plus the final call.
    expect(handlerRuns).toBe(tried.valid + 1)
    console.log(
      JSON.stringify({
        schemaFuzz: { ...tried, calls: tried.valid + tried.invalid + tried.raw, mutations: Object.fromEntries(hows) },
      }),
    )
  }, 90_000)

  // Regression: a deadline of NaN (a msgpack float) passed readRequest, armed a 1 ms timer and
  // aborted the call without an answer. A deadline must be a finite number or nil, else the
  // REQUEST is answered INVALID_ARGUMENT (docs/PROTOCOL.md, REQUEST body).
  it('a REQUEST whose deadline is NaN (a msgpack float) is answered, not dropped in silence', async () => {
    const { queue } = await startFuzzServer()
    const peer = RawPeer.create(queue, 'fuzz', uniqueQueueName('raw'))
    atCleanup(() => peer.close())
    await peer.handshake()
    // Control: the same call with a far deadline is answered.
    const far = peer.callId()
    await peer.send(peer.request(far, pack(['wait', { ms: 50 }, Date.now() + 60_000])))
    expect((await peer.replyTo(far)).body).toBe(50)
    const nan = peer.callId()
    await peer.send(peer.request(nan, pack(['wait', { ms: 50 }, Number.NaN])))
    const reply = await peer.replyTo(nan, 3_000)
    expect([FrameType.RESPONSE, FrameType.ERROR]).toContain(reply.type)
  }, 60_000)
})
