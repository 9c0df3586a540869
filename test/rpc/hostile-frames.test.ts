/**
 * Fuzzing in both directions, as sd-varlink's fuzzer does: a hostile
 * process (test/fixtures/fuzz-hostile.ts) writes fuzzed frames
 * (test/fixtures/hostile-frames.ts) into live queues while a well-behaved
 * client keeps calling a real server in another process.
 *
 * (a) into the server's request queue and urgent lane, from a process that
 *     also holds a session of its own (so its own token reaches the
 *     reassembler and the dispatcher with bad bodies, fragments that never
 *     finish and bodies that claim 4 GiB): every call of the well-behaved
 *     client succeeds with the right answer, and the server keeps serving;
 * (b) into a live client's reply queue while its calls are in flight
 *     (replies of several frames, so forged frames land between the
 *     fragments of real ones): every call completes correctly, the client
 *     never loses its session, and it reports each drop: every frame a
 *     reader can get out of the messages counts in `forgedFrames`, every
 *     malformed message is one 'error' event.
 *
 * The hostile messages come from fast-check with a fixed seed
 * (MQRPC_FUZZ_SEED replays another).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Client, MessageQueue } from '../../src/index.js'
import { FUZZ_SCHEMAS, type FuzzService } from '../fixtures/fuzz-service.js'
import { FrameType, rawFrame } from '../fixtures/sec-wire.js'
import { FUZZ_SEED } from '../helpers/fuzz.js'
import { connectFuzz, jsonLines, startFuzzServer, useFuzzHarness } from '../helpers/fuzz-rpc.js'
import { trackQueue } from '../helpers/queues.js'
import { arbitraryFromSchema, sameValue } from '../helpers/schema-arbitrary.js'
import { spawnFixture } from '../helpers/spawn.js'

useFuzzHarness()

/** Hostile messages per direction. */
const HOSTILE_MESSAGES = 2_000

interface HostileSummary {
  messages: number
  frames: number
  malformed: number
  urgent: number
  answers: number
}

/** Valid inputs for the well-behaved client, made once from the schemas. */
const inputs = {
  scalars: fc.sample(arbitraryFromSchema(FUZZ_SCHEMAS.scalars), { seed: FUZZ_SEED, numRuns: 200 }),
  binary: fc.sample(arbitraryFromSchema(FUZZ_SCHEMAS.binary), { seed: FUZZ_SEED, numRuns: 200 }),
}

/**
 * Calls from `workers` concurrent loops until `running()` turns false: echo
 * calls with generated inputs, some through the urgent lane, and bulk calls
 * whose replies span several frames. Returns how many calls were made and
 * every failure or wrong answer.
 */
async function wellBehaved(
  client: Client<FuzzService>,
  running: () => boolean,
  workers = 3,
): Promise<{ calls: number; failures: string[] }> {
  let calls = 0
  const failures: string[] = []
  const one = async (n: number): Promise<void> => {
    const kind = n % 4
    try {
      if (kind === 3) {
        const data = new Uint8Array(1000 + ((n * 37) % 3000)).fill(n & 0xff)
        const out = (await client.call('bulk', { data, seq: n }, { timeoutMs: 15_000 })) as { data: Uint8Array; seq: number }
        if (out.seq !== n || !sameValue(out.data, data)) failures.push(`bulk ${n}: wrong answer`)
      } else {
        const method = kind === 2 ? 'binary' : 'scalars'
        const input = inputs[method][n % 200]
        const out = await client.call(method, input, {
          timeoutMs: 15_000,
          ...(kind === 1 ? { priority: 'urgent' as const } : {}),
        })
        if (!sameValue(out, input)) failures.push(`${method} ${n}: wrong answer ${JSON.stringify(out)}`)
      }
    } catch (error) {
      failures.push(`call ${n} (${kind}): ${String(error)}`)
    }
    calls++
  }
  let next = 0
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (running()) {
        await one(next++)
        // Polite: a pause between calls, so that the hostile writer gets its turn in the queues.
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    }),
  )
  return { calls, failures }
}

describe('hostile frames written into live queues by another process', () => {
  it('(a) into the server’s request queue and urgent lane: every call of a well-behaved client succeeds', async () => {
    const { queue, server } = await startFuzzServer()
    const client = await connectFuzz(queue)
    const disconnects: unknown[] = []
    client.on('disconnect', (reason) => disconnects.push(reason))
    const before = (await client.call('$stats', {})) as { dropped: { malformed: number; unknownSession: number } }

    const hostile = spawnFixture('fuzz-hostile.ts', ['server', queue, String(FUZZ_SEED), String(HOSTILE_MESSAGES)])
    const polite = wellBehaved(client, () => hostile.running)
    const summary = await hostile.json<HostileSummary>(60_000)
    const { calls, failures } = await polite

    expect(failures).toEqual([])
    expect(calls).toBeGreaterThan(20)
    expect(disconnects).toEqual([])
    expect(summary.messages).toBe(HOSTILE_MESSAGES)
    // The server counted (at least) every malformed message as dropped, and still answers.
    const after = (await client.call('$stats', {})) as { dropped: { malformed: number; unknownSession: number } }
    expect(after.dropped.malformed - before.dropped.malformed).toBeGreaterThanOrEqual(summary.malformed)
    expect(after.dropped.unknownSession - before.dropped.unknownSession).toBeGreaterThan(0)
    expect(await client.call('scalars', inputs.scalars[0])).toEqual(inputs.scalars[0])
    expect(server.running).toBe(true)
    server.send('close')
    await server.success(15_000)
    const lines = jsonLines(server)
    const errors = lines.filter((l) => l.event === 'error')
    const memory = lines.find((l) => l.event === 'closed')?.memory
    console.log(
      JSON.stringify({
        hostileToServer: {
          ...summary,
          politeCalls: calls,
          serverErrors: errors.length,
          dropped: after.dropped,
          serverMemoryMiB: memory,
        },
      }),
    )
  }, 120_000)

  it('(b) into a client’s reply queue while calls are in flight: every call completes, each drop is reported', async () => {
    const { queue } = await startFuzzServer()
    const client = await connectFuzz(queue)
    trackQueue(client.replyQueue)
    const errors: Error[] = []
    client.on('error', (error) => errors.push(error))
    const disconnects: unknown[] = []
    client.on('disconnect', (reason) => disconnects.push(reason))
    const forgedBefore = client.forgedFrames

    const hostile = spawnFixture('fuzz-hostile.ts', [
      'client',
      client.replyQueue,
      String(FUZZ_SEED + 1),
      String(HOSTILE_MESSAGES),
    ])
    const polite = wellBehaved(client, () => hostile.running)
    const summary = await hostile.json<HostileSummary>(60_000)
    const { calls, failures } = await polite

    expect(failures).toEqual([])
    expect(calls).toBeGreaterThan(20)
    // Every frame a reader can get out of those messages is dropped as forged, and every malformed
    // message is reported once; nothing else happened to the client.
    const deadline = Date.now() + 10_000
    while (client.forgedFrames - forgedBefore < summary.frames && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(client.forgedFrames - forgedBefore).toBe(summary.frames)
    expect(errors.length).toBe(summary.malformed)
    for (const error of errors) expect(error.message).toMatch(/malformed/)
    expect(disconnects).toEqual([])
    expect(client.state).toBe('open')
    expect(await client.call('scalars', inputs.scalars[1])).toEqual(inputs.scalars[1])
    console.log(
      JSON.stringify({
        hostileToClient: { ...summary, politeCalls: calls, forged: client.forgedFrames - forgedBefore, errors: errors.length },
      }),
    )
  }, 120_000)

  // Regression: CHALLENGE and REJECT frames were reassembled in the session's own reassembler
  // before the nonce was checked, so forged first fragments written during a handshake held its
  // maxPartials slots and later large replies failed with RESOURCE_EXHAUSTED. They now go to a
  // reassembler of the handshake's own, dropped with it.
  it('(c) forged CHALLENGE fragments written while the client reconnects do not cost its later calls', async () => {
    const { server, queue } = await startFuzzServer({ heartbeatMs: 200 })
    const client = await connectFuzz(queue)
    const data = new Uint8Array(3_000).fill(9)
    const bulk = () =>
      client.call('bulk', { data, seq: 1 }, { timeoutMs: 10_000 }).then(
        (out) => ({ ok: sameValue((out as { data: Uint8Array }).data, data) }),
        (error: Error) => ({ ok: false, error: error.message }),
      )
    expect(await bulk()).toEqual({ ok: true })

    // Stop the server: the client loses the session (3 silent heartbeats) and keeps shaking hands again.
    const disconnected = new Promise<void>((resolve) => client.once('disconnect', () => resolve()))
    const reconnected = new Promise<void>((resolve) => client.once('reconnect', () => resolve()))
    server.process.kill('SIGSTOP')
    await disconnected
    // A writer that knows no token or nonce sends 16 first fragments of CHALLENGEs into the reply
    // queue, until they land inside a handshake (where they are held, not counted as forged).
    const forger = MessageQueue.open(client.replyQueue, { access: 'write' })
    try {
      for (let attempt = 0; attempt < 20; attempt++) {
        const before = client.forgedFrames
        const frames = Array.from({ length: 16 }, (_, i) =>
          rawFrame(
            { type: FrameType.CHALLENGE, token: 0x5eed_0000n + BigInt(i), callId: 100 + i, bodyLength: 5_000 },
            new Uint8Array(10),
          ),
        )
        await forger.send(Buffer.concat(frames), { timeoutMs: 2_000 })
        await new Promise((resolve) => setTimeout(resolve, 100))
        if (client.forgedFrames === before) break // held by the reassembler
      }
    } finally {
      await forger.close()
    }
    server.process.kill('SIGCONT')
    await reconnected
    expect(client.state).toBe('open')
    // A reply of several frames, right after the reconnect.
    expect(await bulk()).toEqual({ ok: true })
  }, 60_000)
})
