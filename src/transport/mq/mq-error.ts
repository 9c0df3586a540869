/**
 * Kernel errors from the queue syscalls, turned into errors a person can act
 * on. This is the one place where errno names become advice.
 * @module
 */
import { statSync } from 'node:fs'
import { kernelLimits, queueCost } from './kernel-limits.js'
import { pidOfReplyQueue } from './queue-naming.js'

/** Error codes of our own, beside the kernel's errno names. */
export const QUEUE_CLOSED = 'ERR_QUEUE_CLOSED'
export const QUEUE_TIMEOUT = 'ETIMEDOUT'
export const QUEUE_ABORTED = 'ABORT_ERR'

/**
 * An error from a message queue operation. Shaped like Node's own fs errors:
 * `code` is the errno name (`EAGAIN`, `EMFILE`, ...) or one of ours
 * (`ERR_QUEUE_CLOSED`, `ETIMEDOUT`, `ABORT_ERR`), `errno` the number where the
 * kernel gave one, `syscall` the call that failed, `queue` the queue's name.
 */
export class MqError extends Error {
  override readonly name = 'MqError'
  readonly code: string
  readonly errno: number | undefined
  readonly syscall: string | undefined
  readonly queue: string | undefined

  constructor(
    message: string,
    fields: Readonly<{ code: string; errno?: number; syscall?: string; queue?: string; cause?: unknown }>,
  ) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause })
    this.code = fields.code
    this.errno = fields.errno
    this.syscall = fields.syscall
    this.queue = fields.queue
  }
}

/** What was being attempted when the kernel said no; it shapes the advice. */
export interface ErrorContext {
  readonly queue: string
  readonly maxMessages?: number
  readonly messageSize?: number
  readonly mode?: number
  readonly access?: string
  readonly bytes?: number
  readonly create?: boolean
}

interface RawErrno {
  code?: string
  errno?: number
  syscall?: string
}

const octal = (mode: number) => `0o${mode.toString(8).padStart(3, '0')}`

function describeOwner(queue: string): string {
  try {
    const st = statSync(`/dev/mqueue${queue}`)
    return `it is owned by uid ${st.uid} gid ${st.gid} with mode ${octal(st.mode & 0o777)}`
  } catch {
    return 'its owner and mode can be seen with `ls -l /dev/mqueue` once /dev/mqueue is mounted'
  }
}

/** Who makes a queue of this name, so that advice names the options that person can change. */
type Maker = 'client' | 'probe' | 'other'

function makerOf(queue: string): Maker {
  if (pidOfReplyQueue(queue) === undefined) return 'other'
  return queue.startsWith('/mqrpc.probe.') ? 'probe' : 'client'
}

/** The options that set a queue's slots and message size, as the one who made `queue` spells them. */
function sizeOptionNames(queue: string): { slots: string; size: string; where: string } {
  return makerOf(queue) === 'client'
    ? { slots: 'replyMaxMessages', size: 'replyMessageSize', where: "createClient's replyMaxMessages and replyMessageSize" }
    : {
        slots: 'maxMessages',
        size: 'messageSize',
        where: "maxMessages and messageSize (createServer's options for its two queues, or MessageQueue.open's)",
      }
}

function openInvalid(ctx: ErrorContext): string {
  const names = sizeOptionNames(ctx.queue)
  const limits = kernelLimits()
  const problems: string[] = []
  if (ctx.maxMessages !== undefined) {
    if (ctx.maxMessages < 1) problems.push(`${names.slots} ${ctx.maxMessages} must be at least 1`)
    else if (limits.msgMax !== undefined && ctx.maxMessages > limits.msgMax) {
      problems.push(
        `${names.slots} ${ctx.maxMessages} exceeds this machine's limit /proc/sys/fs/mqueue/msg_max = ${limits.msgMax} ` +
          `(ask for at most ${limits.msgMax}, or as root raise it: sysctl -w fs.mqueue.msg_max=${ctx.maxMessages})`,
      )
    }
  }
  if (ctx.messageSize !== undefined) {
    if (ctx.messageSize < 1) problems.push(`${names.size} ${ctx.messageSize} must be at least 1`)
    else if (limits.msgsizeMax !== undefined && ctx.messageSize > limits.msgsizeMax) {
      problems.push(
        `${names.size} ${ctx.messageSize} exceeds this machine's limit /proc/sys/fs/mqueue/msgsize_max = ${limits.msgsizeMax} ` +
          `(ask for at most ${limits.msgsizeMax}, or as root raise it: sysctl -w fs.mqueue.msgsize_max=${ctx.messageSize})`,
      )
    }
  }
  if (problems.length === 0) problems.push('the kernel rejected the name or the attributes')
  return `cannot create queue ${ctx.queue}: ${problems.join('; ')}`
}

function adviceFor(code: string, syscall: string, ctx: ErrorContext): string {
  const q = ctx.queue
  switch (code) {
    case 'EINVAL':
      if (syscall === 'mq_open') return openInvalid(ctx)
      return `${syscall} on queue ${q} was rejected as invalid`
    case 'EMFILE': {
      const limits = kernelLimits()
      const budget = limits.rlimitMsgqueue === undefined ? 'unlimited' : `${limits.rlimitMsgqueue} bytes`
      const cost =
        ctx.maxMessages !== undefined && ctx.messageSize !== undefined
          ? ` A queue of ${ctx.maxMessages} x ${ctx.messageSize} bytes costs about ${queueCost(ctx.maxMessages, ctx.messageSize)} bytes of it.`
          : ''
      return (
        `cannot open queue ${q}: this user's message queue budget (RLIMIT_MSGQUEUE, \`ulimit -q\`) is ${budget} and it is used up, ` +
        `or this process has too many descriptors open.${cost} ` +
        'Close queues you no longer need, remove stale ones (`mqrpc gc`), ' +
        (makerOf(q) === 'probe' ? '' : `ask for smaller queues (${sizeOptionNames(q).where}), `) +
        'or raise the budget (`ulimit -q`, LimitMSGQUEUE= in a systemd unit, or msgqueue in /etc/security/limits.conf).'
      )
    }
    case 'ENOSPC': {
      const max = kernelLimits().queuesMax
      return (
        `cannot create queue ${q}: the machine holds its maximum number of queues (/proc/sys/fs/mqueue/queues_max = ${max ?? 'unknown'}). ` +
        'Remove stale queues (`mqrpc gc`) or as root raise it: sysctl -w fs.mqueue.queues_max=<n>.'
      )
    }
    case 'EACCES':
      return (
        `permission denied opening queue ${q} for ${ctx.access ?? 'access'}: ${describeOwner(q)}. ` +
        'Its creator chooses who may read and write it through its mode (e.g. 0o622 lets others write but only the owner read).'
      )
    case 'ENOENT':
      return `no queue named ${q} exists: start the process that owns it first, or open with { create: true }`
    case 'EEXIST':
      return `queue ${q} already exists and { exclusive: true } was asked for: pick another name, or remove the stale queue with MessageQueue.unlink or \`mqrpc gc\``
    case 'ENAMETOOLONG':
      return `queue name ${q} is too long: the kernel allows at most 255 bytes after the "/"`
    case 'EMSGSIZE':
      return syscall === 'mq_send'
        ? `message of ${ctx.bytes ?? '?'} bytes is larger than queue ${q}'s messageSize ${ctx.messageSize ?? '?'}: send smaller messages or create the queue with a larger messageSize`
        : `receive buffer is smaller than queue ${q}'s messageSize`
    case 'EBADF':
      return `queue ${q} is not open for this operation (opened for ${ctx.access ?? 'another access'}, or already closed)`
    case 'ENOSYS':
      return 'this kernel has no POSIX message queues (CONFIG_POSIX_MQUEUE is off)'
    default:
      return `${syscall} on queue ${q} failed`
  }
}

/** Turns an error thrown by the native addon into an MqError with advice. */
export function toMqError(raw: unknown, ctx: ErrorContext): MqError {
  if (raw instanceof MqError) return raw
  const errno = raw as RawErrno
  const code = errno?.code ?? 'EUNKNOWN'
  const syscall = errno?.syscall ?? 'mq'
  const base = adviceFor(code, syscall, ctx)
  return new MqError(`${base} (${code}, ${syscall})`, {
    code,
    ...(errno?.errno === undefined ? {} : { errno: errno.errno }),
    syscall,
    queue: ctx.queue,
    cause: raw,
  })
}
