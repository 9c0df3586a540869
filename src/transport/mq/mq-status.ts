/**
 * POSIX-queue errors as status code names: the one place where this mapping
 * lives (the RPC layer turns the name into a `Code`).
 * @module
 */
import type { TransportStatus } from '../transport.js'
import { MqError, QUEUE_ABORTED, QUEUE_CLOSED, QUEUE_TIMEOUT } from './mq-error.js'

/** The status an {@link MqError} stands for; undefined for anything else. */
export function mqStatusOf(error: unknown): TransportStatus | undefined {
  if (!(error instanceof MqError)) return undefined
  switch (error.code) {
    case QUEUE_TIMEOUT:
      return 'DEADLINE_EXCEEDED'
    case QUEUE_ABORTED:
      return 'CANCELLED'
    case 'ENOENT':
    case QUEUE_CLOSED:
      return 'UNAVAILABLE'
    case 'EACCES':
      return 'PERMISSION_DENIED'
    case 'EMFILE':
    case 'ENOSPC':
    case 'EAGAIN':
      return 'RESOURCE_EXHAUSTED'
    case 'EMSGSIZE':
    case 'EINVAL':
      return 'INVALID_ARGUMENT'
    case 'EEXIST':
      return 'ALREADY_EXISTS'
    default:
      return 'UNAVAILABLE'
  }
}
