/**
 * The handshake in one process over the in-memory transport, where each
 * side's principal is whatever the test says: the principal reaches
 * ctx.peer, `allow` lets principals in, and the per-principal limits keep
 * one principal from locking another out. Half-open handshakes are made
 * with raw HELLOs written through the memory transport itself, so the
 * server vouches for their principal exactly as for a real client's.
 */
import { describe, expect, it } from 'vitest'
import { Code, type RpcError } from '../../src/index.js'
import { type Frame, FrameType, forEachFrame, PROTOCOL_VERSION } from '../../src/protocol/frame.js'
import { FrameWriter } from '../../src/protocol/frame-writer.js'
import { decodeBody, encodeBody } from '../../src/protocol/wire.js'
import { MEM_ADDRESS, useMemoryHarness } from '../helpers/memory.js'
import { rejection, settle } from '../helpers/wait.js'

const mem = useMemoryHarness()

/** What the server answered a raw HELLO: CHALLENGE (a half-open handshake from then on) or REJECT. */
interface RawAnswer {
  readonly type: number
  readonly body: Record<string, unknown>
}

/** Sends one HELLO as `principal` and never a PROOF; resolves with the server's answer. */
async function rawHello(principal: string): Promise<RawAnswer> {
  const transport = mem.transport(principal)
  const reply = await transport.openReplyPath()
  const lanes = await transport.connect(MEM_ADDRESS, reply.inbound.address)
  mem.atCleanup(async () => {
    await lanes.requests.close()
    await lanes.urgent.close()
    await reply.close()
  })
  const answered = new Promise<RawAnswer>((resolve) => {
    reply.inbound.consume((data) =>
      forEachFrame(data, (frame: Frame) =>
        resolve({ type: frame.type, body: decodeBody(frame.chunk, 'answer') as Record<string, unknown> }),
      ),
    )
  })
  const hello = encodeBody({
    protocol: PROTOCOL_VERSION,
    service: 'mem',
    replyQueue: reply.inbound.address,
    pid: 4242,
    nonce: new Uint8Array(8).fill(7),
  })
  await new FrameWriter(lanes.requests).write({ type: FrameType.HELLO, flags: 0, token: 0n, callId: 0 }, hello)
  return answered
}

describe('identity', () => {
  it('ctx.peer carries the principal the transport vouches for, and the pid as the client claims it', async () => {
    await mem.server()
    const alice = await mem.client({ principal: 'memory:alice' })
    const bob = await mem.client({ principal: 'memory:bob' })
    expect(await alice.whoami({})).toMatchObject({ principal: 'memory:alice', pid: process.pid })
    expect((await bob.whoami({})).principal).toBe('memory:bob')
    // The memory transport knows no uids: none are made up.
    expect(await alice.whoami({})).not.toHaveProperty('uid')
  })

  it('the session event names the peer', async () => {
    const { server } = await mem.server()
    const seen = new Promise<string>((resolve) => server.once('session', (info) => resolve(info.peer.principal)))
    await mem.client({ principal: 'memory:carol' })
    expect(await seen).toBe('memory:carol')
  })
})

describe('allow', () => {
  it('lets listed principals in and refuses the others with PERMISSION_DENIED', async () => {
    await mem.server({ allow: { principals: ['memory:alice'] } })
    const alice = await mem.client({ principal: 'memory:alice' })
    expect(await alice.add({ a: 1, b: 2 })).toBe(3)
    const error = await rejection(mem.client({ principal: 'memory:mallory' }))
    expect(error.code).toBe(Code.PERMISSION_DENIED)
    expect(error.message).toContain('memory:mallory may not use')
  })

  it('authorize sees the principal, per call', async () => {
    await mem.server({ authorize: (peer, method) => peer.principal === 'memory:admin' || method !== 'add' })
    const user = await mem.client({ principal: 'memory:user' })
    const admin = await mem.client({ principal: 'memory:admin' })
    const error = await rejection(user.add({ a: 1, b: 1 }))
    expect(error.code).toBe(Code.PERMISSION_DENIED)
    expect(error.message).toContain("memory:user may not call 'add'")
    expect((await user.whoami({})).principal).toBe('memory:user')
    expect(await admin.add({ a: 1, b: 1 })).toBe(2)
  })
})

describe('per-principal limits', () => {
  it('maxSessionsPerPrincipal refuses a principal past its share, not the others', async () => {
    await mem.server({ maxSessionsPerPrincipal: 2 })
    const first = await mem.client({ principal: 'memory:alice' })
    await mem.client({ principal: 'memory:alice' })
    const error = await rejection(mem.client({ principal: 'memory:alice', reconnect: false }))
    expect(error.code).toBe(Code.RESOURCE_EXHAUSTED)
    expect(error.message).toContain('maxSessionsPerPrincipal')
    expect(error.message).toContain('memory:alice')
    const bob = await mem.client({ principal: 'memory:bob' })
    expect(await bob.add({ a: 2, b: 2 })).toBe(4)
    // A closed session gives its slot back.
    await first.close()
    const again = await mem.client({ principal: 'memory:alice' })
    expect(await again.add({ a: 3, b: 3 })).toBe(6)
  })

  // Regression: a client refused at PROOF (maxSessionsPerPrincipal) ignored the GOODBYE during its
  // handshake and waited out connectTimeoutMs; it now fails at once with the server's reason.
  it('a principal past maxSessionsPerPrincipal by connecting twice at once is told so at once', async () => {
    await mem.server({ maxSessionsPerPrincipal: 1 })
    const both = await Promise.allSettled(
      [1, 2].map(() => mem.client({ principal: 'memory:alice', reconnect: false, connectTimeoutMs: 3000 })),
    )
    expect(both.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1)
    const refused = both.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as RpcError] : []))
    expect(refused[0]?.code).toBe(Code.RESOURCE_EXHAUSTED)
    expect(refused[0]?.message).toContain('maxSessionsPerPrincipal')
  })

  it('one principal holding its share of half-open handshakes does not lock out another', async () => {
    // Without the per-principal bound, mallory's 4 HELLOs would take all 4
    // handshake slots and alice's HELLO would be refused.
    const { server } = await mem.server({ maxHandshakes: 4, maxHandshakesPerPrincipal: 2, handshakeTimeoutMs: 60_000 })
    const answers = []
    for (let i = 0; i < 4; i++) answers.push(await rawHello('memory:mallory'))
    expect(answers.map((answer) => answer.type)).toEqual([
      FrameType.CHALLENGE,
      FrameType.CHALLENGE,
      FrameType.REJECT,
      FrameType.REJECT,
    ])
    const refusal = answers[2]?.body as { code: number; message: string }
    expect(refusal.code).toBe(Code.RESOURCE_EXHAUSTED)
    expect(refusal.message).toContain('memory:mallory has 2 handshakes in progress (maxHandshakesPerPrincipal)')
    const alice = await mem.client({ principal: 'memory:alice' })
    expect(await alice.add({ a: 4, b: 4 })).toBe(8)
    expect(server.sessionCount).toBe(1)
  })

  it('half-open handshakes expire after handshakeTimeoutMs and give their slots back', async () => {
    await mem.server({ maxHandshakes: 4, maxHandshakesPerPrincipal: 1, handshakeTimeoutMs: 200, heartbeatMs: 100 })
    expect((await rawHello('memory:mallory')).type).toBe(FrameType.CHALLENGE)
    expect((await rawHello('memory:mallory')).type).toBe(FrameType.REJECT)
    const next = await settle(
      async () => (await rawHello('memory:mallory')).type,
      (type) => type === FrameType.CHALLENGE,
      'the expired handshake gave its slot back',
    )
    expect(next).toBe(FrameType.CHALLENGE)
  })
})
