/**
 * Property-based fuzzing of reassembly (src/protocol/reassembly.ts) with
 * fast-check.
 *
 * Properties:
 * - round trip: several bodies split into chunks, their frames interleaved
 *   in any order that keeps each body's own order, packed any way into
 *   messages, decoded (forEachFrame) and reassembled, come out exactly once
 *   each and byte for byte; the same through the real FrameWriter's packing;
 * - hostile sequences (random keys, body lengths from 0 to 2^32 - 1, chunks
 *   that start, continue, skip, repeat or change the body length, time
 *   passing, sweeps): the Reassembler answers every frame exactly as the
 *   rules of docs/PROTOCOL.md 6.6 say (checked against a model written from
 *   that text), throws nothing but ReassemblyError, and its memory stays
 *   bounded after every step: partial bodies held <= maxPartials, each
 *   holding fewer than bodyLength <= maxBodyBytes bytes and at most twice
 *   the bytes received, and the memory of dropped keys <= 64.
 *
 * Seed fixed and printed on failure (test/helpers/fuzz.ts).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Frame, FrameType, forEachFrame, HEADER_SIZE, writeHeader } from '../../src/protocol/frame.js'
import { FrameWriter } from '../../src/protocol/frame-writer.js'
import { Reassembler, ReassemblyError } from '../../src/protocol/reassembly.js'
import { fuzz, fuzzParams, reportFuzzCases } from '../helpers/fuzz.js'

reportFuzzCases('reassembly-fuzz')

function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Error(`property violated: ${what}`)
}

const BODY_TYPES = [FrameType.REQUEST, FrameType.RESPONSE, FrameType.ERROR, FrameType.EVENT, FrameType.WELCOME, FrameType.REJECT]
const DROPPED_MEMORY = 64

function frame(type: number, callId: number, bodyLength: number, offset: number, chunk: Uint8Array): Frame {
  return { version: 1, type: type as FrameType, flags: 0, token: 7n, callId, bodyLength, offset, chunk }
}

/**
 * What the reassembler holds: partial bodies and their bytes. Read from its
 * private fields (it exposes only `pending`), so that the bound is checked on
 * bytes actually kept, not on what the code intends; if those fields are
 * renamed this fails loudly rather than checking nothing.
 */
function held(r: Reassembler): { partials: { bodyLength: number; received: number; bytes: number }[]; dropped: number } {
  const inside = r as unknown as {
    partials?: Map<number, { bodyLength: number; received: number; bytes: Uint8Array }>
    dropped?: Set<number>
  }
  if (!(inside.partials instanceof Map) || !(inside.dropped instanceof Set)) {
    throw new Error('Reassembler internals changed: update held() in test/protocol/reassembly-fuzz.test.ts')
  }
  return {
    partials: [...inside.partials.values()].map((p) => ({
      bodyLength: p.bodyLength,
      received: p.received,
      bytes: p.bytes.byteLength,
    })),
    dropped: inside.dropped.size,
  }
}

/** The memory bounds, checked after every step. Returns the bytes held. */
function checkBounds(r: Reassembler): number {
  const { partials, dropped } = held(r)
  check(r.pending === partials.length, 'pending counts the partial bodies')
  check(partials.length <= r.maxPartials, `${partials.length} partial bodies held > maxPartials ${r.maxPartials}`)
  let bytes = 0
  for (const p of partials) {
    // The buffer grows by doubling as chunks come: never past twice what was received.
    check(p.bytes >= p.received && p.bytes <= 2 * p.received, 'bytes held are at most twice the bytes received')
    check(p.received < p.bodyLength, 'a partial body is not complete')
    check(p.bodyLength <= r.maxBodyBytes, 'a partial body is within maxBodyBytes')
    bytes += p.bytes
  }
  check(bytes <= r.maxPartials * r.maxBodyBytes, 'bytes held <= maxPartials x maxBodyBytes')
  check(dropped <= DROPPED_MEMORY, `dropped keys remembered ${dropped} > ${DROPPED_MEMORY}`)
  return bytes
}

// ---------------------------------------------------------------------------
// Round trip.

interface Body {
  readonly type: number
  readonly callId: number
  readonly bytes: Uint8Array
  readonly chunkSize: number
}

/** 1..16 bodies with distinct (type, callId) keys, each with its own chunk size. */
const bodies: fc.Arbitrary<Body[]> = fc.uniqueArray(
  fc.record({
    type: fc.constantFrom(...BODY_TYPES),
    callId: fc.oneof(fc.nat({ max: 20 }), fc.nat({ max: 0xffff_ffff })),
    bytes: fc.oneof({ weight: 3, arbitrary: fc.uint8Array({ maxLength: 300 }) }, fc.uint8Array({ maxLength: 3000 })),
    chunkSize: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 1500 })),
  }),
  { minLength: 1, maxLength: 16, selector: (b) => `${b.type}:${b.callId}` },
)

/** The frames of one body, in order, as bytes. */
function framesOf(body: Body): Buffer[] {
  const out: Buffer[] = []
  let offset = 0
  do {
    const length = Math.min(body.chunkSize, body.bytes.byteLength - offset)
    const f = Buffer.alloc(HEADER_SIZE + length)
    writeHeader(
      new DataView(f.buffer, f.byteOffset, f.byteLength),
      0,
      { type: body.type as FrameType, flags: 0, token: 7n, callId: body.callId },
      body.bytes.byteLength,
      offset,
      length,
    )
    f.set(body.bytes.subarray(offset, offset + length), HEADER_SIZE)
    out.push(f)
    offset += length
  } while (offset < body.bytes.byteLength)
  return out
}

/** Decodes messages and reassembles them; returns the bodies completed, keyed, in order of completion. */
function reassemble(messages: readonly Uint8Array[], r: Reassembler): { key: string; bytes: Uint8Array }[] {
  const done: { key: string; bytes: Uint8Array }[] = []
  for (const message of messages) {
    forEachFrame(message, (f) => {
      const body = r.accept(f)
      checkBounds(r)
      if (body !== undefined) done.push({ key: `${f.type}:${f.callId}`, bytes: body })
    })
  }
  return done
}

function expectAllOnce(input: readonly Body[], done: readonly { key: string; bytes: Uint8Array }[], r: Reassembler): void {
  check(done.length === input.length, `${input.length} bodies complete, got ${done.length}`)
  const byKey = new Map(done.map((d) => [d.key, d.bytes]))
  check(byKey.size === done.length, 'no body completes twice')
  for (const body of input) {
    const got = byKey.get(`${body.type}:${body.callId}`)
    check(got !== undefined, `body ${body.type}:${body.callId} completes`)
    if (Buffer.compare(got, body.bytes) !== 0) expect([...got]).toEqual([...body.bytes])
  }
  check(r.pending === 0, 'nothing is left partial')
}

describe('reassembly under fuzzing (fast-check)', () => {
  it('round trip: interleaved fragments of several bodies, packed any way, come out whole, once each', () => {
    fuzz(
      'interleaved round trip',
      5_000,
      fc.property(
        bodies,
        fc.array(fc.nat(), { maxLength: 400 }),
        fc.integer({ min: HEADER_SIZE + 1, max: 8192 }),
        fc.array(fc.boolean(), { maxLength: 400 }),
        (input, picks, messageSize, cuts) => {
          // Interleave: each pick takes the next frame of one body that has frames left.
          const queues = input.map(framesOf)
          const order: Buffer[] = []
          let pick = 0
          while (queues.some((q) => q.length > 0)) {
            const open = queues.filter((q) => q.length > 0)
            const from = open[(picks[pick++] ?? 0) % open.length] as Buffer[]
            order.push(from.shift() as Buffer)
          }
          // Pack consecutive frames into messages of at most messageSize bytes (a frame larger
          // than that travels alone), cutting early wherever `cuts` says.
          const messages: Buffer[] = []
          let current: Buffer[] = []
          let size = 0
          order.forEach((f, i) => {
            if (current.length > 0 && (size + f.byteLength > messageSize || cuts[i] === true)) {
              messages.push(Buffer.concat(current))
              current = []
              size = 0
            }
            current.push(f)
            size += f.byteLength
          })
          if (current.length > 0) messages.push(Buffer.concat(current))
          const r = new Reassembler({ maxPartials: 16, maxBodyBytes: 4096 })
          expectAllOnce(input, reassemble(messages, r), r)
        },
      ),
    )
  })

  it('round trip through the real FrameWriter: split and packed for any message size, several bodies per turn', async () => {
    await fc.assert(
      fc.asyncProperty(bodies, fc.integer({ min: HEADER_SIZE + 1, max: 4096 }), async (input, messageSize) => {
        const messages: Uint8Array[] = []
        // An outbound endpoint that keeps what is sent (both the old and the new FrameWriter shapes).
        const endpoint = {
          name: '/fuzz',
          address: '/fuzz',
          messageSize,
          waitingSends: 0,
          trySend(data: Uint8Array) {
            check(data.byteLength <= messageSize, `a message of ${data.byteLength} > ${messageSize} bytes`)
            messages.push(new Uint8Array(data))
            return true
          },
          async send(data: Uint8Array) {
            this.trySend(data)
          },
        }
        const writer = new FrameWriter(endpoint as unknown as ConstructorParameters<typeof FrameWriter>[0])
        await Promise.all(
          input.map((b) => writer.write({ type: b.type as FrameType, flags: 0, token: 7n, callId: b.callId }, b.bytes)),
        )
        const r = new Reassembler({ maxPartials: 16, maxBodyBytes: 4096 })
        expectAllOnce(input, reassemble(messages, r), r)
      }),
      fuzzParams('FrameWriter round trip', 3_000),
    )
  })

  it('hostile frame sequences: answers follow PROTOCOL.md 6.6 exactly, only ReassemblyError escapes, memory stays bounded', () => {
    fuzz(
      'hostile sequences',
      15_000,
      fc.property(
        fc.record({
          maxBodyBytes: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 600 })),
          maxPartials: fc.integer({ min: 1, max: 6 }),
          partialTimeoutMs: fc.integer({ min: 1, max: 500 }),
        }),
        fc.array(command, { minLength: 1, maxLength: 60 }),
        (limits, commands) => {
          const r = new Reassembler(limits)
          const model = new Model(limits.maxBodyBytes, limits.maxPartials, limits.partialTimeoutMs)
          let now = 1_000_000
          let maxHeld = 0
          for (const c of commands) {
            if (c.kind === 'advance') {
              now += c.ms
              continue
            }
            if (c.kind === 'sweep') {
              const got = r.sweep(now).map((e) => `${e.reason}:${e.type}:${e.callId}`)
              const want = model.sweep(now)
              check(JSON.stringify(got.sort()) === JSON.stringify(want.sort()), `sweep ${got} but the rules say ${want}`)
              for (const e of r.sweep(now)) check(e instanceof ReassemblyError, 'sweep returns ReassemblyErrors')
              maxHeld = Math.max(maxHeld, checkBounds(r))
              continue
            }
            const f = model.frameFor(c)
            let got: string
            try {
              const body = r.accept(f, now)
              if (body !== undefined) check(body.byteLength === f.bodyLength, 'a body has its declared length')
              got = body === undefined ? 'more' : `body:${Buffer.from(body).toString('hex')}`
            } catch (error) {
              if (!(error instanceof ReassemblyError)) throw error
              check(error.callId === f.callId && error.type === f.type, 'the error names the frame')
              got = `error:${error.reason}`
            }
            const want = model.accept(f, now)
            check(got === want, `frame ${showFrame(f)} -> ${got}, but the rules say ${want}`)
            maxHeld = Math.max(maxHeld, checkBounds(r))
          }
          check(maxHeld <= limits.maxPartials * limits.maxBodyBytes, 'bounded')
        },
      ),
    )
  })

  it('a frame claiming a 4 GiB body holds only the bytes sent, and a flood of keys never holds more than maxPartials', () => {
    fuzz(
      'claimed sizes',
      3_000,
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 0xffff_ffff }), fc.uint8Array({ maxLength: 32 }), fc.nat({ max: 0xffff_ffff })), {
          maxLength: 80,
        }),
        (claims) => {
          const r = new Reassembler({ maxPartials: 4, maxBodyBytes: 0xffff_ffff })
          let sent = 0
          for (const [callId, chunk, bodyLength] of claims) {
            const length = Math.max(bodyLength, chunk.byteLength + 1)
            try {
              r.accept(frame(FrameType.REQUEST, callId, Math.min(length, 0xffff_ffff), 0, chunk))
              sent += chunk.byteLength
            } catch (error) {
              if (!(error instanceof ReassemblyError)) throw error
              check(error.reason === 'too-many-partials', `only too-many-partials here, got ${error.reason}`)
            }
            const bytes = checkBounds(r)
            check(bytes <= sent && bytes <= 4 * 32, `holds ${bytes} bytes: only what was sent, for at most 4 bodies`)
          }
        },
      ),
    )
  })
})

// ---------------------------------------------------------------------------
// Hostile commands, and the model of PROTOCOL.md 6.6.

type Command =
  | { kind: 'advance'; ms: number }
  | { kind: 'sweep' }
  | {
      kind: 'frame'
      type: number
      callId: number
      /** How bodyLength is chosen: as the key's partial body says, or any of these. */
      length: 'same' | number
      /** How offset is chosen: 0, where the partial body continues, a gap, a repeat, or any. */
      offset: 'zero' | 'continue' | 'gap' | 'repeat' | number
      chunk: number
      /** The chunk's bytes are this byte repeated. */
      fill: number
    }

const frameCommand: fc.Arbitrary<Command> = fc.record({
  kind: fc.constant('frame' as const),
  type: fc.constantFrom(FrameType.REQUEST, FrameType.RESPONSE, FrameType.EVENT),
  callId: fc.oneof({ weight: 5, arbitrary: fc.nat({ max: 4 }) }, fc.nat({ max: 100 }), fc.constant(0xffff_ffff)),
  length: fc.oneof(
    { weight: 6, arbitrary: fc.constant('same' as const) },
    { weight: 3, arbitrary: fc.nat({ max: 80 }) },
    { weight: 1, arbitrary: fc.nat({ max: 700 }) },
    { weight: 1, arbitrary: fc.constantFrom(0, 1, 0xffff_ffff, 2 ** 31) },
  ),
  offset: fc.oneof(
    { weight: 4, arbitrary: fc.constant('continue' as const) },
    { weight: 3, arbitrary: fc.constant('zero' as const) },
    { weight: 1, arbitrary: fc.constantFrom('gap' as const, 'repeat' as const) },
    { weight: 1, arbitrary: fc.nat({ max: 100 }) },
  ),
  chunk: fc.oneof(fc.nat({ max: 24 }), fc.nat({ max: 200 })),
  fill: fc.nat({ max: 255 }),
})

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 12, arbitrary: frameCommand },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.nat({ max: 400 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'sweep' as const }) },
)

function showFrame(f: Frame): string {
  return `${f.type}:${f.callId} [${f.offset}, +${f.chunk.byteLength}) of ${f.bodyLength}`
}

interface ModelPartial {
  readonly bodyLength: number
  readonly bytes: number[]
  last: number
}

/**
 * Reassembly as docs/PROTOCOL.md 6.6 states it, per key (type, callId):
 * 1. bodyLength over the largest body: drop any partial, fail too-large;
 * 2. offset 0 and the chunk is the whole body: complete (discarding any partial);
 * 3. offset 0: start a partial (replacing one); too-many-partials if that
 *    would exceed the bound and none existed for the key;
 * 4. otherwise continue the partial exactly (same bodyLength, offset =
 *    received), or drop it and fail out-of-order;
 * 5. append; complete at bodyLength.
 * A partial idle for more than partialTimeoutMs is dropped (timeout). The
 * keys of the last 64 dropped bodies are remembered: their later chunks
 * (offset > 0) are dropped quietly; offset 0 starts afresh.
 */
class Model {
  private readonly partials = new Map<string, ModelPartial>()
  private readonly dropped = new Set<string>()

  constructor(
    readonly maxBody: number,
    readonly maxPartials: number,
    readonly timeoutMs: number,
  ) {}

  /** Turns a command into a frame the decoder would deliver (offset + chunk <= bodyLength). */
  frameFor(c: Extract<Command, { kind: 'frame' }>): Frame {
    const partial = this.partials.get(`${c.type}:${c.callId}`)
    const bodyLength = c.length === 'same' ? (partial?.bodyLength ?? c.chunk) : c.length
    const received = partial?.bytes.length ?? 0
    let offset: number
    if (c.offset === 'zero') offset = 0
    else if (c.offset === 'continue') offset = received
    else if (c.offset === 'gap') offset = received + 1
    else if (c.offset === 'repeat') offset = Math.max(0, received - 1)
    else offset = c.offset
    offset = Math.min(offset, bodyLength)
    const chunk = Math.min(c.chunk, bodyLength - offset)
    return frame(c.type, c.callId, bodyLength, offset, new Uint8Array(chunk).fill(c.fill))
  }

  accept(f: Frame, now: number): string {
    const key = `${f.type}:${f.callId}`
    if (f.offset > 0 && this.dropped.has(key)) return 'more'
    this.dropped.delete(key)
    const answer = this.take(key, f, now)
    if (answer.startsWith('error:')) this.remember(key)
    return answer
  }

  private take(key: string, f: Frame, now: number): string {
    if (f.bodyLength > this.maxBody) {
      this.partials.delete(key)
      return 'error:too-large'
    }
    if (f.offset === 0 && f.chunk.byteLength === f.bodyLength) {
      this.partials.delete(key)
      return `body:${Buffer.from(f.chunk).toString('hex')}`
    }
    let partial = this.partials.get(key)
    if (f.offset === 0) {
      if (partial === undefined && this.partials.size >= this.maxPartials) return 'error:too-many-partials'
      partial = { bodyLength: f.bodyLength, bytes: [], last: now }
      this.partials.set(key, partial)
    } else if (partial === undefined || partial.bytes.length !== f.offset || partial.bodyLength !== f.bodyLength) {
      this.partials.delete(key)
      return 'error:out-of-order'
    }
    partial.bytes.push(...f.chunk)
    partial.last = now
    if (partial.bytes.length < f.bodyLength) return 'more'
    this.partials.delete(key)
    return `body:${Buffer.from(partial.bytes).toString('hex')}`
  }

  private remember(key: string): void {
    this.dropped.add(key)
    if (this.dropped.size > DROPPED_MEMORY) this.dropped.delete(this.dropped.values().next().value as string)
  }

  sweep(now: number): string[] {
    const out: string[] = []
    for (const [key, partial] of this.partials) {
      if (now - partial.last <= this.timeoutMs) continue
      this.partials.delete(key)
      this.remember(key)
      out.push(`timeout:${key}`)
    }
    return out
  }
}
