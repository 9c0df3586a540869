/**
 * The machine's message queue limits, read fresh from the kernel each time:
 * they are sysctls and rlimits that an operator may change, so nothing here
 * is hard-coded.
 * @module
 */
import { readFileSync } from 'node:fs'

/** The limits that decide which queues can be created and how many. */
export interface KernelLimits {
  /** /proc/sys/fs/mqueue/msg_max: the most messages a queue may hold (unprivileged). */
  readonly msgMax: number | undefined
  /** /proc/sys/fs/mqueue/msgsize_max: the largest message size (unprivileged). */
  readonly msgsizeMax: number | undefined
  /** /proc/sys/fs/mqueue/queues_max: queues on the whole machine. */
  readonly queuesMax: number | undefined
  /** RLIMIT_MSGQUEUE soft limit of this process in bytes (`ulimit -q`); undefined when unlimited. */
  readonly rlimitMsgqueue: number | undefined
}

function readNumber(path: string): number | undefined {
  try {
    const value = Number.parseInt(readFileSync(path, 'utf8').trim(), 10)
    return Number.isFinite(value) ? value : undefined
  } catch {
    return undefined
  }
}

function readRlimit(): number | undefined {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8')
    const line = limits.split('\n').find((l) => l.startsWith('Max msgqueue size'))
    const soft = line?.slice('Max msgqueue size'.length).trim().split(/\s+/)[0]
    if (soft === undefined || soft === 'unlimited') return undefined
    const value = Number.parseInt(soft, 10)
    return Number.isFinite(value) ? value : undefined
  } catch {
    return undefined
  }
}

/** Reads the current limits from /proc. */
export function kernelLimits(): KernelLimits {
  const base = '/proc/sys/fs/mqueue'
  return {
    msgMax: readNumber(`${base}/msg_max`),
    msgsizeMax: readNumber(`${base}/msgsize_max`),
    queuesMax: readNumber(`${base}/queues_max`),
    rlimitMsgqueue: readRlimit(),
  }
}

/**
 * What a queue costs against its creator's RLIMIT_MSGQUEUE, as the kernel
 * counts it (ipc/mqueue.c): the message bytes plus a pointer and a tree node
 * per slot. Used to explain EMFILE and to size reply queues.
 */
export function queueCost(maxMessages: number, messageSize: number): number {
  // sizeof(struct msg_msg) and sizeof(struct posix_msg_tree_node) on 64-bit kernels.
  const perSlotOverhead = 48 + 48
  return maxMessages * (messageSize + perSlotOverhead)
}
