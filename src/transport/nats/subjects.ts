/**
 * The NATS subjects of mqrpc, and what a reply subject says about its owner.
 *
 * For service `calc` under prefix `mqrpc` (docs/NATS.md):
 *
 * | Subject | Subscribed by | Carries |
 * |---|---|---|
 * | `mqrpc.calc` | every instance, queue group `mqrpc.calc` | HELLOs (and anything of a client not yet pinned) |
 * | `mqrpc.calc.urgent` | every instance, queue group `mqrpc.calc` | urgent calls of unpinned clients |
 * | `mqrpc.calc.<instance>` | that instance only | a session's frames after its CHALLENGE |
 * | `mqrpc.calc.<instance>.urgent` | that instance only | its urgent calls |
 * | `_INBOX.<user>.<id>` | one client | everything the server sends to it |
 * @module
 */

/** The default subject prefix of service subjects. */
export const DEFAULT_SUBJECT_PREFIX = 'mqrpc'
/** The default root under which user inbox prefixes lie: `_INBOX.<user>`. */
export const DEFAULT_INBOX_ROOT = '_INBOX'
/** The last token of an urgent lane's subject. */
export const URGENT_TOKEN = 'urgent'

/** One subject token as mqrpc uses it: letters, digits, `-` and `_`. */
const TOKEN = /^[A-Za-z0-9_-]+$/

/** Why `subject` is not a literal subject to publish to (no wildcards, no empty tokens); undefined when it is. */
export function subjectProblem(subject: string, what: string): string | undefined {
  if (subject === '') return `${what} is empty`
  if (/\s/.test(subject) || subject.includes('\0')) return `${what} '${subject}' contains white space or NUL`
  const tokens = subject.split('.')
  if (tokens.some((token) => token === '')) return `${what} '${subject}' has an empty token (two dots, or a dot at an end)`
  if (tokens.some((token) => token === '*' || token === '>')) return `${what} '${subject}' contains a wildcard (* or >)`
  return undefined
}

/** The service name an address stands for: `/calc` and `calc` both name `calc`. */
export function serviceOfAddress(address: string): string {
  return address.startsWith('/') ? address.slice(1) : address
}

/** Why `address` cannot name a service on NATS, or undefined when it can. */
export function serviceAddressProblem(address: string): string | undefined {
  const service = serviceOfAddress(address)
  if (service === '') return `address '${address}' names no service`
  if (!TOKEN.test(service)) {
    return (
      `address '${address}' cannot name a NATS service: after an optional leading '/', use only letters, digits, '-' and '_' ` +
      `(it becomes one subject token, and the NATS micro name of the service)`
    )
  }
  if (service === URGENT_TOKEN) return `address '${address}' is reserved (it would collide with urgent lanes)`
  return undefined
}

/** The subjects of one service under one prefix. */
export class ServiceSubjects {
  readonly service: string
  /** The shared request lane, also the queue group's name. */
  readonly requests: string
  readonly urgent: string

  constructor(
    readonly prefix: string,
    address: string,
  ) {
    this.service = serviceOfAddress(address)
    this.requests = `${prefix}.${this.service}`
    this.urgent = `${this.requests}.${URGENT_TOKEN}`
  }

  /** The queue group every instance's shared lanes join. */
  get queueGroup(): string {
    return this.requests
  }

  /** The request lane of one instance. */
  instanceRequests(instanceId: string): string {
    return `${this.requests}.${instanceId}`
  }

  /** The urgent lane of one instance. */
  instanceUrgent(instanceId: string): string {
    return `${this.requests}.${instanceId}.${URGENT_TOKEN}`
  }
}

/**
 * What the server puts in the NATS `reply` field of every message it sends
 * into a client's reply subject: `<instance>.<link>`. The client's lanes
 * send to that instance from then on; `link` (one per PeerLink, so one per
 * handshake) tells a new session's first message from late ones of an
 * earlier session.
 */
export function pinningMark(instanceId: string, linkId: string): string {
  return `${instanceId}.${linkId}`
}

/** Reads a pinning mark; undefined when `reply` is not one. */
export function readPinningMark(reply: string | undefined): { instanceId: string; linkId: string } | undefined {
  if (reply === undefined || reply === '') return undefined
  const tokens = reply.split('.')
  if (tokens.length !== 2) return undefined
  const [instanceId, linkId] = tokens as [string, string]
  if (!TOKEN.test(instanceId) || !TOKEN.test(linkId) || instanceId === URGENT_TOKEN) return undefined
  return { instanceId, linkId }
}

/**
 * The user whose reserved inbox prefix `subject` lies under:
 * `<inboxRoot>.<user>.<anything>` gives `<user>`; undefined otherwise. The
 * claim is sound only where the broker lets no one but `<user>` subscribe
 * under `<inboxRoot>.<user>.>` (docs/NATS.md).
 */
export function inboxUser(subject: string, inboxRoot: string): string | undefined {
  const root = `${inboxRoot}.`
  if (!subject.startsWith(root)) return undefined
  const tokens = subject.slice(root.length).split('.')
  if (tokens.length < 2) return undefined
  const user = tokens[0] as string
  return user === '' || user === '*' || user === '>' ? undefined : user
}
