/**
 * The client's half of the handshake (docs/PROTOCOL.md, "Handshake"): the
 * HELLO it sends, the CHALLENGE it must answer with a PROOF, the REJECT or
 * WELCOME that ends it. The nonce was sent only to the server (whose
 * request lane no one else reads), so a CHALLENGE or REJECT without it was
 * not written by the server.
 * @module
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { Code } from '../protocol/code.js'
import { FrameType } from '../protocol/frame.js'
import { Reassembler } from '../protocol/reassembly.js'
import { RpcError, rpcErrorFromWire } from '../protocol/rpc-error.js'
import { decodeBody, encodeBody, PROTOCOL_VERSION, readNonce, readWelcome, type WelcomeBody } from '../protocol/wire.js'
import { diffServiceShapes } from './schema-diff.js'
import { type AnyService, serviceShape } from './service.js'

/** Partial CHALLENGE or REJECT bodies held at once: the real one, and room for a forged one beside it. */
const HANDSHAKE_MAX_PARTIALS = 4

/** What a CHALLENGE or REJECT body turned out to be. */
export type HandshakeAnswer =
  /** Not written by the server: drop it. */
  | { readonly kind: 'forged' }
  /** A CHALLENGE: prove the session with this token. */
  | { readonly kind: 'challenge'; readonly token: bigint }
  /** A REJECT: the handshake failed (already reported through `done`). */
  | { readonly kind: 'rejected' }
  /** A repeated CHALLENGE, nothing to do. */
  | { readonly kind: 'ignored' }

export class ClientHandshake {
  readonly nonce: Uint8Array = randomBytes(8)
  /**
   * CHALLENGE and REJECT bodies are reassembled here, not in the session's
   * reassembler: anyone may write into a reply path, and forged fragments
   * must die with the handshake instead of holding the session's slots.
   */
  readonly reassembler: Reassembler
  /** Resolves with the server's terms at WELCOME; rejects at REJECT, a malformed WELCOME, or `fail`. */
  readonly done: Promise<WelcomeBody>
  private stage: 'challenge' | 'welcome' = 'challenge'
  private resolveDone!: (welcome: WelcomeBody) => void
  private rejectDone!: (error: RpcError) => void

  constructor(
    private readonly service: AnyService,
    maxBodyBytes: number,
  ) {
    this.reassembler = new Reassembler({ maxBodyBytes, maxPartials: HANDSHAKE_MAX_PARTIALS })
    this.done = new Promise<WelcomeBody>((resolve, reject) => {
      this.resolveDone = resolve
      this.rejectDone = reject
    })
    // A failure may come while nobody awaits yet (the HELLO still waits for room); `done` reports it.
    this.done.catch(() => undefined)
  }

  /** The HELLO body, naming the reply path; `fingerprint` false sends none (a dynamic client). */
  hello(replyAddress: string, fingerprint: string | false | undefined): Uint8Array {
    return encodeBody({
      protocol: PROTOCOL_VERSION,
      service: this.service.name,
      replyQueue: replyAddress,
      pid: process.pid,
      nonce: this.nonce,
      // This client's reader takes short frames: replies may pack tighter.
      shortFrames: true,
      ...(fingerprint === false ? {} : { fingerprint: fingerprint ?? this.service.fingerprint }),
    })
  }

  /** A whole CHALLENGE (`token` is the frame's) or REJECT body. */
  answer(type: FrameType, token: bigint, body: Uint8Array): HandshakeAnswer {
    let nonce: Uint8Array
    try {
      nonce = readNonce(decodeBody(body, 'handshake'), 'handshake')
    } catch {
      return { kind: 'forged' }
    }
    if (nonce.byteLength !== this.nonce.byteLength || !timingSafeEqual(nonce, this.nonce)) return { kind: 'forged' }
    if (type === FrameType.REJECT) {
      this.fail(this.explainRefusal(rpcErrorFromWire(decodeBody(body, 'REJECT'))))
      return { kind: 'rejected' }
    }
    if (this.stage !== 'challenge' || token === 0n) return { kind: 'ignored' }
    this.stage = 'welcome'
    return { kind: 'challenge', token }
  }

  /** Whether a WELCOME is expected now. */
  get awaitsWelcome(): boolean {
    return this.stage === 'welcome'
  }

  /** A whole WELCOME body: the handshake is done. */
  welcome(value: unknown): void {
    try {
      this.resolveDone(readWelcome(value))
    } catch (error) {
      this.fail(RpcError.from(error))
    }
  }

  /** Ends the handshake with `error`. */
  fail(error: RpcError): void {
    this.rejectDone(error)
  }

  /** A fingerprint refusal carries the server's shape: say what differs. */
  private explainRefusal(error: RpcError): RpcError {
    const details = error.details as { shape?: unknown } | undefined
    if (error.code !== Code.FAILED_PRECONDITION || details?.shape === undefined) return error
    const lines = diffServiceShapes(serviceShape(this.service), details.shape)
    if (lines.length === 0) return error
    return new RpcError(error.code, `${error.rawMessage}. Differences: ${lines.join('; ')}`, { ...details, differences: lines })
  }
}
