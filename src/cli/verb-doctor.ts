/**
 * `mqrpc doctor`: the machine's queue limits, how much of this user's budget
 * is in use, and what to change for a given number of clients.
 * @module
 */
import {
  kernelLimits,
  queueCost,
  DEFAULT_REPLY_MESSAGE_SIZE as REPLY_SIZE,
  DEFAULT_REPLY_MAX_MESSAGES as REPLY_SLOTS,
  DEFAULT_SERVICE_MESSAGE_SIZE as SERVER_SIZE,
  DEFAULT_SERVICE_MAX_MESSAGES as SERVER_SLOTS,
} from '../internal.js'
import { expectPositionals, intOption, parseVerbArgs, verbRunner } from './args.js'
import { Exit } from './cli.js'
import { bytesText, printJson, userName } from './output.js'
import { isMqueueMounted, listQueues, mountHint, mqueueDir } from './queue-listing.js'

const HELP = `Usage: mqrpc doctor [--clients N [--reply-slots S] [--reply-size B]
                     [--server-slots S] [--server-size B]] [--json]

Shows what decides which queues can be made here:
  msg_max, msgsize_max    largest slots and message size per queue (unprivileged)
  queues_max              queues on the whole machine
  RLIMIT_MSGQUEUE         bytes of queues one user may hold (ulimit -q)
how much of the current user's RLIMIT_MSGQUEUE budget its queues use now
(needs the mqueue filesystem mounted), and whether /dev/mqueue is mounted.

With --clients N it plans one service with N clients, all run by this user
(the worst case: each user pays for the queues it creates): the server's
request queue and urgent lane, plus one reply queue per client. It says
whether that fits, and if not, what to change (the ulimit -q / systemd
LimitMSGQUEUE= value, or the sysctls).

Options:
  --clients N        plan for N clients
  --reply-slots S    slots of each client's reply queue (default ${REPLY_SLOTS})
  --reply-size B     message size of each reply queue (default ${REPLY_SIZE})
  --server-slots S   slots of the server's two queues (default ${SERVER_SLOTS})
  --server-size B    message size of the server's two queues (default ${SERVER_SIZE})
  --json             one JSON object
  --help             this text

Exit codes: 0 done (and the plan fits); 1 the plan does not fit; 2 bad usage.`

interface Usage {
  readonly known: boolean
  readonly bytes: number
  readonly queues: number
  readonly unreadable: number
  readonly note: string
}

function usageOf(uid: number, dir: string, mounted: boolean): Usage {
  if (!mounted) return { known: false, bytes: 0, queues: 0, unreadable: 0, note: mountHint(dir) }
  let bytes = 0
  let queues = 0
  let unreadable = 0
  for (const queue of listQueues(dir)) {
    if (queue.uid !== uid) continue
    queues++
    if (queue.maxMessages === undefined || queue.messageSize === undefined) unreadable++
    else bytes += queueCost(queue.maxMessages, queue.messageSize)
  }
  const note =
    unreadable > 0
      ? `${unreadable} of this user's queues could not be opened, so at least this much is in use`
      : 'queues removed by name but still held open by a process count too, and are not seen here'
  return { known: unreadable === 0, bytes, queues, unreadable, note }
}

/** A plan for one service and N clients under one user. */
interface Plan {
  clients: number
  serverSlots: number
  serverSize: number
  replySlots: number
  replySize: number
  serverBytes: number
  replyBytes: number
  totalBytes: number
  queues: number
  /** Whether the plan fits the limits by itself. */
  fits: boolean
  /** Whether it fits beside what this user (and the machine) already holds. */
  fitsNow: boolean | null
  /** The RLIMIT_MSGQUEUE the plan needs (bytes), when the current one is too small. */
  neededRlimit: number | null
  problems: string[]
}

function plan(
  options: { clients: number; serverSlots: number; serverSize: number; replySlots: number; replySize: number },
  limits: ReturnType<typeof kernelLimits>,
  usage: Usage,
  machineQueues: number | undefined,
): Plan {
  const serverBytes = 2 * queueCost(options.serverSlots, options.serverSize)
  const replyBytes = options.clients * queueCost(options.replySlots, options.replySize)
  const totalBytes = serverBytes + replyBytes
  const queues = options.clients + 2
  const problems: string[] = []
  const rlimit = limits.rlimitMsgqueue
  let neededRlimit: number | null = null
  if (rlimit !== undefined && totalBytes > rlimit) {
    neededRlimit = totalBytes
    problems.push(
      `the queues need ${bytesText(totalBytes)} but RLIMIT_MSGQUEUE is ${bytesText(rlimit)}: raise it to at least ${totalBytes} ` +
        `(\`ulimit -q ${totalBytes}\` in the shell that starts the processes, LimitMSGQUEUE=${totalBytes} in a systemd unit, ` +
        `or \`<user> - msgqueue ${totalBytes}\` in /etc/security/limits.conf), or make the reply queues smaller (--reply-slots, --reply-size)`,
    )
  }
  if (limits.queuesMax !== undefined && queues > limits.queuesMax) {
    problems.push(
      `${queues} queues are more than queues_max (${limits.queuesMax}) allows on the whole machine: ` +
        `raise it as root with \`sysctl fs.mqueue.queues_max=${queues + 16}\` (processes with CAP_SYS_RESOURCE are exempt)`,
    )
  }
  const slots = [
    ['--server-slots', options.serverSlots],
    ['--reply-slots', options.replySlots],
  ] as const
  for (const [option, value] of slots) {
    if (limits.msgMax !== undefined && value > limits.msgMax) {
      problems.push(
        `${option} ${value} is above msg_max (${limits.msgMax}): mq_open fails with EINVAL; raise fs.mqueue.msg_max or use at most ${limits.msgMax}`,
      )
    }
  }
  const sizes = [
    ['--server-size', options.serverSize],
    ['--reply-size', options.replySize],
  ] as const
  for (const [option, value] of sizes) {
    if (limits.msgsizeMax !== undefined && value > limits.msgsizeMax) {
      problems.push(
        `${option} ${value} is above msgsize_max (${limits.msgsizeMax}): mq_open fails with EINVAL; raise fs.mqueue.msgsize_max or use at most ${limits.msgsizeMax}`,
      )
    }
  }
  const fits = problems.length === 0
  let fitsNow: boolean | null = null
  if (usage.known || usage.queues > 0) {
    const bytesOk = rlimit === undefined || totalBytes + usage.bytes <= rlimit
    const queuesOk = limits.queuesMax === undefined || machineQueues === undefined || queues + machineQueues <= limits.queuesMax
    fitsNow = fits && bytesOk && queuesOk
  }
  return { ...options, serverBytes, replyBytes, totalBytes, queues, fits, fitsNow, neededRlimit, problems }
}

const show = (value: number | undefined, unit = '') => (value === undefined ? 'unknown' : `${value}${unit}`)

async function body(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(args, {
    clients: { type: 'string' },
    'reply-slots': { type: 'string' },
    'reply-size': { type: 'string' },
    'server-slots': { type: 'string' },
    'server-size': { type: 'string' },
    json: { type: 'boolean', default: false },
  })
  expectPositionals(positionals, 0, 0)
  const limits = kernelLimits()
  const uid = process.getuid?.() ?? 0
  const dir = mqueueDir()
  const mounted = isMqueueMounted(dir)
  const usage = usageOf(uid, dir, mounted)
  const machineQueues = mounted ? listQueues(dir, { attributes: false }).length : undefined
  const clients = intOption(values.clients, 'clients', 0)
  const planned =
    clients === undefined
      ? undefined
      : plan(
          {
            clients,
            replySlots: intOption(values['reply-slots'], 'reply-slots', 1) ?? REPLY_SLOTS,
            replySize: intOption(values['reply-size'], 'reply-size', 1) ?? REPLY_SIZE,
            serverSlots: intOption(values['server-slots'], 'server-slots', 1) ?? SERVER_SLOTS,
            serverSize: intOption(values['server-size'], 'server-size', 1) ?? SERVER_SIZE,
          },
          limits,
          usage,
          machineQueues,
        )
  const exitCode = planned === undefined || planned.fits ? Exit.OK : Exit.FAILURE
  if (values.json) {
    printJson({
      limits: {
        msgMax: limits.msgMax ?? null,
        msgsizeMax: limits.msgsizeMax ?? null,
        queuesMax: limits.queuesMax ?? null,
        rlimitMsgqueue: limits.rlimitMsgqueue ?? null,
      },
      uid,
      user: userName(uid),
      mqueue: { dir, mounted, queues: machineQueues ?? null },
      usage,
      ...(planned === undefined ? {} : { plan: planned }),
    })
    return exitCode
  }
  const rlimit = limits.rlimitMsgqueue
  const lines = [
    'kernel limits (/proc/sys/fs/mqueue):',
    `  msg_max          ${show(limits.msgMax)}   most slots per queue`,
    `  msgsize_max      ${show(limits.msgsizeMax)}   largest message size`,
    `  queues_max       ${show(limits.queuesMax)}   queues on the whole machine${machineQueues === undefined ? '' : ` (${machineQueues} now)`}`,
    `  RLIMIT_MSGQUEUE  ${rlimit === undefined ? 'unlimited' : bytesText(rlimit)} per user (ulimit -q)`,
    '',
    `mqueue filesystem: ${mounted ? `mounted on ${dir}` : `NOT mounted on ${dir}`}`,
  ]
  if (usage.known || usage.queues > 0) {
    const share = rlimit === undefined ? '' : `, ${Math.round((usage.bytes / rlimit) * 100)}% of RLIMIT_MSGQUEUE,`
    lines.push(`budget in use by ${userName(uid)} (uid ${uid}): ${bytesText(usage.bytes)}${share} in ${usage.queues} queue(s)`)
    lines.push(`  ${usage.note}`)
    if (rlimit !== undefined) {
      const perReply = queueCost(REPLY_SLOTS, REPLY_SIZE)
      lines.push(
        `  room left: ${bytesText(Math.max(0, rlimit - usage.bytes))}, about ${Math.floor(Math.max(0, rlimit - usage.bytes) / perReply)} default reply queues (${REPLY_SLOTS} x ${REPLY_SIZE})`,
      )
    }
  } else {
    lines.push(`budget in use by ${userName(uid)} (uid ${uid}): cannot tell; ${usage.note}`)
  }
  if (planned !== undefined) {
    lines.push(
      '',
      `plan: 1 server (2 queues of ${planned.serverSlots} x ${planned.serverSize}) and ${planned.clients} client(s) (reply queues of ${planned.replySlots} x ${planned.replySize}), one user:`,
      `  server queues  ${bytesText(planned.serverBytes)}`,
      `  reply queues   ${bytesText(planned.replyBytes)}`,
      `  total          ${bytesText(planned.totalBytes)} in ${planned.queues} queues`,
    )
    if (planned.fits) {
      lines.push(`  fits: yes${rlimit === undefined ? '' : `, within RLIMIT_MSGQUEUE ${bytesText(rlimit)}`}`)
      if (planned.fitsNow === false)
        lines.push('  but not beside the queues this user (or the machine) holds now; close some or raise the limits')
    } else {
      lines.push('  fits: NO')
      for (const problem of planned.problems) lines.push(`  - ${problem}`)
    }
  }
  for (const line of lines) console.log(line)
  return exitCode
}

/** The verb's `--help` text. */
export const help = HELP

/** Runs `mqrpc doctor`. */
export const run = verbRunner('doctor', body)
