/**
 * `mqrpc ls`: every queue on the machine, with its owner, mode, fill,
 * capacity, and what it belongs to.
 * @module
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { CliFailure, expectPositionals, intOption, parseVerbArgs, verbRunner } from './args.js'
import { Exit } from './cli.js'
import { NATS_HELP, NATS_OPTIONS } from './nats-options.js'
import { groupName, modeText, printJson, table, userName } from './output.js'
import { isMqueueMounted, listQueues, mountHint, mqueueDir, type QueueEntry } from './queue-listing.js'

const HELP = `Usage: mqrpc ls [--json] [--mount]
       mqrpc ls --nats URL [--nats-user user --nats-pass pass] [--wait ms] [--json]

Lists every POSIX message queue on this machine (read from the mqueue
filesystem, normally mounted on /dev/mqueue): owner, mode, messages waiting,
capacity (slots), message size, and what it belongs to where its name tells:

  service request queue     a queue with an urgent lane beside it (<name>.urgent)
  urgent lane of /x         the urgent lane of service queue /x
  reply queue of pid N      an mqrpc client's reply queue (alive or dead)
  probe queue of pid N      a short-lived queue of a server checking a name
  unknown                   anything else

Queues of other users that this user may not open show '?' for their
attributes; the bytes waiting still show.

With --nats, lists instead the services on that NATS broker: every
instance that answers NATS micro discovery ($SRV.PING) within --wait ms,
mqrpc services and other NATS micro services alike.

Options:
  --json    one JSON object: {mounted, dir, queues: [...]}
            (with --nats: {broker, services: [{name, id, version, metadata}]})
  --mount   when the mqueue filesystem is not mounted, mount it (needs root)
${NATS_HELP}
  --wait ms with --nats, how long to collect answers (default 1000)
  --help    this text

Exit codes: 0 listed; 1 the filesystem is not mounted (or the mount failed);
2 bad usage.`

function mount(dir: string): void {
  if (process.getuid?.() !== 0) {
    throw new CliFailure(`--mount needs root: run \`sudo mkdir -p ${dir} && sudo mount -t mqueue none ${dir}\``, Exit.FAILURE, {
      code: 'PERMISSION_DENIED',
    })
  }
  mkdirSync(dir, { recursive: true })
  const result = spawnSync('mount', ['-t', 'mqueue', 'none', dir], { encoding: 'utf8' })
  if (result.error !== undefined || result.status !== 0) {
    const why = result.error?.message ?? (result.stderr.trim() || `exit code ${result.status}`)
    throw new CliFailure(`could not mount the mqueue filesystem on ${dir}: ${why}`)
  }
  console.error(`mounted the mqueue filesystem on ${dir}`)
}

function waiting(queue: QueueEntry): string {
  if (queue.currentMessages !== undefined) return String(queue.currentMessages)
  return queue.bytesWaiting === undefined ? '?' : `? (${queue.bytesWaiting} B)`
}

function jsonEntry(queue: QueueEntry): Record<string, unknown> {
  return {
    name: queue.name,
    uid: queue.uid,
    gid: queue.gid,
    owner: userName(queue.uid),
    group: groupName(queue.gid),
    mode: modeText(queue.mode),
    currentMessages: queue.currentMessages ?? null,
    maxMessages: queue.maxMessages ?? null,
    messageSize: queue.messageSize ?? null,
    bytesWaiting: queue.bytesWaiting ?? null,
    kind: queue.kind,
    belongsTo: queue.belongsTo,
    ...(queue.pid === undefined ? {} : { pid: queue.pid, pidAlive: queue.pidAlive }),
    ...(queue.attributesError === undefined ? {} : { attributesError: queue.attributesError }),
  }
}

async function body(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(args, {
    json: { type: 'boolean', default: false },
    mount: { type: 'boolean', default: false },
    wait: { type: 'string' },
    ...NATS_OPTIONS,
  })
  expectPositionals(positionals, 0, 0)
  if (values.nats !== undefined) {
    const { listNatsServices } = await import('./nats-listing.js')
    return listNatsServices(values, intOption(values.wait, 'wait', 1) ?? 1000, values.json)
  }
  const dir = mqueueDir()
  if (!isMqueueMounted(dir)) {
    if (!values.mount) {
      // Under --json the answer itself says so (one JSON value, not an error object).
      if (!values.json) throw new CliFailure(mountHint(dir), Exit.FAILURE, { code: 'FAILED_PRECONDITION' })
      printJson({ mounted: false, dir, hint: mountHint(dir), queues: [] })
      console.error(`mqrpc ls: ${mountHint(dir)}`)
      return Exit.FAILURE
    }
    mount(dir)
  }
  const queues = listQueues(dir)
  if (values.json) {
    printJson({ mounted: true, dir, queues: queues.map(jsonEntry) })
    return Exit.OK
  }
  if (queues.length === 0) {
    console.log(`no queues (${dir} is empty)`)
    return Exit.OK
  }
  const rows = queues.map((queue) => [
    queue.name,
    `${userName(queue.uid)}:${groupName(queue.gid)}`,
    modeText(queue.mode),
    waiting(queue),
    queue.maxMessages === undefined ? '?' : String(queue.maxMessages),
    queue.messageSize === undefined ? '?' : String(queue.messageSize),
    queue.belongsTo,
  ])
  for (const line of table(['QUEUE', 'OWNER', 'MODE', 'WAITING', 'SLOTS', 'MSGSIZE', 'BELONGS TO'], rows)) console.log(line)
  return Exit.OK
}

/** The verb's `--help` text. */
export const help = HELP

/** Runs `mqrpc ls`. */
export const run = verbRunner('ls', body)
