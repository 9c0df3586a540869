/**
 * How mqrpc names its queues. `mqrpc ls` and `mqrpc gc` read these names
 * back, so they are part of the contract (docs/PROTOCOL.md section 2).
 * @module
 */
import { randomBytes } from 'node:crypto'

/** The urgent lane of the service whose request queue is `queue`. */
export function urgentLaneName(queue: string): string {
  return `${queue}.urgent`
}

/** A fresh reply queue name: unguessable, and naming its creator's pid for `mqrpc gc`. */
export function replyQueueName(pid = process.pid): string {
  return `/mqrpc.reply.${pid}.${randomBytes(12).toString('hex')}`
}

/** The pid a reply queue name claims, or undefined when it is not one of ours. */
export function pidOfReplyQueue(name: string): number | undefined {
  const match = /^\/mqrpc\.(?:reply|probe)\.(\d+)\.[0-9a-f]+$/.exec(name)
  return match === null ? undefined : Number(match[1])
}

/** A reply queue for probing whether a server is alive. */
export function probeQueueName(pid = process.pid): string {
  return `/mqrpc.probe.${pid}.${randomBytes(8).toString('hex')}`
}
