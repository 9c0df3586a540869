/**
 * The POSIX-queue transport: a service is a request queue and an urgent
 * lane, a client is a private reply queue, and the kernel vouches for who
 * owns each (fstat of the descriptor).
 * @module
 */
import { statSync } from 'node:fs'
import type {
  Inbound,
  Listener,
  ListenOptions,
  MessageSink,
  Outbound,
  OutboundSendOptions,
  PeerLink,
  ReplyPath,
  ReplyPathOptions,
  ServiceLanes,
  Transport,
  VouchedIdentity,
} from '../transport.js'
import { removeOnExit } from './exit-cleanup.js'
import { MessageQueue } from './message-queue.js'
import { MqError } from './mq-error.js'
import { mqStatusOf } from './mq-status.js'
import { processAlive } from './process-alive.js'
import {
  DEFAULT_REPLY_MAX_MESSAGES,
  DEFAULT_REPLY_MESSAGE_SIZE,
  DEFAULT_SERVICE_MAX_MESSAGES,
  DEFAULT_SERVICE_MESSAGE_SIZE,
} from './queue-defaults.js'
import { DEFAULT_SERVICE_QUEUE_MODE, octalMode, REPLY_QUEUE_MODE, readableByOthers } from './queue-modes.js'
import { queueNameProblem } from './queue-name-rules.js'
import { pidOfReplyQueue, replyQueueName, urgentLaneName } from './queue-naming.js'
import { removeQueue } from './remove-queue.js'
import { claimQueue, replaceQueue } from './takeover.js'

class QueueInbound implements Inbound {
  constructor(readonly queue: MessageQueue) {}

  get address(): string {
    return this.queue.name
  }

  get messageSize(): number {
    return this.queue.messageSize
  }

  consume(sink: MessageSink): void {
    this.queue.consume(sink)
  }

  readNow(): void {
    this.queue.drainNow()
  }

  expectOneAtATime(one: boolean): void {
    this.queue.readOneAtATime(one)
  }

  close(): Promise<void> {
    return this.queue.close()
  }
}

class QueueOutbound implements Outbound {
  constructor(readonly queue: MessageQueue) {}

  get address(): string {
    return this.queue.name
  }

  get messageSize(): number {
    return this.queue.messageSize
  }

  get waitingSends(): number {
    return this.queue.waitingSends
  }

  trySend(data: Uint8Array, priority: number): boolean {
    return this.queue.trySend(data, priority)
  }

  send(data: Uint8Array, options: OutboundSendOptions = {}): Promise<void> {
    return this.queue.send(data, options)
  }

  close(): Promise<void> {
    return this.queue.close()
  }
}

/** The inode the name denotes now, where /dev/mqueue is mounted to show it. */
function inodeOf(name: string): number | undefined {
  try {
    return statSync(`/dev/mqueue${name}`).ino
  } catch {
    return undefined
  }
}

function openPeer(replyAddress: string): PeerLink {
  const queue = MessageQueue.open(replyAddress, { access: 'write' })
  let owner: ReturnType<MessageQueue['owner']>
  try {
    owner = queue.owner()
  } catch (error) {
    void queue.close()
    throw error
  }
  const inode = inodeOf(replyAddress)
  const identity: VouchedIdentity = { principal: `unix:${owner.uid}:${owner.gid}`, uid: owner.uid, gid: owner.gid }
  const distrust = readableByOthers(owner.mode)
    ? {
        status: 'PERMISSION_DENIED' as const,
        message: `reply queue ${replyAddress} has mode ${octalMode(owner.mode)}, so others could read replies; create it with mode 0o622 or 0o600`,
      }
    : undefined
  return {
    outbound: new QueueOutbound(queue),
    identity,
    ...(distrust === undefined ? {} : { distrust }),
    alive(claimedPid) {
      const pid = claimedPid ?? pidOfReplyQueue(replyAddress)
      return pid === undefined ? undefined : processAlive(pid)
    },
    reclaim() {
      // The name may denote another queue by now (its owner removed it, and
      // someone made a new one): remove it only while it is still the queue
      // this link opened, by owner and, where /dev/mqueue shows it, inode.
      let now: MessageQueue
      try {
        now = MessageQueue.open(replyAddress, { access: 'write' })
      } catch {
        return // gone already, or no longer ours to open
      }
      try {
        const { uid, gid } = now.owner()
        if (uid !== owner.uid || gid !== owner.gid) return
        if (inode !== undefined && inodeOf(replyAddress) !== inode) return
        removeQueue(replyAddress)
      } catch {
        // Not ours to remove after all (EACCES): leave it to its owner and `mqrpc gc`.
      } finally {
        void now.close()
      }
    },
  }
}

/** The POSIX-message-queue transport, the default of `createServer` and `createClient`. */
export function mqTransport(): Transport {
  return {
    kind: 'mq',

    async listen(address: string, options: ListenOptions): Promise<Listener> {
      const mode = options.mode ?? DEFAULT_SERVICE_QUEUE_MODE
      if (readableByOthers(mode)) {
        throw new TypeError(
          `mode ${octalMode(mode)} lets group or others read the request queue, and so every caller's requests and session tokens; use 0o622 (anyone may call) or 0o620 (owner's group may call)`,
        )
      }
      const sizes = {
        mode,
        maxMessages: options.maxMessages ?? DEFAULT_SERVICE_MAX_MESSAGES,
        messageSize: options.messageSize ?? DEFAULT_SERVICE_MESSAGE_SIZE,
      }
      const urgentName = urgentLaneName(address)
      const requests = await claimQueue(address, sizes, options.isServed)
      removeOnExit(address)
      let urgent: MessageQueue
      try {
        urgent = replaceQueue(urgentName, sizes)
      } catch (error) {
        await requests.close()
        removeQueue(address)
        throw error
      }
      removeOnExit(urgentName)
      let withdrawn = false
      const withdraw = () => {
        if (withdrawn) return
        withdrawn = true
        // A server that took the names over may own them now: only names
        // still ours (same queue) would matter, and removing a successor's
        // is what a takeover expects anyway.
        for (const name of [address, urgentName]) {
          try {
            removeQueue(name)
          } catch {
            // Not ours to remove any more.
          }
        }
      }
      requests.pairWith(urgent)
      const requestLane = new QueueInbound(requests)
      const urgentLane = new QueueInbound(urgent)
      return {
        requests: requestLane,
        urgent: urgentLane,
        readNow() {
          const waiting = requests.waitingInPair()
          if ((waiting & 2) !== 0) urgentLane.readNow()
          if ((waiting & 1) !== 0) requestLane.readNow()
        },
        withdraw,
        async close() {
          withdraw()
          await requests.close()
          await urgent.close()
        },
      }
    },

    async connect(address: string): Promise<ServiceLanes> {
      const open = (name: string) => {
        try {
          return MessageQueue.open(name, { access: 'write' })
        } catch (error) {
          if (error instanceof MqError && error.code === 'ENOENT') {
            throw new MqError(
              `no server is listening on ${address} (queue ${name} does not exist): start the server, or check the queue name`,
              { code: 'ENOENT', syscall: 'mq_open', queue: name, cause: error },
            )
          }
          throw error
        }
      }
      const requests = open(address)
      let urgent: MessageQueue
      try {
        urgent = open(urgentLaneName(address))
      } catch (error) {
        await requests.close()
        throw error
      }
      return { requests: new QueueOutbound(requests), urgent: new QueueOutbound(urgent) }
    },

    async openReplyPath(options: ReplyPathOptions = {}): Promise<ReplyPath> {
      const queue = MessageQueue.open(replyQueueName(), {
        create: true,
        exclusive: true,
        mode: REPLY_QUEUE_MODE,
        access: 'read',
        maxMessages: options.maxMessages ?? DEFAULT_REPLY_MAX_MESSAGES,
        messageSize: options.messageSize ?? DEFAULT_REPLY_MESSAGE_SIZE,
      })
      removeOnExit(queue.name)
      const inbound = new QueueInbound(queue)
      return {
        inbound,
        async close() {
          await queue.close()
          try {
            removeQueue(queue.name)
          } catch {
            // Not ours to remove any more (EACCES after a takeover by another user): leave it to `mqrpc gc`.
          }
        },
      }
    },

    openPeer,

    addressProblem: queueNameProblem,

    statusOf: mqStatusOf,
  }
}

/** The transport every server and client uses unless told otherwise. */
export const defaultTransport: Transport = mqTransport()
