/**
 * The msgpack bodies of each frame type (docs/PROTOCOL.md section 4), with
 * shape checks on the way in: a peer's bytes are never trusted.
 * @module
 */
import { Code } from './code.js'
import { decoder } from './msgpack.js'
import { RpcError } from './rpc-error.js'

/** The protocol version a HELLO names: the same number as every frame header's version byte. */
export { PROTOCOL_VERSION } from './frame.js'

/** Encodes a body; the result is the caller's to keep. */
export { encodeBody } from './msgpack.js'

/**
 * Decodes a body, or throws INVALID_ARGUMENT saying why it is not msgpack.
 * Nothing decoded refers to `bytes`: they may be reused once this returns.
 */
export function decodeBody(bytes: Uint8Array, what: string): unknown {
  if (bytes.length === 0) return undefined
  try {
    return decoder.decode(bytes)
  } catch (error) {
    throw new RpcError(Code.INVALID_ARGUMENT, `${what} body is not valid msgpack: ${(error as Error).message}`)
  }
}

export const EMPTY = new Uint8Array(0)

export interface HelloBody {
  readonly protocol: number
  readonly service: string
  readonly replyQueue: string
  readonly pid: number
  readonly nonce: Uint8Array
  readonly fingerprint?: string
  /** The client reads short frames (docs/PROTOCOL.md 3.1) on its reply path. */
  readonly shortFrames?: boolean
}

export interface WelcomeBody {
  readonly service: string
  readonly fingerprint: string
  readonly heartbeatMs: number
  readonly maxBodyBytes: number
  readonly maxInFlight: number
  /**
   * The server's schema (as `$describe` shows it), sent when the client's
   * fingerprint differs, so that the client can tell which of its methods
   * still work (docs/SCHEMA-EVOLUTION.md).
   */
  readonly shape?: unknown
  /** The server reads short frames from this client, and writes them to it (its HELLO asked). */
  readonly shortFrames?: boolean
}

export interface ErrorBody {
  readonly code: number
  readonly message: string
  readonly details?: unknown
}

export interface RejectBody extends ErrorBody {
  readonly nonce: Uint8Array
}

export interface GoodbyeBody {
  readonly code: number
  readonly message: string
  /** True while the server finishes calls already made; new calls should go elsewhere or wait. */
  readonly draining: boolean
}

/**
 * REQUEST body: [method, input, deadline as epoch ms or null, metadata?].
 * The fourth element (a map of strings, or nil) is optional: a 3-element
 * REQUEST stays valid, and clients leave it out when there is no metadata.
 */
export type RequestBody = readonly [method: string, input: unknown, deadline: number | null, metadata?: unknown]
/** EVENT body: [name, payload]. */
export type EventBody = readonly [name: string, payload: unknown]

function malformed(what: string, problem: string): never {
  throw new RpcError(Code.INVALID_ARGUMENT, `malformed ${what} body: ${problem}`)
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) malformed(what, 'expected a map')
  return value as Record<string, unknown>
}

function field<T>(body: Record<string, unknown>, key: string, type: string, what: string): T {
  const value = body[key]
  const ok = type === 'bin' ? value instanceof Uint8Array : typeof value === type
  if (!ok) malformed(what, `field "${key}" must be ${type}`)
  return value as T
}

export function readHello(value: unknown): HelloBody {
  const body = record(value, 'HELLO')
  const hello: HelloBody = {
    protocol: field<number>(body, 'protocol', 'number', 'HELLO'),
    service: field<string>(body, 'service', 'string', 'HELLO'),
    replyQueue: field<string>(body, 'replyQueue', 'string', 'HELLO'),
    pid: field<number>(body, 'pid', 'number', 'HELLO'),
    nonce: field<Uint8Array>(body, 'nonce', 'bin', 'HELLO'),
  }
  if (hello.nonce.byteLength < 8 || hello.nonce.byteLength > 64) malformed('HELLO', 'nonce must be 8 to 64 bytes')
  return {
    ...hello,
    ...(body.fingerprint === undefined ? {} : { fingerprint: field<string>(body, 'fingerprint', 'string', 'HELLO') }),
    ...(body.shortFrames === true ? { shortFrames: true } : {}),
  }
}

export function readNonce(value: unknown, what: string): Uint8Array {
  return field<Uint8Array>(record(value, what), 'nonce', 'bin', what)
}

export function readWelcome(value: unknown): WelcomeBody {
  const body = record(value, 'WELCOME')
  return {
    service: field<string>(body, 'service', 'string', 'WELCOME'),
    fingerprint: field<string>(body, 'fingerprint', 'string', 'WELCOME'),
    heartbeatMs: field<number>(body, 'heartbeatMs', 'number', 'WELCOME'),
    maxBodyBytes: field<number>(body, 'maxBodyBytes', 'number', 'WELCOME'),
    maxInFlight: field<number>(body, 'maxInFlight', 'number', 'WELCOME'),
    ...(body.shape === undefined ? {} : { shape: body.shape }),
    ...(body.shortFrames === true ? { shortFrames: true } : {}),
  }
}

export function readRequest(value: unknown): RequestBody {
  if (!Array.isArray(value) || (value.length !== 3 && value.length !== 4)) {
    malformed('REQUEST', 'expected [method, input, deadline] or [method, input, deadline, metadata]')
  }
  const [method, input, deadline, metadata] = value as unknown[]
  if (typeof method !== 'string') malformed('REQUEST', 'method must be a string')
  if (deadline !== null && (typeof deadline !== 'number' || !Number.isFinite(deadline))) {
    malformed('REQUEST', 'deadline must be a finite number (epoch ms) or nil')
  }
  const isMap = typeof metadata === 'object' && !Array.isArray(metadata) && !(metadata instanceof Uint8Array)
  if (metadata !== undefined && !isMap) {
    malformed('REQUEST', 'expected [method, input, deadline] or [method, input, deadline, metadata] with metadata a map or nil')
  }
  // Its entries and bounds are checked by the RPC layer (src/rpc/metadata.ts).
  return [method, input, deadline, metadata]
}

export function readEvent(value: unknown): EventBody {
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string') {
    malformed('EVENT', 'expected [name, payload]')
  }
  return [value[0] as string, value[1]]
}

export function readGoodbye(value: unknown): GoodbyeBody {
  const body = record(value ?? {}, 'GOODBYE')
  return {
    code: typeof body.code === 'number' ? body.code : Code.UNAVAILABLE,
    message: typeof body.message === 'string' ? body.message : 'the peer said goodbye',
    draining: body.draining === true,
  }
}

/** Largest grant one CREDIT may carry: a reader never needs more, and a sum of grants stays a safe integer. */
export const MAX_CREDIT = 0xffff

/** CREDIT body: a positive integer, how many more STREAM_DATA elements the sender may write. */
export function readCredit(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CREDIT) {
    malformed('CREDIT', `expected an integer from 1 to ${MAX_CREDIT}`)
  }
  return value
}
