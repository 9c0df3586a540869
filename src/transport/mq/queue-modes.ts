/**
 * Who may read and write mqrpc's queues. A queue's mode is the whole of its
 * access control, so the policy lives here, once.
 * @module
 */

/** Request queues and urgent lanes: anyone may write (call), only the owner reads. */
export const DEFAULT_SERVICE_QUEUE_MODE = 0o622
/** Reply queues: the server (any uid) writes, only the client reads. */
export const REPLY_QUEUE_MODE = 0o622
/** Probe queues, made to ask whether a server is alive. */
export const PROBE_QUEUE_MODE = 0o622

/** Group or others may read: whoever reads a queue learns every session token in it. */
export function readableByOthers(mode: number): boolean {
  return (mode & 0o044) !== 0
}

/** Octal as people write modes: 0o622. */
export function octalMode(mode: number): string {
  return `0o${(mode & 0o777).toString(8)}`
}
