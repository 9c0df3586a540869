/**
 * `mqrpc gc`: finds queues left behind by processes that no longer exist
 * and, with --yes, removes them. Never a live process's queue; never
 * another user's queue unless root asks with --all.
 * @module
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { MessageQueue, processAlive } from '../internal.js'
import { CliFailure, intOption, parseVerbArgs, queueArg, UsageError, verbRunner } from './args.js'
import { Exit } from './cli.js'
import { printJson, userName } from './output.js'
import { isMqueueMounted, listQueues, mountHint, mqueueDir, type QueueEntry } from './queue-listing.js'

const HELP = `Usage: mqrpc gc [queue...] [--yes] [--all] [--probe [--probe-timeout ms]] [--json]

Finds queues left behind by processes that no longer exist, and with --yes
removes them (mq_unlink). A dry run by default: it only lists.

Stale is decided from the name, never guessed:
  /mqrpc.reply.<pid>.<hex>   a client's reply queue, stale when pid is gone
  /mqrpc.probe.<pid>.<hex>   a server's probe queue, stale when pid is gone
  /name + /name.urgent       with --probe only: a service's request queue and
                             urgent lane, stale when no server answers a
                             handshake within --probe-timeout (a hung server
                             looks dead too, so this is opt-in)

It never touches the queue of a live process, nor a queue of another user
unless run as root with --all. Given queue names, it looks at those only.

Options:
  --yes                remove what it finds (default: only list)
  --all                as root: other users' queues too
  --probe              also probe service request queues (see above)
  --probe-timeout ms   how long a server has to answer (default 2000)
  --json               one JSON object: {dryRun, checked, stale: [...],
                       skippedOtherUsers, absent: [names given that do not exist]}
  --help               this text

Exit codes: 0 nothing stale, or everything stale removed; 1 stale queues
found in a dry run, or some could not be removed, or a queue named does not
exist, or the mqueue filesystem is not mounted; 2 bad usage.`

interface Stale {
  readonly name: string
  readonly uid: number
  readonly reason: string
  removed?: boolean
  error?: string
}

/** Whether anyone still serves `queue`: any answer to a handshake, even a refusal, is a live server. */
/** Whether a server answers on `queue`: the same probe a starting server makes before it takes a queue over. */
async function answers(queue: string, timeoutMs: number): Promise<boolean> {
  try {
    // Loaded only for --probe: the handshake needs the RPC layer.
    const { defaultTransport, isServed } = await import('../internal.js')
    return await isServed(defaultTransport, queue, timeoutMs)
  } catch {
    return true // could not even ask (e.g. not ours to write to): leave it alone
  }
}

async function findStale(dir: string, queues: readonly QueueEntry[], probe: boolean, probeTimeoutMs: number): Promise<Stale[]> {
  const stale: Stale[] = []
  for (const queue of queues) {
    if ((queue.kind === 'reply' || queue.kind === 'probe') && queue.pid !== undefined && queue.pidAlive === false) {
      stale.push({ name: queue.name, uid: queue.uid, reason: `${queue.kind} queue of pid ${queue.pid}, which no longer exists` })
    }
  }
  if (!probe) return stale
  for (const queue of queues) {
    if (queue.kind !== 'request' || queue.sibling === undefined) continue
    if (await answers(queue.name, probeTimeoutMs)) continue
    if (!existsSync(join(dir, queue.name.slice(1)))) continue // removed meanwhile (its server closed)
    const reason = `no server answered a handshake on ${queue.name} within ${probeTimeoutMs} ms`
    stale.push({ name: queue.name, uid: queue.uid, reason: `service request queue: ${reason}` })
    const lane = queues.find((q) => q.name === queue.sibling)
    stale.push({ name: queue.sibling, uid: lane?.uid ?? queue.uid, reason: `urgent lane of ${queue.name}: ${reason}` })
  }
  // An urgent lane whose request queue is gone: a server reads both, so one
  // that still reads this lane answers the probe here.
  for (const queue of queues) {
    if (queue.kind !== 'unknown' || !queue.name.endsWith('.urgent')) continue
    if (await answers(queue.name, probeTimeoutMs)) continue
    if (!existsSync(join(dir, queue.name.slice(1)))) continue
    const base = queue.name.slice(0, -'.urgent'.length)
    const reason = `urgent lane whose request queue ${base} is gone; no server answered a handshake on it within ${probeTimeoutMs} ms`
    stale.push({ name: queue.name, uid: queue.uid, reason })
  }
  return stale
}

function remove(entry: Stale): void {
  // Look again just before removing: a pid is only ever checked, never trusted from a minute ago.
  const pid = /^\/mqrpc\.(?:reply|probe)\.(\d+)\./.exec(entry.name)?.[1]
  if (pid !== undefined && processAlive(Number(pid))) {
    entry.removed = false
    entry.error = `pid ${pid} exists again (reused?); left alone`
    return
  }
  try {
    MessageQueue.unlink(entry.name)
    entry.removed = true
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') {
      entry.removed = true // someone else removed it meanwhile
      return
    }
    entry.removed = false
    entry.error = (error as Error).message
  }
}

async function body(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(args, {
    yes: { type: 'boolean', default: false },
    all: { type: 'boolean', default: false },
    probe: { type: 'boolean', default: false },
    'probe-timeout': { type: 'string' },
    json: { type: 'boolean', default: false },
  })
  for (const name of positionals) queueArg(name)
  const uid = process.getuid?.() ?? 0
  if (values.all && uid !== 0) {
    throw new UsageError("--all needs root: only root may remove other users' queues")
  }
  const probeTimeoutMs = intOption(values['probe-timeout'], 'probe-timeout', 1) ?? 2000
  const dir = mqueueDir()
  if (!isMqueueMounted(dir)) {
    throw new CliFailure(`cannot look for stale queues: ${mountHint(dir)}`, Exit.FAILURE, { code: 'FAILED_PRECONDITION' })
  }
  const wanted = positionals.length === 0 ? undefined : new Set(positionals)
  const listed = listQueues(dir, { attributes: false }).filter((q) => wanted === undefined || wanted.has(q.name))
  // A queue named on the command line that does not exist is worth saying: a typo, or already gone.
  const absent = [...(wanted ?? [])].filter((name) => !listed.some((queue) => queue.name === name))
  const found = await findStale(dir, listed, values.probe, probeTimeoutMs)
  const mine = (entry: Stale) => values.all || entry.uid === uid
  const stale = found.filter(mine)
  const skippedOtherUsers = found.length - stale.length
  if (values.yes) for (const entry of stale) remove(entry)
  const failed = stale.filter((entry) => entry.removed === false)
  const exitCode = absent.length === 0 && (stale.length === 0 || (values.yes && failed.length === 0)) ? Exit.OK : Exit.FAILURE
  if (values.json) {
    printJson({
      dryRun: !values.yes,
      checked: listed.length,
      stale: stale.map((entry) => ({ ...entry, owner: userName(entry.uid) })),
      skippedOtherUsers,
      absent,
    })
    return exitCode
  }
  for (const name of absent) console.error(`mqrpc gc: ${name}: no such queue (it does not exist in ${dir})`)
  if (absent.length > 0 && absent.length === wanted?.size) return exitCode
  if (stale.length === 0) {
    console.log(`no stale queues (checked ${listed.length})`)
  } else {
    console.log(`${values.yes ? 'stale queues' : 'stale queues (dry run: nothing removed)'}:`)
    for (const entry of stale) {
      const status = entry.removed === true ? 'removed  ' : entry.removed === false ? 'FAILED   ' : ''
      console.log(
        `  ${status}${entry.name}  (owner ${userName(entry.uid)}): ${entry.reason}${entry.error === undefined ? '' : `: ${entry.error}`}`,
      )
    }
    if (!values.yes) console.log('Run `mqrpc gc --yes` (with the same arguments) to remove them.')
    else console.log(`removed ${stale.length - failed.length} of ${stale.length}`)
  }
  if (skippedOtherUsers > 0) {
    console.log(`${skippedOtherUsers} stale queue(s) of other users left alone (as root, --all includes them)`)
  }
  return exitCode
}

/** The verb's `--help` text. */
export const help = HELP

/** Runs `mqrpc gc`. */
export const run = verbRunner('gc', body)
