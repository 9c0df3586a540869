/**
 * The security model across real processes (docs/SECURITY.md): the
 * handshake proves that a client reads the reply queue it names, every
 * session frame carries a token that a third process cannot know, and the
 * peer's identity comes from the kernel (the owner of the reply queue), so
 * allow lists by uid hold against a client that is really another user.
 */
import { randomBytes } from 'node:crypto'
import { decode } from '@msgpack/msgpack'
import { describe, expect, it } from 'vitest'
import { Code, type SessionInfo } from '../../src/index.js'
import { secHandlers } from '../fixtures/sec-service.js'
import { FrameType, pack, rawFrame } from '../fixtures/sec-wire.js'
import { queueExists, uniqueQueueName } from '../helpers/queues.js'
import { connect, descriptorsOn, heldSessions, rawPeer, startServer, stats, useSecHarness } from '../helpers/sec.js'
import { NOBODY, spawnFixture, spawnProgram } from '../helpers/spawn.js'
import { rejection, settle, until } from '../helpers/wait.js'

useSecHarness()

const isRoot = process.getuid?.() === 0
// Past the largest pid_max Linux allows (2^22), so no process has it.
const NO_SUCH_PID = 2 ** 22 + 12_345

/** Writes `messages` into `queue` from a process of its own, and waits until it is done. */
async function sendFromThirdProcess(queue: string, messages: readonly Uint8Array[]): Promise<void> {
  const sender = spawnFixture('sec-send.ts', [queue, ...messages.map((m) => Buffer.from(m).toString('hex'))])
  expect(await sender.success()).toBe(`sent ${messages.length}\n`)
}

/** A handler for `hold` that waits until the test lets it go, and says whether it was cancelled. */
function heldCalls() {
  let started = 0
  let release!: () => void
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  const handlers = secHandlers(async ({ id }, ctx) => {
    started++
    const cancelled = new Promise<string>((resolve) => ctx.signal.addEventListener('abort', () => resolve('cancelled')))
    return Promise.race([released.then(() => id), cancelled])
  })
  return { handlers, release, started: () => started }
}

describe('the handshake proves possession of the reply queue', () => {
  it('a HELLO naming another client’s reply queue gets no session; the CHALLENGE lands with the victim, who drops it and keeps working', async () => {
    const { server, queue } = await startServer({ handshakeTimeoutMs: 300 })
    const victim = await connect(queue)
    const sessions: SessionInfo[] = []
    server.on('session', (info) => sessions.push(info))
    const ends: SessionInfo[] = []
    server.on('sessionEnd', (info) => ends.push(info))
    expect(server.sessionCount).toBe(1)

    // The attacker has a reply queue of its own, but names the victim's.
    const attacker = rawPeer(queue)
    await sendFromThirdProcess(queue, [
      rawFrame({ type: FrameType.HELLO }, pack(attacker.helloBody({ replyQueue: victim.replyQueue }))),
    ])

    // The server wrote its CHALLENGE (and with it the token) into the victim's queue, not the attacker's.
    await until(() => victim.forgedFrames === 1, 'the victim dropped the unexpected CHALLENGE')
    expect(attacker.drain()).toEqual([])
    expect(server.sessionCount).toBe(1)
    // Without the token nobody can finish that handshake; it times out.
    await until(() => heldSessions(server) === 1, 'the half-open handshake timed out')
    expect(sessions).toEqual([])
    expect(ends).toEqual([])
    expect(server.sessionCount).toBe(1)
    expect(victim.state).toBe('open')
    expect(await victim.add({ a: 2, b: 3 })).toBe(5)
  })

  it('a HELLO that names a victim’s queue and claims a dead pid does not get the victim’s queue removed', async () => {
    // The server sweeps every heartbeatMs / 2, so it looks at the half-open session (and its dead pid) several times before the handshake times out.
    const { server, queue } = await startServer({ handshakeTimeoutMs: 3_000, heartbeatMs: 1_000 })
    const victim = await connect(queue)
    const attacker = rawPeer(queue)
    await attacker.sendHello({ replyQueue: victim.replyQueue, pid: NO_SUCH_PID })
    await until(() => victim.forgedFrames === 1, 'the CHALLENGE reached the victim')
    await until(() => heldSessions(server) === 1, 'the half-open handshake ended')
    // The server sweeps several times meanwhile; the victim's queue must still be there.
    expect(queueExists(victim.replyQueue)).toBe(true)
    expect(victim.state).toBe('open')
    expect(await victim.add({ a: 1, b: 1 })).toBe(2)
  })

  it('a HELLO naming the server’s own request queue leads nowhere and the server keeps serving', async () => {
    const { server, queue } = await startServer({ handshakeTimeoutMs: 1_500 })
    const client = await connect(queue)
    const attacker = rawPeer(queue)
    const held = [descriptorsOn(queue), descriptorsOn(`${queue}.urgent`)]
    await attacker.sendHello({ replyQueue: queue })
    await attacker.sendHello({ replyQueue: `${queue}.urgent` })
    await until(() => heldSessions(server) === 3, 'the server began both handshakes')
    await until(() => heldSessions(server) === 1, 'both half-open handshakes timed out')
    expect(attacker.drain()).toEqual([])
    expect(server.sessionCount).toBe(1)
    expect(await client.add({ a: 4, b: 4 })).toBe(8)
    // The server opened its own queues again for those handshakes, and closed them when they timed out.
    expect([descriptorsOn(queue), descriptorsOn(`${queue}.urgent`)]).toEqual(held)
  })

  it('a token guessed without the CHALLENGE is useless: PROOF and REQUEST with a wrong token are dropped and counted', async () => {
    const { server, queue } = await startServer({ handshakeTimeoutMs: 2_000 })
    const client = await connect(queue)
    const before = (await stats(client)).dropped.unknownSession
    const victim = await connect(queue)
    const attacker = rawPeer(queue)
    await attacker.sendHello({ replyQueue: victim.replyQueue })
    await until(() => victim.forgedFrames === 1, 'the CHALLENGE reached the victim')
    for (const token of [1n, 0xdeadbeefn, 2n ** 64n - 1n]) {
      await attacker.send(rawFrame({ type: FrameType.PROOF, token }))
      await attacker.send(rawFrame({ type: FrameType.REQUEST, token, callId: 7 }, pack(['add', { a: 1, b: 2 }, null])))
    }
    await until(() => heldSessions(server) === 2, 'the half-open handshake timed out', 10_000)
    expect((await stats(client)).dropped.unknownSession - before).toBe(6)
    expect(server.sessionCount).toBe(2)
    expect(attacker.drain()).toEqual([])
  })

  it('a reply queue that others can read is refused with PERMISSION_DENIED', async () => {
    const { server, queue } = await startServer()
    const peer = rawPeer(queue, { mode: 0o644 })
    await peer.sendHello()
    const reject = await peer.next()
    expect(reject.type).toBe(FrameType.REJECT)
    expect(reject.body).toMatchObject({ code: Code.PERMISSION_DENIED, nonce: new Uint8Array(peer.nonce) })
    expect((reject.body as { message: string }).message).toContain('mode 0o644')
    expect(heldSessions(server)).toBe(0)
  })
})

describe('forged frames from a third process', () => {
  it('frames with a wrong or zero token written into a client’s reply queue are dropped and counted; the pending call gets the real result', async () => {
    const held = heldCalls()
    const { queue } = await startServer({}, held.handlers)
    const client = await connect(queue)
    const ticks: unknown[] = []
    client.on('tick', (tick) => ticks.push(tick))
    const disconnects: unknown[] = []
    client.on('disconnect', (reason) => disconnects.push(reason))
    const pending = client.hold({ id: 'real', ms: 0 })
    await until(() => held.started() === 1, 'the call is running on the server')
    const callId = (client as unknown as { nextId: number }).nextId
    const wrong = 0x1234_5678_9abc_def0n
    const forged = [
      rawFrame({ type: FrameType.RESPONSE, token: wrong, callId }, pack('forged')),
      rawFrame({ type: FrameType.RESPONSE, token: 0n, callId }, pack('forged')),
      rawFrame({ type: FrameType.ERROR, token: wrong, callId }, pack({ code: Code.INTERNAL, message: 'forged' })),
      rawFrame({ type: FrameType.EVENT, token: wrong, callId: 1 }, pack(['tick', { n: 666 }])),
      rawFrame({ type: FrameType.EVENT, token: 0n, callId: 2 }, pack(['tick', { n: 667 }])),
      rawFrame({ type: FrameType.GOODBYE, token: wrong }, pack({ code: Code.UNAVAILABLE, message: 'forged', draining: false })),
      rawFrame({ type: FrameType.WELCOME, token: wrong }, pack({})),
      rawFrame({ type: FrameType.CHALLENGE, token: wrong }, pack({ nonce: randomBytes(8) })),
      rawFrame(
        { type: FrameType.REJECT, token: 0n },
        pack({ nonce: randomBytes(8), code: Code.PERMISSION_DENIED, message: 'forged' }),
      ),
    ]
    await sendFromThirdProcess(client.replyQueue, forged)
    await until(() => client.forgedFrames === forged.length, 'every forged frame was dropped')
    expect(client.state).toBe('open')
    held.release()
    expect(await pending).toBe('real')
    expect(ticks).toEqual([])
    expect(disconnects).toEqual([])
    expect(await client.add({ a: 1, b: 2 })).toBe(3)
  })

  it('frames with a wrong token written into the server’s queues are dropped and counted in $stats; the real session is untouched', async () => {
    const held = heldCalls()
    const { server, queue } = await startServer({}, held.handlers)
    const client = await connect(queue)
    const ends: unknown[] = []
    server.on('sessionEnd', (_info, reason) => ends.push(reason))
    const pending = client.hold({ id: 'real', ms: 0 })
    const heldId = (client as unknown as { nextId: number }).nextId
    await until(() => held.started() === 1, 'the call is running on the server')
    const before = await stats(client)
    const wrong = 0x0bad_0bad_0bad_0badn
    const forgedBulk = [
      rawFrame({ type: FrameType.REQUEST, token: wrong, callId: 99 }, pack(['add', { a: 1, b: 2 }, null])),
      rawFrame({ type: FrameType.REQUEST, token: 0n, callId: 98 }, pack(['add', { a: 1, b: 2 }, null])),
      rawFrame({ type: FrameType.CANCEL, token: wrong, callId: heldId }),
      rawFrame({ type: FrameType.CANCEL, token: 0n, callId: heldId }),
      rawFrame({ type: FrameType.GOODBYE, token: wrong }),
      rawFrame({ type: FrameType.PROOF, token: wrong }),
      rawFrame({ type: FrameType.PING, token: wrong }),
    ]
    const forgedUrgent = [rawFrame({ type: FrameType.CANCEL, token: wrong, callId: heldId, flags: 0x01 })]
    await sendFromThirdProcess(queue, forgedBulk)
    await sendFromThirdProcess(`${queue}.urgent`, forgedUrgent)
    const forged = forgedBulk.length + forgedUrgent.length
    const after = await settle(
      () => stats(client),
      (now) => now.dropped.unknownSession - before.dropped.unknownSession >= forged,
      'the server counted every forged frame',
    )
    expect(after.dropped.unknownSession - before.dropped.unknownSession).toBe(forged)
    expect(after.dropped.malformed).toBe(before.dropped.malformed)
    held.release()
    expect(await pending).toBe('real')
    expect(server.sessionCount).toBe(1)
    expect(ends).toEqual([])
    expect(client.state).toBe('open')
    expect(await client.add({ a: 20, b: 22 })).toBe(42)
  })
})

describe('peer identity comes from the kernel', () => {
  it('ctx.peer is the owner of the reply queue, with the pid the client reported', async () => {
    const { server, queue } = await startServer()
    const seen: SessionInfo[] = []
    server.on('session', (info) => seen.push(info))
    const client = await connect(queue)
    const uid = process.getuid?.()
    const gid = process.getgid?.()
    const me = { principal: `unix:${uid}:${gid}`, uid, gid, pid: process.pid }
    expect(await client.whoami({})).toEqual(me)
    expect(seen.map((s) => s.peer)).toEqual([me])
  })

  it('an allow list that does not name the caller’s uid or gid refuses it at createClient with PERMISSION_DENIED', async () => {
    const { queue } = await startServer({ allow: { uids: [12_345], gids: [12_345] } })
    const error = await rejection(connect(queue))
    expect(error.code).toBe(Code.PERMISSION_DENIED)
    expect(error.message).toContain(`unix:${process.getuid?.()}:${process.getgid?.()} may not use 'sec'`)
  })

  it('an allow list by gid lets the caller in', async () => {
    const { queue } = await startServer({ allow: { uids: [12_345], gids: [process.getgid?.() ?? 0] } })
    const client = await connect(queue)
    expect(await client.add({ a: 1, b: 2 })).toBe(3)
  })

  it('authorize() refuses one method with PERMISSION_DENIED and lets the others through', async () => {
    const calls: string[] = []
    const { queue } = await startServer({
      authorize: (peer, method) => {
        calls.push(`${peer.uid}:${method}`)
        return method !== 'whoami'
      },
    })
    const client = await connect(queue)
    const error = await rejection(client.whoami({}))
    expect(error.code).toBe(Code.PERMISSION_DENIED)
    expect(error.message).toContain("may not call 'whoami'")
    expect(await client.add({ a: 1, b: 2 })).toBe(3)
    expect(calls).toEqual([`${process.getuid?.()}:whoami`, `${process.getuid?.()}:add`])
  })

  describe.skipIf(!isRoot)(`a client written in C, run as uid ${NOBODY}`, () => {
    /** Runs test/c/sec_client.c as nobody against `queue` and returns its verdict and decoded body. */
    async function cClient(
      queue: string,
      method: string,
    ): Promise<{ verdict: string; body: Record<string, unknown>; pid: number }> {
      const reply = uniqueQueueName('c-reply')
      const child = spawnProgram('sec_client', [queue, 'sec', reply, method], { asUser: NOBODY })
      const out = await child.finish()
      expect(out.stderr).toBe('')
      expect(out.code).toBe(0)
      const [verdict, hex] = out.stdout.trim().split(' ')
      expect(queueExists(reply)).toBe(false)
      return {
        verdict: verdict as string,
        body: decode(Buffer.from(hex ?? '', 'hex')) as Record<string, unknown>,
        pid: child.process.pid as number,
      }
    }

    it('ctx.peer.uid and gid are 65534, as the kernel says, not root', async () => {
      const { server, queue } = await startServer()
      const seen: SessionInfo[] = []
      server.on('session', (info) => seen.push(info))
      const ends: SessionInfo[] = []
      server.on('sessionEnd', (info) => ends.push(info))
      const { verdict, body, pid } = await cClient(queue, 'whoami')
      expect(verdict).toBe('response')
      const nobody = { principal: `unix:${NOBODY}:${NOBODY}`, uid: NOBODY, gid: NOBODY, pid }
      expect(body).toEqual(nobody)
      expect(seen.map((s) => s.peer)).toEqual([nobody])
      // Its GOODBYE ended the session.
      await until(() => ends.length === 1, 'the C client’s session ended')
      expect(server.sessionCount).toBe(0)
    })

    it('the C client gets real errors too (UNIMPLEMENTED for an unknown method)', async () => {
      const { queue } = await startServer()
      const { verdict, body } = await cClient(queue, 'nope')
      expect(verdict).toBe('error')
      expect(body).toMatchObject({ code: Code.UNIMPLEMENTED })
    })

    it('allow: { uids: [0] } refuses it with a REJECT carrying PERMISSION_DENIED, while root gets in', async () => {
      const { server, queue } = await startServer({ allow: { uids: [0] } })
      const { verdict, body } = await cClient(queue, 'whoami')
      expect(verdict).toBe('reject')
      expect(body.code).toBe(Code.PERMISSION_DENIED)
      expect(body.message).toBe(`unix:${NOBODY}:${NOBODY} may not use 'sec' (the server's allow list)`)
      expect(heldSessions(server)).toBe(0)
      const root = await connect(queue)
      expect(await root.whoami({})).toMatchObject({ uid: 0 })
    })

    it('allow: { uids: [65534] } lets it in and root is the one refused', async () => {
      const { queue } = await startServer({ allow: { uids: [NOBODY] } })
      const { verdict, body } = await cClient(queue, 'whoami')
      expect(verdict).toBe('response')
      expect(body).toMatchObject({ uid: NOBODY })
      expect((await rejection(connect(queue))).code).toBe(Code.PERMISSION_DENIED)
    })
  })
})
