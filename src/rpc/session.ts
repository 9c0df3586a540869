/**
 * One client's session, as the server holds it: the reply path it writes
 * to, the peer the transport vouches for, the calls in flight, and the
 * partial bodies being reassembled.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { Code } from '../protocol/code.js'
import { type Frame, FrameFlag, type FrameHeader, FrameType } from '../protocol/frame.js'
import { FrameWriter } from '../protocol/frame-writer.js'
import { Reassembler } from '../protocol/reassembly.js'
import { RpcError, rpcErrorToWire } from '../protocol/rpc-error.js'
import { EMPTY, encodeBody } from '../protocol/wire.js'
import type { PeerLink } from '../transport/transport.js'
import { IdTable } from '../util/id-table.js'
import type { Peer } from './context.js'
import type { LazyAbort } from './lazy-abort.js'
import { RateLimiter } from './rate-limiter.js'

/** Message priorities: urgent replies overtake bulk ones in the reply path. */
export const NORMAL_PRIORITY = 0
export const URGENT_PRIORITY = 1

function encodeOrEmpty(body: unknown): Uint8Array {
  return body === undefined ? EMPTY : encodeBody(body)
}

export type SessionState = 'handshake' | 'open' | 'closed'

/** A fresh, non-zero 64-bit session token. */
export function newToken(): bigint {
  for (;;) {
    const token = randomBytes(8).readBigUInt64LE(0)
    if (token !== 0n) return token
  }
}

export interface InFlightCall {
  readonly controller: LazyAbort
  readonly urgent: boolean
  /** The REQUEST's deadline (epoch ms), if it had one: a CANCEL after it is reported as the deadline (see cancelReason). */
  readonly deadline?: number | undefined
  /** A streaming call takes its CREDIT, STREAM_DATA and STREAM_END frames here (src/rpc/stream-server.ts). */
  readonly stream?: { onFrame(frame: Frame): void }
}

/**
 * Why a CANCEL ends a call. A client whose own deadline timer fired sends
 * CANCEL at the same instant the server's timer for that deadline fires, so
 * whichever arrives first must tell the same story: once the deadline has
 * passed (within the millisecond both sides round their clock readings to),
 * the call ended by its deadline, not by its caller.
 */
export function cancelReason(call: InFlightCall): RpcError {
  return call.deadline !== undefined && call.deadline <= Date.now() + 1
    ? new RpcError(Code.DEADLINE_EXCEEDED, 'deadline passed')
    : new RpcError(Code.CANCELLED, 'the caller cancelled the call')
}

export class Session {
  state: SessionState = 'handshake'
  readonly id: string
  readonly writer: FrameWriter
  readonly reassembler: Reassembler
  readonly inFlight = new IdTable<InFlightCall>()
  readonly limiter: RateLimiter | undefined
  lastSeen = Date.now()
  readonly openedAt = Date.now()
  /** Frames from this session that were dropped as malformed. */
  malformed = 0
  private readonly postFailed: (session: Session, error: unknown) => void
  // One callback for every post, not a closure per reply.
  private readonly afterPost = (error?: unknown): void => {
    if (error !== undefined) this.postFailed(this, error)
  }

  constructor(
    readonly token: bigint,
    readonly link: PeerLink,
    readonly peer: Peer,
    readonly nonce: Uint8Array,
    /** The client's schema fingerprint differs from the server's: WELCOME carries the server's shape. */
    readonly schemaDiffers: boolean,
    /** The client's HELLO said it reads short frames: WELCOME says this server does too, and they are used from then on. */
    readonly shortFrames: boolean,
    server: Readonly<{
      /** Hears a post that could not be written (its reply path stayed full or went away): the server ends the session. */
      postFailed: (session: Session, error: unknown) => void
      /** Whether more replies of this session will be written in a moment. */
      moreRepliesFollow: (session: Session) => boolean
    }>,
    limits: Readonly<{
      maxBodyBytes: number
      maxPartials: number
      partialTimeoutMs: number
      slowReaderMs: number
      maxCallsPerSecond: number | undefined
    }>,
  ) {
    // Not derived from the token: ids are logged and shown, the token is the session's secret.
    this.id = randomBytes(4).toString('hex')
    this.postFailed = server.postFailed
    this.writer = new FrameWriter(link.outbound, {
      sendTimeoutMs: limits.slowReaderMs,
      moreFollow: () => server.moreRepliesFollow(this),
    })
    this.reassembler = new Reassembler(limits)
    this.limiter = limits.maxCallsPerSecond === undefined ? undefined : new RateLimiter(limits.maxCallsPerSecond)
  }

  /** Writes one frame to the client; resolves when it is in the reply queue. */
  send(type: FrameType, callId: number, body: unknown, urgent = false): Promise<void> {
    return this.writer.write(this.header(type, callId, urgent), encodeOrEmpty(body), urgent ? URGENT_PRIORITY : NORMAL_PRIORITY)
  }

  /**
   * Writes one frame to the client without a promise; a failure goes to
   * `postFailed`. `later`: it may wait for the end of this loop turn,
   * packed with others (stream elements; see FrameWriter.postLater).
   */
  post(type: FrameType, callId: number, body: unknown, urgent: boolean, later = false): void {
    const header = this.header(type, callId, urgent)
    const bytes = encodeOrEmpty(body)
    const priority = urgent ? URGENT_PRIORITY : NORMAL_PRIORITY
    if (later) this.writer.postLater(header, bytes, priority, this.afterPost)
    else this.writer.post(header, bytes, priority, this.afterPost)
  }

  private header(type: FrameType, callId: number, urgent: boolean): FrameHeader {
    return { type, flags: urgent ? FrameFlag.URGENT : 0, token: this.token, callId }
  }

  /** Sends an ERROR frame for a call. */
  sendError(callId: number, error: RpcError, urgent = false): Promise<void> {
    return this.send(FrameType.ERROR, callId, rpcErrorToWire(error), urgent)
  }

  /**
   * Tells the client, without waiting, that the session is over; used when
   * the server ends a session the client may not know is gone (it went
   * silent, then woke up). A full reply queue just means it is not told.
   */
  tryGoodbye(reason: RpcError): void {
    if (this.state === 'closed') return
    const body = encodeBody({ code: reason.code, message: reason.rawMessage, draining: false })
    this.writer.tryWrite({ type: FrameType.GOODBYE, flags: 0, token: this.token, callId: 0 }, body, URGENT_PRIORITY)
  }

  /** The client's reply path, as shown in messages. */
  get replyAddress(): string {
    return this.link.outbound.address
  }

  /** Aborts every call in flight with `reason`, closes this side of the reply path (never removes it). */
  async end(reason: RpcError): Promise<void> {
    if (this.state === 'closed') return
    this.state = 'closed'
    for (const call of this.inFlight.valueList()) call.controller.abort(reason)
    this.inFlight.clear()
    this.reassembler.clear()
    await this.link.outbound.close()
  }
}
