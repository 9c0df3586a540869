/**
 * The server's half of the handshake (docs/PROTOCOL.md, "Handshake"):
 * HELLO names a reply path; the server opens it, learns the peer from the
 * transport (on POSIX queues, the reply queue's owner by fstat), and writes
 * a CHALLENGE carrying a fresh session token into it. Only a process that
 * can read that path learns the token, so a PROOF that carries it proves
 * the client reads the path it named.
 * @module
 */
import { Code } from '../protocol/code.js'
import { HEADER_SIZE } from '../protocol/frame.js'
import { RpcError } from '../protocol/rpc-error.js'
import { type HelloBody, PROTOCOL_VERSION } from '../protocol/wire.js'
import type { PeerLink, Transport, VouchedIdentity } from '../transport/transport.js'
import type { Peer } from './context.js'
import type { AllowList, ResolvedServerOptions } from './server-options.js'
import type { AnyService } from './service.js'
import { newToken, Session } from './session.js'

/** What the server knows when a HELLO arrives. */
export interface HandshakeState {
  readonly service: AnyService
  readonly options: ResolvedServerOptions
  /** Sessions past the handshake. */
  readonly openSessions: number
  /** HELLOs answered whose PROOF has not come yet, over all principals. */
  readonly handshakes: number
  /** Of those, the ones of one principal. */
  readonly handshakesOf: (principal: string) => number
  readonly sessionsOf: (principal: string) => number
  /** Ends a handshake in progress that names this reply path, if there is one: one handshake per reply path. */
  readonly supersedeHandshake: (replyAddress: string) => void
  /**
   * Ends the oldest half-open handshake of the principal holding the most,
   * when that is more than `principal` holds; returns whether a slot was
   * freed. A HELLO names a reply path, not its sender, so anyone can spend
   * another principal's share: eviction keeps the slots for whoever holds
   * the fewest.
   */
  readonly evictHandshakeFor: (principal: string) => boolean
  /** A post to a session's client could not be written (its reply path stayed full or went away): the session must end. */
  readonly postFailed: (session: Session, error: unknown) => void
  /** Whether more replies of `session` will be written in a moment (see FrameWriterOptions.moreFollow). */
  readonly moreRepliesFollow: (session: Session) => boolean
}

/** A refusal the server can still deliver, since the reply path is open. */
export class Refusal {
  constructor(
    readonly link: PeerLink,
    readonly error: RpcError,
  ) {}
}

/** Whether the allow list lets `identity` in. */
export function allowed(allow: AllowList | undefined, identity: VouchedIdentity): boolean {
  if (allow === undefined) return true
  return (
    (allow.principals?.includes(identity.principal) ?? false) ||
    (identity.uid !== undefined && (allow.uids?.includes(identity.uid) ?? false)) ||
    (identity.gid !== undefined && (allow.gids?.includes(identity.gid) ?? false))
  )
}

/**
 * Opens the session a HELLO asks for, or explains why not. Throws when the
 * reply path cannot even be opened (nothing can be answered then).
 */
export function openSession(hello: HelloBody, transport: Transport, state: HandshakeState): Session | Refusal {
  const problem =
    transport.replyAddressProblem !== undefined
      ? transport.replyAddressProblem(hello.replyQueue)
      : transport.addressProblem(hello.replyQueue)
  if (problem !== undefined) throw new RpcError(Code.INVALID_ARGUMENT, `HELLO names a bad reply path: ${problem}`)
  // One handshake per reply path, the newest: HELLOs repeated by a stranger
  // naming someone's queue do not pile up on its owner's share, and a client
  // that retries after its own handshake timed out is not kept waiting.
  state.supersedeHandshake(hello.replyQueue)
  const link = transport.openPeer(hello.replyQueue)
  if (link.outbound.messageSize <= HEADER_SIZE) {
    // Not even a REJECT fits; close it here, or every such HELLO leaks a descriptor.
    void link.outbound.close()
    throw new RpcError(
      Code.INVALID_ARGUMENT,
      `reply path ${hello.replyQueue} carries messages of ${link.outbound.messageSize} bytes; a frame needs more than ${HEADER_SIZE}`,
    )
  }
  const refuse = (code: Code, message: string, details?: unknown) => new Refusal(link, new RpcError(code, message, details))
  const { options, service } = state
  const { identity } = link
  const who = identity.principal
  if (hello.protocol !== PROTOCOL_VERSION) {
    return refuse(Code.FAILED_PRECONDITION, `client speaks protocol ${hello.protocol}; this server speaks ${PROTOCOL_VERSION}`)
  }
  if (link.distrust !== undefined) return refuse(Code[link.distrust.status], link.distrust.message)
  if (hello.service !== service.name) {
    // The name in details lets tools that know only the address (mqrpc describe) connect next time.
    return refuse(Code.NOT_FOUND, `${options.queue} serves '${service.name}', not '${hello.service}'`, {
      service: service.name,
    })
  }
  if (!allowed(options.allow, identity)) {
    return refuse(Code.PERMISSION_DENIED, `${who} may not use '${service.name}' (the server's allow list)`)
  }
  if (state.handshakesOf(who) >= options.maxHandshakesPerPrincipal) {
    return refuse(
      Code.RESOURCE_EXHAUSTED,
      `${who} has ${options.maxHandshakesPerPrincipal} handshakes in progress (maxHandshakesPerPrincipal); finish them or wait ${options.handshakeTimeoutMs} ms`,
    )
  }
  if (state.handshakes >= options.maxHandshakes && !state.evictHandshakeFor(who)) {
    return refuse(
      Code.RESOURCE_EXHAUSTED,
      `server has ${options.maxHandshakes} handshakes in progress (maxHandshakes); try again in ${options.handshakeTimeoutMs} ms`,
    )
  }
  if (state.openSessions >= options.maxSessions) {
    return refuse(
      Code.RESOURCE_EXHAUSTED,
      `server has its maximum of ${options.maxSessions} sessions (maxSessions); try again later`,
    )
  }
  if (state.sessionsOf(who) >= options.maxSessionsPerPrincipal) {
    return refuse(Code.RESOURCE_EXHAUSTED, sessionsPerPrincipalExceeded(who, options))
  }
  const peer: Peer = {
    ...identity,
    ...(hello.pid > 0 ? { pid: hello.pid } : {}),
  }
  // A client of another schema version is let in: it decides, from the
  // server's shape in WELCOME, which of its methods still work.
  const schemaDiffers = hello.fingerprint !== undefined && hello.fingerprint !== service.fingerprint
  return new Session(newToken(), link, peer, hello.nonce, schemaDiffers, hello.shortFrames === true, state, {
    maxBodyBytes: options.maxBodyBytes,
    maxPartials: options.maxPartials,
    partialTimeoutMs: options.partialTimeoutMs,
    slowReaderMs: options.slowReaderMs,
    maxCallsPerSecond: options.maxCallsPerSecond,
  })
}

/** The refusal of a principal's session past maxSessionsPerPrincipal. */
export function sessionsPerPrincipalExceeded(principal: string, options: ResolvedServerOptions): string {
  return `${principal} has its maximum of ${options.maxSessionsPerPrincipal} sessions (maxSessionsPerPrincipal); close some clients`
}
