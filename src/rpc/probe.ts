/**
 * Whether a live server answers on an address: a HELLO is sent, and a live
 * server answers it (with a REJECT, since the probe names no real service).
 * A starting server asks before it takes over a queue left behind, and
 * `mqrpc gc --probe` asks before it removes one.
 * @module
 */
import { FrameType, forEachFrame } from '../protocol/frame.js'
import { FrameWriter } from '../protocol/frame-writer.js'
import { encodeBody, PROTOCOL_VERSION } from '../protocol/wire.js'
import type { ServiceLanes, Transport } from '../transport/transport.js'

/** The service name a probe asks for: no server serves it, so every live one answers REJECT. */
export const PROBE_SERVICE = '$probe'

/** Whether a live server reads `address`: it answers a probe within `timeoutMs`. */
export async function isServed(transport: Transport, address: string, timeoutMs: number): Promise<boolean> {
  const reply = await transport.openReplyPath({ maxMessages: 2, messageSize: 1024 })
  let lanes: ServiceLanes
  try {
    lanes = await transport.connect(address, reply.inbound.address)
  } catch (error) {
    await reply.close()
    if (transport.statusOf(error) === 'UNAVAILABLE') return false
    throw error
  }
  let timer: NodeJS.Timeout | undefined
  try {
    const answered = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs)
      reply.inbound.consume((data) => {
        try {
          forEachFrame(data, () => resolve(true))
        } catch {
          // Not a frame: not an answer either.
        }
      })
    })
    const hello = encodeBody({
      protocol: PROTOCOL_VERSION,
      service: PROBE_SERVICE,
      replyQueue: reply.inbound.address,
      pid: process.pid,
      nonce: new Uint8Array(8),
    })
    const writer = new FrameWriter(lanes.requests, { sendTimeoutMs: timeoutMs })
    try {
      await writer.write({ type: FrameType.HELLO, flags: 0, token: 0n, callId: 0 }, hello)
    } catch {
      return false // full, and nobody drains it
    }
    return await answered
  } finally {
    clearTimeout(timer)
    await reply.close()
    await lanes.requests.close()
    await lanes.urgent.close()
  }
}
