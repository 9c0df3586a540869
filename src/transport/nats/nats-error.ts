/**
 * Errors of the NATS transport, and nats.js errors as status code names.
 *
 * nats.js errors are recognised by their `name` (no import of the client is
 * needed, so this module loads where the client is not installed), looking
 * through `cause` chains (a `RequestError` wraps a `NoResponders`).
 * @module
 */
import type { TransportStatus } from '../transport.js'

/** An error of the NATS transport itself; `status` says what it means to a caller. */
export class NatsTransportError extends Error {
  override readonly name = 'NatsTransportError'
  readonly status: TransportStatus
  /** The subject concerned, where there is one. */
  readonly subject: string | undefined

  constructor(status: TransportStatus, message: string, fields: Readonly<{ subject?: string; cause?: unknown }> = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause })
    this.status = status
    this.subject = fields.subject
  }
}

/** nats.js error names (its classes set `name`) and what they mean. */
const BY_NAME: Readonly<Record<string, TransportStatus>> = {
  // nats.js names NoRespondersError 'NoResponders'.
  NoResponders: 'UNAVAILABLE',
  NoRespondersError: 'UNAVAILABLE',
  ClosedConnectionError: 'UNAVAILABLE',
  DrainingConnectionError: 'UNAVAILABLE',
  ConnectionError: 'UNAVAILABLE',
  TimeoutError: 'DEADLINE_EXCEEDED',
  PermissionViolationError: 'PERMISSION_DENIED',
  AuthorizationError: 'PERMISSION_DENIED',
  UserAuthenticationExpiredError: 'PERMISSION_DENIED',
  InvalidSubjectError: 'INVALID_ARGUMENT',
  InvalidArgumentError: 'INVALID_ARGUMENT',
  InvalidOperationError: 'FAILED_PRECONDITION',
  ProtocolError: 'INTERNAL',
}

/**
 * The status of an error of this transport or of nats.js; undefined for
 * errors neither knows.
 */
export function natsStatusOf(error: unknown): TransportStatus | undefined {
  const seen = new Set<unknown>()
  let current: unknown = error
  let fallback: TransportStatus | undefined
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current)
    if (current instanceof NatsTransportError) return current.status
    if (current.name === 'InvalidArgumentError' && /max_payload/.test(current.message)) return 'RESOURCE_EXHAUSTED'
    const status = BY_NAME[current.name]
    if (status !== undefined) return status
    // A RequestError says little by itself; its cause (no responders,
    // timeout) says more.
    if (current.name === 'RequestError') fallback ??= 'UNAVAILABLE'
    current = current.cause
  }
  // ECONNREFUSED and the like, when the first connection fails.
  const code = (error as { code?: unknown } | undefined)?.code
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENOTFOUND') return 'UNAVAILABLE'
  return fallback
}

/** Wraps any error of nats.js in a NatsTransportError saying what was being done. */
export function natsError(doing: string, error: unknown, subject?: string): NatsTransportError {
  if (error instanceof NatsTransportError) return error
  const status = natsStatusOf(error) ?? 'UNKNOWN'
  const why = error instanceof Error ? error.message : String(error)
  return new NatsTransportError(status, `${doing}: ${why}`, {
    cause: error,
    ...(subject === undefined ? {} : { subject }),
  })
}
