/**
 * The server's half of the handshake (docs/PROTOCOL.md section 5):
 * HELLO names a reply queue; the server opens it, learns the peer from its
 * owner (fstat), and writes a CHALLENGE carrying a fresh session token into
 * it. Only a process that can read that queue learns the token, so a PROOF
 * that carries it proves the client reads the queue it named.
 * @module
 */
import { HEADER_SIZE } from '../protocol/frame.js'
import { MessageQueue } from '../transport/mq/message-queue.js'
import { queueNameProblem } from '../transport/mq/queue-name-rules.js'
import { Code } from '../protocol/code.js'
import { RpcError } from './rpc-error.js'
import type { ResolvedServerOptions } from './server-options.js'
import { type AnyService, serviceShape } from './service.js'
import { newToken, Session } from './session.js'
import { type HelloBody, WIRE_PROTOCOL } from '../protocol/wire.js'

/** What the server knows when a HELLO arrives. */
export interface HandshakeState {
  readonly service: AnyService
  readonly options: ResolvedServerOptions
  /** Sessions past the handshake. */
  readonly openSessions: number
  /** HELLOs answered whose PROOF has not come yet. */
  readonly handshakes: number
  readonly sessionsOfUid: (uid: number) => number
}

/** A refusal the server can still deliver, since the reply queue is open. */
export class Refusal {
  constructor(
    readonly replyQueue: MessageQueue,
    readonly error: RpcError,
  ) {}
}

/**
 * Opens the session a HELLO asks for, or explains why not. Throws when the
 * reply queue cannot even be opened (nothing can be answered then).
 */
export function openSession(hello: HelloBody, state: HandshakeState): Session | Refusal {
  const problem = queueNameProblem(hello.replyQueue)
  if (problem !== undefined) throw new RpcError(Code.INVALID_ARGUMENT, `HELLO names a bad reply queue: ${problem}`)
  const replyQueue = MessageQueue.open(hello.replyQueue, { access: 'write' })
  const refuse = (code: Code, message: string, details?: unknown) => new Refusal(replyQueue, new RpcError(code, message, details))
  const { options, service } = state
  let owner: ReturnType<MessageQueue['owner']>
  try {
    owner = replyQueue.owner()
  } catch (error) {
    void replyQueue.close()
    throw error
  }
  if (replyQueue.messageSize <= HEADER_SIZE) {
    // Not even a REJECT fits; close it here, or every such HELLO leaks a descriptor.
    void replyQueue.close()
    throw new RpcError(
      Code.INVALID_ARGUMENT,
      `reply queue ${hello.replyQueue} carries messages of ${replyQueue.messageSize} bytes; a frame needs more than ${HEADER_SIZE}`,
    )
  }
  if (hello.protocol !== WIRE_PROTOCOL) {
    return refuse(Code.FAILED_PRECONDITION, `client speaks protocol ${hello.protocol}; this server speaks ${WIRE_PROTOCOL}`)
  }
  if ((owner.mode & 0o044) !== 0) {
    return refuse(
      Code.PERMISSION_DENIED,
      `reply queue ${hello.replyQueue} has mode 0o${owner.mode.toString(8)}, so others could read replies; create it with mode 0o622 or 0o600`,
    )
  }
  if (hello.service !== service.name) {
    // The name in details lets tools that know only the queue (mqrpc describe) connect next time.
    return refuse(Code.NOT_FOUND, `queue ${options.queue} serves '${service.name}', not '${hello.service}'`, {
      service: service.name,
    })
  }
  if (hello.fingerprint !== undefined && hello.fingerprint !== service.fingerprint) {
    return refuse(
      Code.FAILED_PRECONDITION,
      `client's schema for '${service.name}' differs from the server's (fingerprint ${hello.fingerprint} vs ${service.fingerprint}); regenerate the client`,
      { fingerprint: service.fingerprint, shape: serviceShape(service) },
    )
  }
  const allow = options.allow
  if (allow !== undefined && !(allow.uids?.includes(owner.uid) || allow.gids?.includes(owner.gid))) {
    return refuse(
      Code.PERMISSION_DENIED,
      `uid ${owner.uid} gid ${owner.gid} may not use '${service.name}' (the server's allow list)`,
    )
  }
  if (state.handshakes >= options.maxHandshakes) {
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
  if (state.sessionsOfUid(owner.uid) >= options.maxSessionsPerUid) {
    return refuse(
      Code.RESOURCE_EXHAUSTED,
      `uid ${owner.uid} has its maximum of ${options.maxSessionsPerUid} sessions (maxSessionsPerUid); close some clients`,
    )
  }
  const peer = hello.pid > 0 ? { uid: owner.uid, gid: owner.gid, pid: hello.pid } : { uid: owner.uid, gid: owner.gid }
  return new Session(newToken(), replyQueue, peer, hello.nonce, {
    maxBodyBytes: options.maxBodyBytes,
    maxPartials: options.maxPartials,
    partialTimeoutMs: options.partialTimeoutMs,
    slowReaderMs: options.slowReaderMs,
    maxCallsPerSecond: options.maxCallsPerSecond,
  })
}
