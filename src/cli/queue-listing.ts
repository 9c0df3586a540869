/**
 * The queues on this machine, as /dev/mqueue shows them, with what each
 * belongs to where its name tells (docs/PROTOCOL.md section 2): a service's
 * request queue and urgent lane, a client's reply queue, a probe queue.
 * Shared by `mqrpc ls`, `doctor` and `gc`.
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
// Straight from the transport, not the package's index: listing queues needs
// neither TypeBox nor the RPC layer, and `mqrpc ls` starts faster without them.
import { MessageQueue, pidOfReplyQueue, processAlive, urgentLaneName } from '../internal.js'

/** Where the mqueue filesystem is normally mounted. */
export const DEFAULT_MQUEUE_DIR = '/dev/mqueue'

/** The mqueue mount point to read: MQRPC_MQUEUE_DIR, else /dev/mqueue. */
export function mqueueDir(): string {
  return process.env.MQRPC_MQUEUE_DIR || DEFAULT_MQUEUE_DIR
}

/** Whether an mqueue filesystem is mounted at `dir` (per /proc/mounts). */
export function isMqueueMounted(dir = mqueueDir()): boolean {
  try {
    return readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .some((line) => {
        const [, mountPoint, type] = line.split(' ')
        return mountPoint === dir && type === 'mqueue'
      })
  } catch {
    return false
  }
}

/** What to tell a person when the mqueue filesystem is not mounted. */
export function mountHint(dir = mqueueDir()): string {
  return (
    `the mqueue filesystem is not mounted on ${dir}, so the queues on this machine cannot be listed ` +
    `(queues still work without it). Mount it as root: \`mkdir -p ${dir} && mount -t mqueue none ${dir}\`, ` +
    'or run `mqrpc ls --mount` as root'
  )
}

/** What a queue is, told from its name and its neighbours. */
export type QueueKind = 'request' | 'urgent' | 'reply' | 'probe' | 'unknown'

/** One queue of the listing. */
export interface QueueEntry {
  readonly name: string
  readonly uid: number
  readonly gid: number
  /** Permission bits (0o777 mask). */
  readonly mode: number
  /** Bytes waiting in the queue (the QSIZE line of its file); readable without opening it. */
  readonly bytesWaiting: number | undefined
  /** From the queue's attributes, when it could be opened for reading. */
  readonly maxMessages: number | undefined
  readonly messageSize: number | undefined
  readonly currentMessages: number | undefined
  /** Why the attributes are missing (e.g. EACCES for another user's queue). */
  readonly attributesError: string | undefined
  readonly kind: QueueKind
  /** In words: "service request queue", "urgent lane of /calc", "reply queue of pid 42 (alive)". */
  readonly belongsTo: string
  /** For reply and probe queues: the pid the name claims, and whether it runs. */
  readonly pid: number | undefined
  readonly pidAlive: boolean | undefined
  /** For urgent lanes: the request queue they belong to; for request queues, their urgent lane. */
  readonly sibling: string | undefined
}

function readQsize(path: string): number | undefined {
  try {
    const match = /QSIZE:(\d+)/.exec(readFileSync(path, 'utf8'))
    return match === null ? undefined : Number(match[1])
  } catch {
    return undefined
  }
}

interface Attributes {
  maxMessages?: number
  messageSize?: number
  currentMessages?: number
  error?: string
}

function readAttributes(name: string): Attributes | 'gone' {
  let queue: MessageQueue
  try {
    queue = MessageQueue.open(name, { access: 'read' })
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'ENOENT') return 'gone'
    return { error: code === 'EACCES' ? 'EACCES (not readable by this user)' : String(code ?? (error as Error).message) }
  }
  try {
    return queue.attributes()
  } catch (error) {
    return { error: String((error as { code?: string }).code ?? (error as Error).message) }
  } finally {
    void queue.close()
  }
}

function classify(
  name: string,
  all: ReadonlySet<string>,
): Pick<QueueEntry, 'kind' | 'belongsTo' | 'pid' | 'pidAlive' | 'sibling'> {
  const pid = pidOfReplyQueue(name)
  if (pid !== undefined) {
    const alive = processAlive(pid)
    const kind = name.startsWith('/mqrpc.probe.') ? 'probe' : 'reply'
    return {
      kind,
      belongsTo: `${kind} queue of pid ${pid} (${alive ? 'alive' : 'dead'})`,
      pid,
      pidAlive: alive,
      sibling: undefined,
    }
  }
  if (all.has(urgentLaneName(name))) {
    return {
      kind: 'request',
      belongsTo: 'service request queue',
      pid: undefined,
      pidAlive: undefined,
      sibling: urgentLaneName(name),
    }
  }
  if (name.endsWith('.urgent')) {
    const base = name.slice(0, -'.urgent'.length)
    if (all.has(base))
      return { kind: 'urgent', belongsTo: `urgent lane of ${base}`, pid: undefined, pidAlive: undefined, sibling: base }
  }
  return { kind: 'unknown', belongsTo: 'unknown', pid: undefined, pidAlive: undefined, sibling: undefined }
}

/**
 * Lists every queue in the mqueue filesystem at `dir`, sorted by name.
 * Queues removed while we look are left out. Throws when `dir` cannot be read.
 */
export function listQueues(dir = mqueueDir(), options: Readonly<{ attributes?: boolean }> = {}): QueueEntry[] {
  const names = readdirSync(dir)
    .map((file) => `/${file}`)
    .sort()
  const all = new Set(names)
  const entries: QueueEntry[] = []
  for (const name of names) {
    const path = join(dir, name.slice(1))
    let st: ReturnType<typeof statSync>
    try {
      st = statSync(path)
    } catch {
      continue // removed since readdir
    }
    const attributes = options.attributes === false ? {} : readAttributes(name)
    if (attributes === 'gone') continue
    entries.push({
      name,
      uid: st.uid,
      gid: st.gid,
      mode: st.mode & 0o777,
      bytesWaiting: readQsize(path),
      maxMessages: attributes.maxMessages,
      messageSize: attributes.messageSize,
      currentMessages: attributes.currentMessages,
      attributesError: attributes.error,
      ...classify(name, all),
    })
  }
  return entries
}
