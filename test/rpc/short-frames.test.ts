/**
 * Short frames (docs/PROTOCOL.md 3.1), agreed in the handshake: a server in
 * its own process writes them only to a client whose HELLO asked, says so
 * in WELCOME, and reads them in its request queue; a client that did not
 * ask (an older one, or one written from an older PROTOCOL.md) gets the
 * frames it always got. The TypeScript client, facing a server driven by
 * hand, asks for them, and writes them only when that WELCOME says so. A short frame that opens a message, or is cut
 * short, is malformed like any other: dropped, counted, and the server
 * keeps serving.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { MessageQueue } from '../../src/index.js'
import { Sec } from '../fixtures/sec-service.js'
import { FrameType, pack, type RawPeer, rawFrame, rawShortFrame, receivedFrames } from '../fixtures/sec-wire.js'
import { trackQueue, uniqueQueueName } from '../helpers/queues.js'
import { connect, rawPeer, startServer, stats, useSecHarness } from '../helpers/sec.js'
import { type Child, spawnFixture, useChildReaper } from '../helpers/spawn.js'
import { until } from '../helpers/wait.js'

useSecHarness()
useChildReaper()

/** Server processes a test started: asked to close (removing their queues) before they are reaped. */
const serverChildren = new Set<Child>()
// Registered last, so it runs first: a server killed before it closed would leave its queues.
afterEach(async () => {
  await Promise.allSettled([...serverChildren].filter((child) => child.running).map((child) => stopServer(child)))
  serverChildren.clear()
})

async function stopServer(child: Child): Promise<void> {
  child.send('close')
  await child.success(20_000)
}

/** A Sec server in a process of its own; `stop` closes it and checks that it exits cleanly. */
async function serverProcess(): Promise<{ queue: string; stop: () => Promise<void> }> {
  const queue = uniqueQueueName('short')
  trackQueue(queue)
  trackQueue(`${queue}.urgent`)
  const child = spawnFixture('sec-server.ts', [queue])
  serverChildren.add(child)
  await child.waitForLine('ready', 20_000)
  return { queue, stop: () => stopServer(child) }
}

/** Sends `count` add calls in one message and returns their answers, in call order, with how each came. */
async function burst(peer: RawPeer, count: number): Promise<{ sums: unknown[]; short: number; frames: number }> {
  const ids = Array.from({ length: count }, () => peer.callId())
  await peer.send(Buffer.concat(ids.map((id, i) => peer.request(id, pack(['add', { a: i, b: 1000 }, null])))))
  const replies = []
  for (const id of ids) replies.push(await peer.replyTo(id))
  return {
    sums: replies.map((reply) => reply.body),
    short: replies.filter((reply) => reply.short).length,
    frames: replies.length,
  }
}

const expectedSums = (count: number) => Array.from({ length: count }, (_, i) => i + 1000)

describe('short frames, agreed in the handshake', () => {
  it('a server process writes short replies to a client that asked, and full ones to a client that did not', async () => {
    const server = await serverProcess()
    const asking = rawPeer(server.queue)
    const welcome = await asking.handshake({ shortFrames: true })
    expect(welcome.shortFrames).toBe(true)
    // Twenty calls in one message: the server answers them in one run, its
    // replies packed, each after the first of a message a short frame.
    const packed = await burst(asking, 20)
    expect(packed.sums).toEqual(expectedSums(20))
    expect(packed.short).toBeGreaterThanOrEqual(15)

    const older = rawPeer(server.queue)
    const plainWelcome = await older.handshake()
    expect(plainWelcome).not.toHaveProperty('shortFrames')
    const plain = await burst(older, 20)
    expect(plain.sums).toEqual(expectedSums(20))
    expect(plain.short).toBe(0)
    await server.stop()
  })

  it('a server process reads short frames after a full one: every call in the message is answered', async () => {
    const server = await serverProcess()
    const peer = rawPeer(server.queue)
    await peer.handshake({ shortFrames: true })
    const ids = [peer.callId(), peer.callId(), peer.callId()] as const
    await peer.send(
      Buffer.concat([
        peer.request(ids[0], pack(['add', { a: 1, b: 1 }, null])),
        rawShortFrame({ type: FrameType.REQUEST, callId: ids[1] }, pack(['add', { a: 2, b: 2 }, null])),
        rawShortFrame({ type: FrameType.REQUEST, callId: ids[2] }, pack(['add', { a: 3, b: 3 }, null])),
      ]),
    )
    const sums = []
    for (const id of ids) sums.push((await peer.replyTo(id)).body)
    expect(sums).toEqual([2, 4, 6])
    await server.stop()
  })
})

describe('malformed short frames are dropped, counted and reported', () => {
  const add = pack(['add', { a: 1, b: 2 }, null])
  const cases: ReadonlyArray<readonly [string, (peer: RawPeer) => Uint8Array, string]> = [
    [
      'a short frame that opens its message (it has no token to take)',
      (peer) => rawShortFrame({ type: FrameType.REQUEST, callId: peer.callId() }, add),
      'a short frame opens the message',
    ],
    [
      'a short header cut short after a whole frame',
      (peer) =>
        Buffer.concat([
          rawFrame({ type: FrameType.PING, token: peer.token }),
          rawShortFrame({ type: FrameType.PING }).subarray(0, 5),
        ]),
      '5 stray bytes after the last frame; a short frame header is 9 bytes',
    ],
    [
      'a short frame whose length runs past the message',
      (peer) =>
        Buffer.concat([
          rawFrame({ type: FrameType.PING, token: peer.token }),
          rawShortFrame({ type: FrameType.REQUEST, callId: peer.callId(), length: add.byteLength + 40 }, add),
        ]),
      `chunk of ${add.byteLength + 40} bytes but only ${add.byteLength} follow the header`,
    ],
    [
      'a short frame of an unknown type',
      (peer) => Buffer.concat([rawFrame({ type: FrameType.PING, token: peer.token }), rawShortFrame({ type: 0x7f })]),
      'unknown frame type 0x7f',
    ],
    [
      'a short frame with unknown flags',
      (peer) =>
        Buffer.concat([
          rawFrame({ type: FrameType.PING, token: peer.token }),
          rawShortFrame({ type: FrameType.PING, flags: 0x40 }),
        ]),
      'unknown frame flags 0x40',
    ],
  ]

  it.each(cases)('%s', async (_what, bytes, reason) => {
    const { queue, errors } = await startServer()
    const peer = rawPeer(queue)
    await peer.handshake({ shortFrames: true })
    await peer.send(bytes(peer))
    await until(() => errors.length === 1, "the server emitted 'error'")
    expect(errors[0]?.message).toContain(`dropped a malformed message on ${queue}`)
    expect(errors[0]?.message).toContain(reason)
    const client = await connect(queue)
    expect((await stats(client)).dropped).toMatchObject({ malformed: 1 })
    expect(await client.add({ a: 40, b: 2 })).toBe(42)
    const reply = await peer.call('add', { a: 1, b: 1 })
    expect(reply.body).toBe(2)
  })
})

describe('the TypeScript client, facing a server driven by hand', () => {
  it.each([
    ['writes short frames once WELCOME says the server reads them', true],
    ['writes none when WELCOME does not say so (a server of an earlier release)', false],
  ])('%s', async (_what, serverReadsShort) => {
    const queue = uniqueQueueName('handsrv')
    const lanes = [queue, `${queue}.urgent`].map((name) =>
      MessageQueue.open(trackQueue(name), { create: true, exclusive: true, access: 'read', maxMessages: 10, messageSize: 8192 }),
    )
    const requests = lanes[0] as MessageQueue
    let reply: MessageQueue | undefined
    try {
      const connecting = connect(queue)
      const [hello] = receivedFrames((await requests.receive({ timeoutMs: 10_000 })).data)
      const helloBody = hello?.body as { replyQueue: string; nonce: Uint8Array; shortFrames?: boolean }
      expect(helloBody.shortFrames).toBe(true)
      reply = MessageQueue.open(helloBody.replyQueue, { access: 'write' })
      const token = 0x1234_5678_9abc_def0n
      await reply.send(rawFrame({ type: FrameType.CHALLENGE, token }, pack({ nonce: helloBody.nonce })))
      const [proof] = receivedFrames((await requests.receive({ timeoutMs: 10_000 })).data)
      expect([proof?.type, proof?.token]).toEqual([FrameType.PROOF, token])
      const welcome = {
        service: 'sec',
        fingerprint: Sec.fingerprint,
        heartbeatMs: 60_000,
        maxBodyBytes: 1 << 20,
        maxInFlight: 64,
        ...(serverReadsShort ? { shortFrames: true } : {}),
      }
      await reply.send(rawFrame({ type: FrameType.WELCOME, token }, pack(welcome)))
      const client = await connecting

      // Ten calls made at once leave packed in one message.
      const sums = Promise.all(Array.from({ length: 10 }, (_, i) => client.add({ a: i, b: 100 })))
      const calls = receivedFrames((await requests.receive({ timeoutMs: 10_000 })).data)
      expect(calls.map((frame) => frame.type)).toEqual(Array(10).fill(FrameType.REQUEST))
      expect(calls.every((frame) => frame.token === token)).toBe(true)
      expect(calls.filter((frame) => frame.short).length).toBe(serverReadsShort ? 9 : 0)
      for (const call of calls) {
        const [, input] = call.body as [string, { a: number; b: number }]
        await reply.send(rawFrame({ type: FrameType.RESPONSE, token, callId: call.callId }, pack(input.a + input.b)))
      }
      expect(await sums).toEqual(Array.from({ length: 10 }, (_, i) => i + 100))
    } finally {
      await reply?.close()
      for (const lane of lanes) {
        await lane.close()
        MessageQueue.unlink(lane.name)
      }
    }
  })
})
