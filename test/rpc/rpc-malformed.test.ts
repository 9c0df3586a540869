/**
 * Bad input of every kind, written straight into a running server's request
 * queue: broken headers, broken HELLOs, broken REQUEST bodies from a real
 * session, and fragments that do not add up. The server answers what it can
 * (an ERROR for the call id when it knows one), drops and counts the rest,
 * emits 'error' for what no caller will hear about, and keeps serving.
 */
import { describe, expect, it } from 'vitest'
import { Code } from '../../src/index.js'
import { FrameType, pack, type RawPeer, type ReceivedFrame, rawFrame } from '../fixtures/sec-wire.js'
import { connect, rawPeer, startServer, stats, useSecHarness } from '../helpers/sec.js'
import { until } from '../helpers/wait.js'

useSecHarness()

/** The ERROR a raw call got, with its code and message. */
function errorOf(frame: ReceivedFrame): { code: number; message: string } {
  expect(frame.type, `expected an ERROR, got type ${frame.type}`).toBe(FrameType.ERROR)
  return frame.body as { code: number; message: string }
}

/** A raw peer with a finished handshake. */
async function session(queue: string): Promise<RawPeer> {
  const peer = rawPeer(queue)
  await peer.handshake()
  return peer
}

/** Proves the server still serves: a real client's call and a raw session's call both succeed. */
async function stillServes(queue: string, peer?: RawPeer): Promise<void> {
  const client = await connect(queue)
  expect(await client.add({ a: 40, b: 2 })).toBe(42)
  await client.close()
  if (peer !== undefined) {
    const reply = await peer.call('add', { a: 1, b: 1 })
    expect(reply.type).toBe(FrameType.RESPONSE)
    expect(reply.body).toBe(2)
  }
}

const HELLO_SPEC = { type: FrameType.HELLO }
const add = pack(['add', { a: 1, b: 2 }, null])

describe('malformed headers are dropped, counted and reported', () => {
  const cases: ReadonlyArray<readonly [string, (token: bigint) => Uint8Array, string]> = [
    ['an empty message', () => new Uint8Array(0), 'empty message'],
    ['fewer than 28 bytes', () => rawFrame({ type: FrameType.HELLO }).subarray(0, 27), '27 stray bytes'],
    ['a wrong version byte', () => rawFrame({ type: FrameType.HELLO, version: 2 }), 'protocol version 2'],
    ['version 0', () => rawFrame({ type: FrameType.REQUEST, version: 0 }, add), 'protocol version 0'],
    ['an unknown frame type', () => rawFrame({ type: 0x7f }), 'unknown frame type 0x7f'],
    ['a non-zero reserved byte 3', () => rawFrame({ type: FrameType.PING, reserved3: 1 }), 'reserved header bytes'],
    ['non-zero reserved bytes 26-27', () => rawFrame({ type: FrameType.PING, reserved26: 0x100 }), 'reserved header bytes'],
    ['unknown flags', () => rawFrame({ type: FrameType.REQUEST, flags: 0x80 }, add), 'unknown frame flags 0x80'],
    [
      'a chunkLength longer than the message',
      (token) => rawFrame({ type: FrameType.REQUEST, token, callId: 5, chunkLength: 200 }, add),
      'chunk of 200 bytes but only',
    ],
    [
      'offset + chunkLength past bodyLength',
      (token) => rawFrame({ type: FrameType.REQUEST, token, callId: 5, bodyLength: add.byteLength, offset: 4 }, add),
      'runs past the body',
    ],
    [
      'a bodyLength shorter than the chunk',
      (token) => rawFrame({ type: FrameType.REQUEST, token, callId: 5, bodyLength: 3 }, add),
      'runs past the body',
    ],
  ]

  it.each(cases)('%s', async (_what, bytes, reason) => {
    const { queue, errors } = await startServer()
    const peer = await session(queue)
    await peer.send(bytes(peer.token))
    await until(() => errors.length === 1, "the server emitted 'error'")
    expect(errors[0]?.message).toContain(`dropped a malformed message on ${queue}`)
    expect(errors[0]?.message).toContain(reason)
    const client = await connect(queue)
    expect((await stats(client)).dropped).toEqual({ malformed: 1, unknownSession: 0, overLimit: 0 })
    // Nothing was answered for it, and both sessions still work.
    expect(peer.drain()).toEqual([])
    await stillServes(queue, peer)
  })

  it('the urgent lane is guarded the same way', async () => {
    const { queue, errors } = await startServer()
    const peer = await session(queue)
    const urgent = rawPeer(`${queue}.urgent`)
    await urgent.send(rawFrame({ type: FrameType.REQUEST, token: peer.token, version: 9 }, add))
    await until(() => errors.length === 1, "the server emitted 'error'")
    expect(errors[0]?.message).toContain('protocol version 9')
    await stillServes(queue, peer)
  })

  it('a valid frame followed by stray bytes: the frame is served, the rest is dropped and reported', async () => {
    const { queue, errors } = await startServer()
    const peer = await session(queue)
    const callId = peer.callId()
    const frame = peer.request(callId, add)
    await peer.send(Buffer.concat([frame, Buffer.from([1, 2, 3, 4, 5])]))
    const reply = await peer.replyTo(callId)
    expect(reply.type).toBe(FrameType.RESPONSE)
    expect(reply.body).toBe(3)
    await until(() => errors.length === 1, "the server emitted 'error'")
    expect(errors[0]?.message).toContain('5 stray bytes after the last frame')
    await stillServes(queue, peer)
  })

  it('two whole frames in one message are both served', async () => {
    const { queue, errors } = await startServer()
    const peer = await session(queue)
    const [first, second] = [peer.callId(), peer.callId()]
    await peer.send(
      Buffer.concat([
        peer.request(first, pack(['add', { a: 1, b: 1 }, null])),
        peer.request(second, pack(['add', { a: 2, b: 2 }, null])),
      ]),
    )
    expect((await peer.replyTo(first)).body).toBe(2)
    expect((await peer.replyTo(second)).body).toBe(4)
    expect(errors).toEqual([])
  })
})

describe('malformed HELLOs are dropped, counted and reported', () => {
  const cases: ReadonlyArray<readonly [string, (peer: RawPeer) => Uint8Array, string]> = [
    ['a body that is not msgpack', () => rawFrame(HELLO_SPEC, Uint8Array.of(0xc1)), 'not valid msgpack'],
    ['a truncated msgpack body', (peer) => rawFrame(HELLO_SPEC, pack(peer.helloBody()).subarray(0, 12)), 'not valid msgpack'],
    ['an empty body', () => rawFrame(HELLO_SPEC), 'expected a map'],
    ['an array instead of a map', () => rawFrame(HELLO_SPEC, pack([1, 'sec'])), 'expected a map'],
    [
      'no replyQueue',
      (peer) => rawFrame(HELLO_SPEC, pack(peer.helloBody({ replyQueue: undefined }))),
      'field "replyQueue" must be string',
    ],
    ['no nonce', (peer) => rawFrame(HELLO_SPEC, pack(peer.helloBody({ nonce: undefined }))), 'field "nonce" must be bin'],
    [
      'a nonce that is a string',
      (peer) => rawFrame(HELLO_SPEC, pack(peer.helloBody({ nonce: 'abcdefgh' }))),
      'field "nonce" must be bin',
    ],
    [
      'a protocol that is a string',
      (peer) => rawFrame(HELLO_SPEC, pack(peer.helloBody({ protocol: '1' }))),
      'field "protocol" must be number',
    ],
    [
      'a pid that is missing',
      (peer) => rawFrame(HELLO_SPEC, pack(peer.helloBody({ pid: undefined }))),
      'field "pid" must be number',
    ],
    [
      'a reply queue name without a slash',
      (peer) => rawFrame(HELLO_SPEC, pack(peer.helloBody({ replyQueue: 'no-slash' }))),
      'bad reply path',
    ],
    [
      'a reply queue that does not exist',
      (peer) => rawFrame(HELLO_SPEC, pack(peer.helloBody({ replyQueue: `${peer.reply.name}-gone` }))),
      'no queue named',
    ],
    [
      'a HELLO split over two frames',
      (peer) => {
        const body = pack(peer.helloBody())
        return rawFrame({ type: FrameType.HELLO, bodyLength: body.byteLength }, body.subarray(0, 10))
      },
      'HELLO must fit in one frame',
    ],
    ['a HELLO with a token', (peer) => rawFrame({ type: FrameType.HELLO, token: 77n }, pack(peer.helloBody())), ''],
  ]

  it.each(cases)('%s', async (what, bytes, reason) => {
    const { server, queue, errors } = await startServer()
    const peer = rawPeer(queue)
    const client = await connect(queue)
    await peer.send(bytes(peer))
    if (what === 'a HELLO with a token') {
      // A HELLO with a token is a frame of an unknown session: dropped and counted, like any forged frame.
      await until(() => server.sessionCount === 1, 'nothing changed')
      const dropped = (await stats(client)).dropped
      expect(dropped.unknownSession).toBe(1)
      expect(errors).toEqual([])
    } else {
      await until(() => errors.length === 1, "the server emitted 'error'")
      expect(errors[0]?.message).toContain(`dropped a HELLO on ${queue}`)
      expect(errors[0]?.message).toContain(reason)
      expect((await stats(client)).dropped).toEqual({ malformed: 1, unknownSession: 0, overLimit: 0 })
    }
    expect(peer.drain()).toEqual([])
    expect(server.sessionCount).toBe(1)
    // The same peer can still shake hands properly.
    await peer.handshake()
    await stillServes(queue, peer)
  })

  const refusals: ReadonlyArray<readonly [string, Record<string, unknown>, Code, string]> = [
    ['another protocol version', { protocol: 2 }, Code.FAILED_PRECONDITION, 'client speaks protocol 2'],
    ['another service', { service: 'calc' }, Code.NOT_FOUND, "serves 'sec', not 'calc'"],
  ]

  it.each(refusals)('a well-formed HELLO for %s is answered with a REJECT', async (_what, patch, code, message) => {
    const { server, queue } = await startServer()
    const peer = rawPeer(queue)
    await peer.sendHello(patch)
    const reject = await peer.next()
    expect(reject.type).toBe(FrameType.REJECT)
    expect(reject.token).toBe(0n)
    expect(reject.body).toMatchObject({ code, nonce: new Uint8Array(peer.nonce) })
    expect((reject.body as { message: string }).message).toContain(message)
    expect(server.sessionCount).toBe(0)
    await peer.handshake()
    await stillServes(queue, peer)
  })

  it("a HELLO for another schema version is let in, and WELCOME carries the server's shape to judge it by", async () => {
    const { server, queue } = await startServer()
    const peer = rawPeer(queue)
    const welcome = await peer.handshake({ fingerprint: 'not-the-same' })
    expect(welcome.shape).toMatchObject({ name: 'sec', methods: { add: { priority: 'normal' } } })
    expect(server.sessionCount).toBe(1)
    const same = rawPeer(queue)
    expect((await same.handshake()).shape).toBeUndefined()
  })
})

describe('malformed REQUESTs of a real session are answered with an ERROR for their call id', () => {
  const bodies: ReadonlyArray<readonly [string, Uint8Array, Code, string]> = [
    ['not msgpack', Uint8Array.of(0xc1, 0xc1), Code.INVALID_ARGUMENT, 'REQUEST body is not valid msgpack'],
    [
      'msgpack with trailing bytes',
      Uint8Array.of(...pack(['add', {}, null]), 0x00),
      Code.INVALID_ARGUMENT,
      'REQUEST body is not valid msgpack',
    ],
    ['empty', new Uint8Array(0), Code.INVALID_ARGUMENT, 'expected [method, input, deadline]'],
    ['a map, not an array', pack({ method: 'add' }), Code.INVALID_ARGUMENT, 'expected [method, input, deadline]'],
    ['an array of two', pack(['add', { a: 1, b: 2 }]), Code.INVALID_ARGUMENT, 'expected [method, input, deadline]'],
    ['an array of four', pack(['add', { a: 1, b: 2 }, null, 1]), Code.INVALID_ARGUMENT, 'expected [method, input, deadline]'],
    ['a method that is a number', pack([7, { a: 1, b: 2 }, null]), Code.INVALID_ARGUMENT, 'method must be a string'],
    ['a method that is nil', pack([null, { a: 1, b: 2 }, null]), Code.INVALID_ARGUMENT, 'method must be a string'],
    [
      'a deadline that is a string',
      pack(['add', { a: 1, b: 2 }, 'soon']),
      Code.INVALID_ARGUMENT,
      'deadline must be a finite number (epoch ms) or nil',
    ],
    [
      'a deadline that is a map',
      pack(['add', { a: 1, b: 2 }, {}]),
      Code.INVALID_ARGUMENT,
      'deadline must be a finite number (epoch ms) or nil',
    ],
    ['an input that fails the schema', pack(['add', { a: 'one', b: 2 }, null]), Code.INVALID_ARGUMENT, "input of 'add'"],
    ['a deadline already past', pack(['add', { a: 1, b: 2 }, 1]), Code.DEADLINE_EXCEEDED, 'had passed'],
    ['an unknown method', pack(['nope', {}, null]), Code.UNIMPLEMENTED, "method 'nope' is not part of service 'sec'"],
  ]

  it.each(bodies)('a body that is %s', async (_what, body, code, message) => {
    const { queue, errors } = await startServer()
    const peer = await session(queue)
    const callId = peer.callId()
    await peer.send(peer.request(callId, body))
    const error = errorOf(await peer.replyTo(callId))
    expect(error.code).toBe(code)
    expect(error.message).toContain(message)
    expect(errors).toEqual([])
    await stillServes(queue, peer)
  })

  it('a call id already in flight is dropped unanswered (an answer would pass for the first call’s); the first call is unharmed', async () => {
    const { queue, errors } = await startServer()
    const peer = await session(queue)
    const callId = peer.callId()
    await peer.send(peer.request(callId, pack(['hold', { id: 'first', ms: 300 }, null])))
    await peer.send(peer.request(callId, pack(['hold', { id: 'second', ms: 0 }, null])))
    const first = await peer.replyTo(callId)
    expect(first.type).toBe(FrameType.RESPONSE)
    expect(first.body).toBe('first')
    expect(errors.map((e) => e.message).join('\n')).toContain(`call id ${callId} is already in flight`)
  })

  it('frames of types a server never receives, with a valid token, are dropped, counted and reported', async () => {
    const { queue, errors } = await startServer()
    const peer = await session(queue)
    const types = [
      FrameType.RESPONSE,
      FrameType.ERROR,
      FrameType.EVENT,
      FrameType.WELCOME,
      FrameType.CHALLENGE,
      FrameType.REJECT,
      FrameType.PONG,
    ]
    for (const type of types) await peer.send(rawFrame({ type, token: peer.token, callId: 1 }, pack('x')))
    const client = await connect(queue)
    await until(() => errors.length === types.length, "the server emitted 'error' for each")
    expect((await stats(client)).dropped.malformed).toBe(types.length)
    expect(errors[0]?.message).toContain('RESPONSE')
    expect(peer.drain()).toEqual([])
    await stillServes(queue, peer)
  })

  it('a REQUEST sent with the token before the PROOF is not served', async () => {
    const { queue } = await startServer()
    const peer = rawPeer(queue)
    await peer.sendHello()
    const challenge = await peer.next()
    expect(challenge.type).toBe(FrameType.CHALLENGE)
    peer.token = challenge.token
    await peer.send(peer.request(1, add))
    await peer.send(rawFrame({ type: FrameType.PROOF, token: peer.token }))
    expect((await peer.next()).type).toBe(FrameType.WELCOME)
    await stillServes(queue, peer)
    expect(peer.drain()).toEqual([])
  })
})

describe('fragments that do not add up', () => {
  const body = pack(['add', { a: 5, b: 6 }, null])
  /** The REQUEST for `callId` split into frames at `cuts` (offsets), optionally reordered. */
  function fragments(peer: RawPeer, callId: number, cuts: number[]): Buffer[] {
    const edges = [0, ...cuts, body.byteLength]
    return edges
      .slice(0, -1)
      .map((start, i) =>
        rawFrame(
          { type: FrameType.REQUEST, token: peer.token, callId, bodyLength: body.byteLength, offset: start },
          body.subarray(start, edges[i + 1]),
        ),
      )
  }

  it('a body split over several messages, in order, is reassembled and served', async () => {
    const { queue } = await startServer()
    const peer = await session(queue)
    const callId = peer.callId()
    for (const frame of fragments(peer, callId, [3, 7, 12])) await peer.send(frame)
    expect((await peer.replyTo(callId)).body).toBe(11)
  })

  it('fragments out of order: INVALID_ARGUMENT for that call', async () => {
    const { queue } = await startServer()
    const peer = await session(queue)
    const callId = peer.callId()
    const [a, b, c] = fragments(peer, callId, [4, 8]) as [Buffer, Buffer, Buffer]
    await peer.send(a)
    await peer.send(c)
    const error = errorOf(await peer.replyTo(callId))
    expect(error.code).toBe(Code.INVALID_ARGUMENT)
    expect(error.message).toContain('does not continue what was received')
    // The late middle chunk belongs to a body already dropped: dropped quietly, one ERROR per body.
    await peer.send(b)
    await stillServes(queue, peer)
    expect(peer.drain()).toEqual([])
  })

  it('a fragment of a partial body that was never started: INVALID_ARGUMENT', async () => {
    const { queue } = await startServer()
    const peer = await session(queue)
    const callId = peer.callId()
    await peer.send((fragments(peer, callId, [6]) as Buffer[])[1] as Buffer)
    const error = errorOf(await peer.replyTo(callId))
    expect(error.code).toBe(Code.INVALID_ARGUMENT)
    expect(error.message).toContain('chunk at offset 6')
    await stillServes(queue, peer)
  })

  it('a fragment that changes the body length midway: INVALID_ARGUMENT', async () => {
    const { queue } = await startServer()
    const peer = await session(queue)
    const callId = peer.callId()
    await peer.send(
      rawFrame({ type: FrameType.REQUEST, token: peer.token, callId, bodyLength: 100, offset: 0 }, new Uint8Array(10)),
    )
    await peer.send(
      rawFrame({ type: FrameType.REQUEST, token: peer.token, callId, bodyLength: 200, offset: 10 }, new Uint8Array(10)),
    )
    expect(errorOf(await peer.replyTo(callId)).code).toBe(Code.INVALID_ARGUMENT)
    await stillServes(queue, peer)
  })

  it('more partial bodies than maxPartials: RESOURCE_EXHAUSTED naming maxPartials; the others complete', async () => {
    const { queue } = await startServer({ maxPartials: 2 })
    const peer = await session(queue)
    const ids = [peer.callId(), peer.callId(), peer.callId()]
    const split = ids.map((id) => fragments(peer, id, [5]) as [Buffer, Buffer])
    for (const [first] of split) await peer.send(first)
    const refused = errorOf(await peer.replyTo(ids[2] as number))
    expect(refused.code).toBe(Code.RESOURCE_EXHAUSTED)
    expect(refused.message).toContain('more than 2 partial bodies in flight (maxPartials)')
    // The rest of the refused body is dropped quietly; the two held bodies complete.
    for (const [, second] of split) await peer.send(second)
    expect((await peer.replyTo(ids[0] as number)).body).toBe(11)
    expect((await peer.replyTo(ids[1] as number)).body).toBe(11)
    await stillServes(queue, peer)
    expect(peer.drain()).toEqual([])
  })

  it('a partial body that never completes is dropped after partialTimeoutMs with an ERROR naming it', async () => {
    const { queue } = await startServer({ partialTimeoutMs: 200, heartbeatMs: 1_000 })
    const peer = await session(queue)
    const callId = peer.callId()
    await peer.send((fragments(peer, callId, [5]) as Buffer[])[0] as Buffer)
    const error = errorOf(await peer.replyTo(callId, 10_000))
    expect(error.code).toBe(Code.INVALID_ARGUMENT)
    expect(error.message).toContain('partialTimeoutMs')
    const client = await connect(queue)
    expect((await stats(client)).dropped.overLimit).toBe(1)
    await stillServes(queue, peer)
  })

  it('a body longer than maxBodyBytes is refused on its first chunk with RESOURCE_EXHAUSTED naming maxBodyBytes', async () => {
    const { queue } = await startServer({ maxBodyBytes: 1_000 })
    const peer = await session(queue)
    const callId = peer.callId()
    await peer.send(
      rawFrame({ type: FrameType.REQUEST, token: peer.token, callId, bodyLength: 2 ** 32 - 1 }, new Uint8Array(100)),
    )
    const error = errorOf(await peer.replyTo(callId))
    expect(error.code).toBe(Code.RESOURCE_EXHAUSTED)
    expect(error.message).toContain(`body of ${2 ** 32 - 1} bytes exceeds the limit of 1000 bytes (maxBodyBytes)`)
    // Its later chunks get no second ERROR.
    await peer.send(
      rawFrame({ type: FrameType.REQUEST, token: peer.token, callId, bodyLength: 2 ** 32 - 1, offset: 100 }, new Uint8Array(100)),
    )
    await stillServes(queue, peer)
    expect(peer.drain()).toEqual([])
  })
})

describe('after a burst of every kind of bad input', () => {
  it('the server still serves, and its counters add up', async () => {
    const { server, queue, errors } = await startServer({ maxPartials: 1 })
    const client = await connect(queue)
    const peer = await session(queue)
    const junk = [
      new Uint8Array(0),
      Uint8Array.of(1, 2, 3),
      rawFrame({ type: FrameType.HELLO, version: 7 }),
      rawFrame({ type: 0xee }),
      rawFrame(HELLO_SPEC, Uint8Array.of(0xc1)),
      rawFrame({ type: FrameType.REQUEST, token: 12345n, callId: 1 }, add),
      rawFrame({ type: FrameType.REQUEST, token: peer.token, callId: 2 }, Uint8Array.of(0xc1)),
      rawFrame({ type: FrameType.REQUEST, token: peer.token, callId: 3, bodyLength: 50, offset: 10 }, new Uint8Array(5)),
    ]
    for (const bytes of junk) await peer.send(bytes)
    expect(errorOf(await peer.replyTo(2)).code).toBe(Code.INVALID_ARGUMENT)
    expect(errorOf(await peer.replyTo(3)).code).toBe(Code.INVALID_ARGUMENT)
    await until(() => errors.length === 5, "the server emitted 'error' for each dropped message")
    // The REQUEST that is not msgpack was answered, and counted as malformed too.
    expect((await stats(client)).dropped).toEqual({ malformed: 6, unknownSession: 1, overLimit: 1 })
    expect(server.sessionCount).toBe(2)
    await stillServes(queue, peer)
    expect(await client.add({ a: 1, b: 2 })).toBe(3)
  })
})
