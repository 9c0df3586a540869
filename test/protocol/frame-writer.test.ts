/**
 * FrameWriter on its own, over a fake Outbound that records each message
 * and over an in-memory endpoint that really fills up: bodies split to fit
 * a message, frames of one turn of the event loop packed into shared
 * messages (never across priorities), short frames once the reader reads
 * them, the last message kept back while more frames follow, tryWrite, and
 * back-pressure.
 */
import { describe, expect, it } from 'vitest'
import { MemoryNetwork, memoryTransport } from '../../src/index.js'
import { type Frame, FrameType, forEachFrame, HEADER_SIZE, SHORT_HEADER_SIZE } from '../../src/protocol/frame.js'
import { FrameWriter } from '../../src/protocol/frame-writer.js'
import type { Listener, Outbound, OutboundSendOptions } from '../../src/transport/transport.js'
import { cameShort } from '../fixtures/raw-frames.js'
import { rejection, sleep, until } from '../helpers/wait.js'

interface Sent {
  readonly frames: (Omit<Frame, 'chunk'> & { chunk: Uint8Array })[]
  /** The message's length, and which of its frames came short. */
  readonly length: number
  readonly short: boolean[]
  readonly priority: number
  readonly via: 'trySend' | 'send'
}

/** An Outbound that keeps what it is sent; `room` bounds trySend, send always succeeds. */
class FakeOutbound implements Outbound {
  readonly address = 'fake'
  readonly sent: Sent[] = []
  waitingSends = 0
  room = Number.POSITIVE_INFINITY
  gone = false

  constructor(readonly messageSize: number) {}

  trySend(data: Uint8Array, priority: number): boolean {
    if (this.gone) throw new Error('endpoint is gone')
    if (this.room <= 0) return false
    this.room--
    this.record(data, priority, 'trySend')
    return true
  }

  async send(data: Uint8Array, options: OutboundSendOptions = {}): Promise<void> {
    this.record(data, options.priority ?? 0, 'send')
  }

  async close(): Promise<void> {}

  private record(data: Uint8Array, priority: number, via: Sent['via']): void {
    expect(data.byteLength).toBeLessThanOrEqual(this.messageSize)
    const frames: Sent['frames'] = []
    const short: boolean[] = []
    forEachFrame(data, (frame) => {
      short.push(cameShort(data, frame.chunk))
      frames.push({ ...frame, chunk: Uint8Array.from(frame.chunk) })
    })
    this.sent.push({ frames, length: data.byteLength, short, priority, via })
  }
}

const header = (callId: number) => ({ type: FrameType.RESPONSE, flags: 0, token: 7n, callId })
const bytes = (length: number, seed = 0) => Uint8Array.from({ length }, (_, i) => (i + seed) & 0xff)

describe('FrameWriter', () => {
  it('refuses an endpoint whose messages cannot hold a frame header and a byte', () => {
    expect(() => new FrameWriter(new FakeOutbound(HEADER_SIZE))).toThrow(RangeError)
  })

  it('splits a body larger than a message into chunks that reassemble to it', async () => {
    const out = new FakeOutbound(100)
    const body = bytes(1000, 3)
    await new FrameWriter(out).write(header(1), body)
    const frames = out.sent.flatMap((message) => message.frames)
    expect(frames.every((frame) => frame.chunk.byteLength <= 100 - HEADER_SIZE && frame.bodyLength === 1000)).toBe(true)
    expect(frames.map((frame) => frame.offset)).toEqual(Array.from({ length: 14 }, (_, i) => i * 72))
    expect(Buffer.concat(frames.map((frame) => frame.chunk)).equals(Buffer.from(body))).toBe(true)
  })

  it('sends an empty body as one frame', async () => {
    const out = new FakeOutbound(100)
    await new FrameWriter(out).write(header(1), new Uint8Array(0))
    expect(out.sent).toHaveLength(1)
    expect(out.sent[0]?.frames).toHaveLength(1)
    expect(out.sent[0]?.frames[0]?.bodyLength).toBe(0)
  })

  it('packs the small frames of one turn into one message, and the next turn into another', async () => {
    const out = new FakeOutbound(1024)
    const writer = new FrameWriter(out)
    await Promise.all([1, 2, 3].map((id) => writer.write(header(id), bytes(10))))
    await writer.write(header(4), bytes(10))
    expect(out.sent.map((message) => message.frames.map((frame) => frame.callId))).toEqual([[1, 2, 3], [4]])
  })

  it('starts a new message when the next frame would not fit', async () => {
    const out = new FakeOutbound(HEADER_SIZE * 2 + 100)
    const writer = new FrameWriter(out)
    await Promise.all([1, 2, 3].map((id) => writer.write(header(id), bytes(50))))
    expect(out.sent.map((message) => message.frames.map((frame) => frame.callId))).toEqual([[1, 2], [3]])
  })

  it('with short frames on, a whole body after a frame of its token goes short; the same frames arrive, in fewer messages', async () => {
    // 36 replies of 70 bytes, a stranger's frame (another token) among
    // them, and a body that needs two chunks: only the whole bodies of the
    // token before them may go short.
    const run = async (short: boolean): Promise<Sent[]> => {
      const out = new FakeOutbound(1024)
      const writer = new FrameWriter(out)
      if (short) writer.useShortFrames()
      await Promise.all([
        ...Array.from({ length: 18 }, (_, i) => writer.write(header(i + 1), bytes(70, i))),
        writer.write({ ...header(100), token: 8n }, bytes(70)),
        writer.write(header(101), bytes(1500)),
        ...Array.from({ length: 18 }, (_, i) => writer.write(header(i + 19), bytes(70, i))),
      ])
      return out.sent
    }
    const plain = await run(false)
    const short = await run(true)
    const frames = (sent: Sent[]) => sent.flatMap((message) => message.frames)
    expect(frames(short)).toEqual(frames(plain))
    expect(plain.flatMap((message) => message.short)).not.toContain(true)
    // Short exactly where allowed: after a frame of the same token in the message, a whole body.
    for (const message of short) {
      const allowed = message.frames.map(
        (frame, i) =>
          i > 0 &&
          frame.offset === 0 &&
          frame.chunk.byteLength === frame.bodyLength &&
          frame.token === message.frames[i - 1]?.token,
      )
      expect(message.short).toEqual(allowed)
      const headers = message.short.reduce((n, isShort) => n + (isShort ? SHORT_HEADER_SIZE : HEADER_SIZE), 0)
      expect(message.length).toBe(headers + message.frames.reduce((n, frame) => n + frame.chunk.byteLength, 0))
    }
    expect(short.flatMap((message) => message.short).filter(Boolean).length).toBeGreaterThan(30)
    // 1024-byte messages: ten 98-byte frames, or one and eleven 79-byte ones.
    expect([plain[0]?.frames.length, short[0]?.frames.length]).toEqual([10, 12])
    expect(short.length).toBeLessThan(plain.length)
  })

  it('never packs frames of different priorities together, and keeps their order', async () => {
    const out = new FakeOutbound(1024)
    const writer = new FrameWriter(out)
    await Promise.all([
      writer.write(header(1), bytes(5), 0),
      writer.write(header(2), bytes(5), 0),
      writer.write(header(3), bytes(5), 1),
      writer.write(header(4), bytes(5), 0),
    ])
    expect(out.sent.map((message) => [message.priority, message.frames.map((frame) => frame.callId)])).toEqual([
      [0, [1, 2]],
      [1, [3]],
      [0, [4]],
    ])
  })

  it('post() reports the end of each body once, through its callback', async () => {
    const out = new FakeOutbound(100)
    const writer = new FrameWriter(out)
    const heard: unknown[] = []
    writer.post(header(1), bytes(300), 0, (error) => heard.push(error ?? 'done'))
    await sleep(0)
    expect(heard).toEqual(['done'])
  })

  it('tryWrite sends at once, past what is pending, or says it could not', async () => {
    const out = new FakeOutbound(1024)
    const writer = new FrameWriter(out)
    const pending = writer.write(header(1), bytes(5))
    expect(writer.tryWrite({ type: FrameType.PING, flags: 0, token: 7n, callId: 0 }, new Uint8Array(0))).toBe(true)
    await pending
    expect(out.sent.map((message) => message.frames[0]?.type)).toEqual([FrameType.PING, FrameType.RESPONSE])
    out.room = 0
    expect(writer.tryWrite(header(2), bytes(5))).toBe(false)
    out.gone = true
    expect(writer.tryWrite(header(3), bytes(5))).toBe(false)
  })

  it('rejects every body of a message the endpoint refuses', async () => {
    const out = new FakeOutbound(1024)
    out.gone = true
    const writer = new FrameWriter(out)
    const results = await Promise.allSettled([writer.write(header(1), bytes(5)), writer.write(header(2), bytes(5))])
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected'])
  })

  it('queues behind senders already waiting, instead of overtaking them', async () => {
    const out = new FakeOutbound(1024)
    out.waitingSends = 1
    await new FrameWriter(out).write(header(1), bytes(5))
    expect(out.sent.map((message) => message.via)).toEqual(['send'])
  })

  describe('while more frames follow (moreFollow)', () => {
    // Messages of two 50-byte frames; ids of the frames in each message sent.
    const ids = (out: FakeOutbound) => out.sent.map((message) => message.frames.map((frame) => frame.callId))
    const writerFor = (out: FakeOutbound, more: () => boolean) => new FrameWriter(out, { moreFollow: more })
    const small = () => bytes(50)

    it('keeps the last, partly filled message for the frames of the next jobs', async () => {
      const out = new FakeOutbound(HEADER_SIZE * 2 + 100)
      let more = true
      const writer = writerFor(out, () => more)
      for (const id of [1, 2, 3]) writer.post(header(id), small())
      // As the server's next run of starts does: posts in a promise job queued after the flush's.
      await Promise.resolve()
      expect(ids(out)).toEqual([[1, 2]])
      more = false
      writer.post(header(4), small())
      await sleep(0)
      expect(ids(out)).toEqual([
        [1, 2],
        [3, 4],
      ])
    })

    it('keeps a message back once only, even while more are said to follow', async () => {
      const out = new FakeOutbound(HEADER_SIZE * 2 + 100)
      // Says so 50 times at most: a writer that kept asking would go on without end.
      let asked = 0
      const writer = writerFor(out, () => ++asked < 50)
      for (const id of [1, 2, 3]) writer.post(header(id), small())
      await sleep(0)
      expect(ids(out)).toEqual([[1, 2], [3]])
      expect(asked).toBe(1)
    })

    it('keeps no urgent message back, and nothing when no more follow', async () => {
      const out = new FakeOutbound(1024)
      let more = true
      const writer = writerFor(out, () => more)
      writer.post(header(1), small(), 1)
      await Promise.resolve()
      expect(ids(out)).toEqual([[1]])
      more = false
      writer.post(header(2), small())
      await Promise.resolve()
      expect(ids(out)).toEqual([[1], [2]])
    })
  })
})

describe('FrameWriter over a bounded in-memory endpoint', () => {
  async function fullLane(maxMessages: number): Promise<{ listener: Listener; lane: Outbound }> {
    const network = new MemoryNetwork()
    const transport = memoryTransport({ network })
    const listener = await transport.listen('fw', { isServed: async () => false, maxMessages, messageSize: 256 })
    const { requests, urgent } = await transport.connect('fw', 'none')
    await urgent.close()
    return { listener, lane: requests }
  }

  it('waits for room when the endpoint is full (back-pressure), then delivers every body in order', async () => {
    const { listener, lane } = await fullLane(2)
    const writer = new FrameWriter(lane)
    let written = 0
    // One body per turn and each bigger than half a message, so each takes a message of its own.
    const writes: Promise<void>[] = []
    for (let id = 1; id <= 5; id++) {
      writes.push(writer.write(header(id), bytes(200, id)).then(() => void written++))
      await sleep(0)
    }
    expect(written).toBe(2)
    // One message waits in the endpoint; the rest wait here as frames.
    expect(lane.waitingSends).toBe(1)
    const received: number[] = []
    listener.requests.consume((data) => forEachFrame(data, (frame) => received.push(frame.callId)))
    await Promise.all(writes)
    // Accepted by the endpoint is not yet delivered: wait for the consumer, then check the order.
    await until(() => received.length === 5, 'every body delivered')
    expect(received).toEqual([1, 2, 3, 4, 5])
    await listener.close()
  })

  it('packs the frames that waited for room into full messages, the highest priority first', async () => {
    const { listener, lane } = await fullLane(1)
    const writer = new FrameWriter(lane)
    await writer.write(header(1), bytes(200))
    // The endpoint is full: call 2 waits in it, and each later body, posted in a turn of its own, waits here.
    const writes = [writer.write(header(2), bytes(10))]
    for (let id = 3; id <= 8; id++) {
      await sleep(0)
      writes.push(writer.write(header(id), bytes(10), id === 7 ? 1 : 0))
    }
    expect(lane.waitingSends).toBe(1)
    const messages: number[][] = []
    listener.requests.consume((data) => {
      const calls: number[] = []
      forEachFrame(data, (frame) => calls.push(frame.callId))
      messages.push(calls)
    })
    await Promise.all(writes)
    await until(() => messages.flat().length === 8, 'every frame delivered')
    // The frames that waited leave in one message per priority (not one per turn), the urgent one first.
    expect(messages).toEqual([[1], [2], [7], [3, 4, 5, 6, 8]])
    await listener.close()
  })

  it('gives up after sendTimeoutMs when the endpoint stays full', async () => {
    const { listener, lane } = await fullLane(1)
    const writer = new FrameWriter(lane, { sendTimeoutMs: 50 })
    await writer.write(header(1), bytes(200))
    const error = await rejection(writer.write(header(2), bytes(200)))
    expect(error.message).toContain('stayed full for 50 ms')
    await listener.close()
  })
})
