/**
 * `mqrpc ls`, `doctor` and `gc`, each run as a real process, against real
 * queues: a toolbox server and client in this process, and queues made to
 * look left behind by a process that has exited.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync } from 'node:fs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { isMqueueMounted } from '../../src/cli/queue-listing.js'
import { createClient, kernelLimits, MessageQueue, queueCost } from '../../src/index.js'
import {
  DEFAULT_REPLY_MAX_MESSAGES,
  DEFAULT_REPLY_MESSAGE_SIZE,
  DEFAULT_SERVICE_MAX_MESSAGES,
  DEFAULT_SERVICE_MESSAGE_SIZE,
} from '../../src/internal.js'
import { startToolbox, Toolbox } from '../fixtures/cli-service.js'
import { runCli, runCliJson } from '../helpers/cli.js'
import { queueExists, trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { NOBODY } from '../helpers/spawn.js'

// Each CLI run is a node process with tsx: seconds on a loaded machine.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 30_000 })
useQueueGuard()

const isRoot = process.getuid?.() === 0
// Global setup mounts /dev/mqueue when run as root; listing needs it.
const mounted = isMqueueMounted('/dev/mqueue')
const needsMount = `/dev/mqueue is not mounted (mount it as root: mount -t mqueue none /dev/mqueue)`

const opened: MessageQueue[] = []
afterEach(async () => {
  for (const queue of opened.splice(0)) await queue.close()
})

/** Creates a small queue named `name` (tracked by the guard). */
function makeQueue(name: string): string {
  trackQueue(name)
  opened.push(
    MessageQueue.open(name, { create: true, exclusive: true, mode: 0o622, maxMessages: 2, messageSize: 64, access: 'read' }),
  )
  return name
}

/** A pid that no longer exists: a child that ran and was reaped. */
function deadPid(): number {
  const result = spawnSync('true')
  if (result.pid === undefined || result.status !== 0) throw new Error('could not run `true`')
  return result.pid
}

const replyName = (pid: number) => `/mqrpc.reply.${pid}.${randomBytes(12).toString('hex')}`

interface LsEntry {
  name: string
  uid: number
  mode: string
  currentMessages: number | null
  maxMessages: number | null
  messageSize: number | null
  kind: string
  belongsTo: string
  pid?: number
  pidAlive?: boolean
}

describe.skipIf(!mounted)(`mqrpc ls${mounted ? '' : ` (skipped: ${needsMount})`}`, () => {
  it("shows a service's request queue and urgent lane, and a client's reply queue with its pid", async () => {
    const queue = uniqueQueueName('ls')
    trackQueue(`${queue}.urgent`)
    const { server } = await startToolbox(queue)
    const client = await createClient(Toolbox, { queue })
    try {
      await client.call('add', { a: 1, b: 2 })
      const { code, json } = await runCliJson<{ mounted: boolean; dir: string; queues: LsEntry[] }>(['ls', '--json'])
      expect(code).toBe(0)
      expect(json.mounted).toBe(true)
      expect(json.dir).toBe('/dev/mqueue')
      const find = (name: string) => json.queues.find((q) => q.name === name)
      expect(find(queue)).toMatchObject({
        kind: 'request',
        belongsTo: 'service request queue',
        mode: '0622',
        maxMessages: 10,
        messageSize: 2048,
        currentMessages: 0,
      })
      expect(find(`${queue}.urgent`)).toMatchObject({ kind: 'urgent', belongsTo: `urgent lane of ${queue}`, maxMessages: 10 })
      expect(find(client.replyQueue)).toMatchObject({
        kind: 'reply',
        belongsTo: `reply queue of pid ${process.pid} (alive)`,
        pid: process.pid,
        pidAlive: true,
        maxMessages: DEFAULT_REPLY_MAX_MESSAGES,
        messageSize: DEFAULT_REPLY_MESSAGE_SIZE,
      })

      const { code: tableCode, stdout } = await runCli(['ls'])
      expect(tableCode).toBe(0)
      expect(stdout).toMatch(/^QUEUE\s+OWNER\s+MODE\s+WAITING\s+SLOTS\s+MSGSIZE\s+BELONGS TO$/m)
      expect(stdout).toMatch(new RegExp(`^${queue}\\s+root:root\\s+0622\\s+0\\s+10\\s+2048\\s+service request queue$`, 'm'))
      expect(stdout).toMatch(new RegExp(`^${queue}\\.urgent\\s+.*\\s+urgent lane of ${queue}$`, 'm'))
      expect(stdout).toMatch(
        new RegExp(`^${client.replyQueue.replace(/\./g, '\\.')}\\s+.*reply queue of pid ${process.pid} \\(alive\\)$`, 'm'),
      )
    } finally {
      await client.close()
      await server.close()
    }
  })

  it('counts waiting messages, and marks a reply queue whose pid is gone as dead', async () => {
    const pid = deadPid()
    const name = makeQueue(replyName(pid))
    const writer = MessageQueue.open(name, { access: 'write' })
    writer.trySend(Buffer.from('left behind'))
    await writer.close()
    const { json } = await runCliJson<{ queues: LsEntry[] }>(['ls', '--json'])
    expect(json.queues.find((q) => q.name === name)).toMatchObject({
      kind: 'reply',
      belongsTo: `reply queue of pid ${pid} (dead)`,
      pidAlive: false,
      currentMessages: 1,
      maxMessages: 2,
      messageSize: 64,
    })
    MessageQueue.unlink(name)
  })

  it('says how to mount the filesystem when it is not mounted', async () => {
    const env = { MQRPC_MQUEUE_DIR: '/nonexistent/mqueue' }
    const { code, stdout, stderr } = await runCli(['ls'], env)
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr).toContain('the mqueue filesystem is not mounted on /nonexistent/mqueue')
    expect(stderr).toContain('mount -t mqueue none /nonexistent/mqueue')
    expect(stderr).toContain('mqrpc ls --mount')
    const json = await runCliJson<{ mounted: boolean }>(['ls', '--json'], env)
    expect(json.code).toBe(1)
    expect(json.json.mounted).toBe(false)
  })
})

interface Doctor {
  limits: { msgMax: number | null; msgsizeMax: number | null; queuesMax: number | null; rlimitMsgqueue: number | null }
  uid: number
  mqueue: { dir: string; mounted: boolean; queues: number | null }
  usage: { known: boolean; bytes: number; queues: number }
  plan?: { clients: number; totalBytes: number; queues: number; fits: boolean; neededRlimit: number | null; problems: string[] }
}

describe('mqrpc doctor', () => {
  const limits = kernelLimits()
  const planBytes = (clients: number) =>
    2 * queueCost(DEFAULT_SERVICE_MAX_MESSAGES, DEFAULT_SERVICE_MESSAGE_SIZE) +
    clients * queueCost(DEFAULT_REPLY_MAX_MESSAGES, DEFAULT_REPLY_MESSAGE_SIZE)

  it('reports the kernel limits, the mount, and the budget in use', async () => {
    const { code, json } = await runCliJson<Doctor>(['doctor', '--json'])
    expect(code).toBe(0)
    expect(json.limits).toEqual({
      msgMax: limits.msgMax ?? null,
      msgsizeMax: limits.msgsizeMax ?? null,
      queuesMax: limits.queuesMax ?? null,
      rlimitMsgqueue: limits.rlimitMsgqueue ?? null,
    })
    expect(json.uid).toBe(process.getuid?.())
    expect(json.mqueue.mounted).toBe(mounted)
    if (mounted) {
      expect(json.usage.known).toBe(true)
      expect(json.usage.bytes).toBeGreaterThanOrEqual(0)
    }
    const text = await runCli(['doctor'])
    expect(text.code).toBe(0)
    expect(text.stdout).toContain(`msg_max          ${limits.msgMax}`)
    expect(text.stdout).toContain(`msgsize_max      ${limits.msgsizeMax}`)
    expect(text.stdout).toContain(`queues_max       ${limits.queuesMax}`)
    expect(text.stdout).toContain('RLIMIT_MSGQUEUE')
    expect(text.stdout).toContain(mounted ? 'mqueue filesystem: mounted on /dev/mqueue' : 'NOT mounted')
  })

  it('plans 40 clients: they fit the default budget', async () => {
    const { code, json } = await runCliJson<Doctor>(['doctor', '--clients', '40', '--json'])
    const expected =
      (limits.rlimitMsgqueue === undefined || planBytes(40) <= limits.rlimitMsgqueue) && (limits.queuesMax ?? 256) >= 42
    expect(json.plan).toMatchObject({ clients: 40, totalBytes: planBytes(40), queues: 42, fits: expected, neededRlimit: null })
    expect(code).toBe(expected ? 0 : 1)
    if (limits.rlimitMsgqueue === 819_200) expect(json.plan?.fits).toBe(true)
  })

  it.skipIf(limits.rlimitMsgqueue === undefined)(
    'plans 1000 clients: they do not fit, and it names the ulimit -q / LimitMSGQUEUE= value',
    async () => {
      const needed = planBytes(1000)
      const { code, json } = await runCliJson<Doctor>(['doctor', '--clients', '1000', '--json'])
      expect(code).toBe(1)
      expect(json.plan).toMatchObject({ clients: 1000, totalBytes: needed, fits: false, neededRlimit: needed })
      const text = await runCli(['doctor', '--clients', '1000'])
      expect(text.code).toBe(1)
      expect(text.stdout).toContain('fits: NO')
      expect(text.stdout).toContain(`ulimit -q ${needed}`)
      expect(text.stdout).toContain(`LimitMSGQUEUE=${needed}`)
    },
  )

  it('rejects a bad number with exit code 2', async () => {
    const { code, stderr } = await runCli(['doctor', '--clients', 'many'])
    expect(code).toBe(2)
    expect(stderr).toContain("--clients takes a whole number, got 'many'")
  })
})

interface Gc {
  dryRun: boolean
  checked: number
  stale: { name: string; uid: number; reason: string; removed?: boolean }[]
  skippedOtherUsers: number
}

describe.skipIf(!mounted)(`mqrpc gc${mounted ? '' : ` (skipped: ${needsMount})`}`, () => {
  it("lists a dead process's reply queue, removes it with --yes, and leaves a live process's alone", async () => {
    const pid = deadPid()
    const dead = makeQueue(replyName(pid))
    const live = makeQueue(replyName(process.pid))

    // A dry run over the whole machine finds it (other stale queues may show too) and removes nothing.
    const dry = await runCliJson<Gc>(['gc', '--json'])
    expect(dry.code).toBe(1)
    expect(dry.json.dryRun).toBe(true)
    const names = dry.json.stale.map((s) => s.name)
    expect(names).toContain(dead)
    expect(names).not.toContain(live)
    expect(dry.json.stale.find((s) => s.name === dead)?.reason).toBe(`reply queue of pid ${pid}, which no longer exists`)
    expect(queueExists(dead)).toBe(true)

    const text = await runCli(['gc', dead, live])
    expect(text.code).toBe(1)
    expect(text.stdout).toContain('stale queues (dry run: nothing removed):')
    expect(text.stdout).toContain(`${dead}  (owner root): reply queue of pid ${pid}, which no longer exists`)

    // Only the named queues, so that other test files' queues are never touched.
    const removed = await runCliJson<Gc>(['gc', '--yes', '--json', dead, live])
    expect(removed.code).toBe(0)
    expect(removed.json.stale).toEqual([expect.objectContaining({ name: dead, removed: true })])
    expect(queueExists(dead)).toBe(false)
    expect(queueExists(live)).toBe(true)

    const clean = await runCli(['gc', live])
    expect(clean.code).toBe(0)
    expect(clean.stdout).toBe('no stale queues (checked 1)\n')
    // Naming the queue just removed: it no longer exists, and gc says so.
    const gone = await runCli(['gc', dead, live])
    expect(gone.code).toBe(1)
    expect(gone.stderr).toContain(`mqrpc gc: ${dead}: no such queue (it does not exist in /dev/mqueue)`)
    expect(gone.stdout).toBe('no stale queues (checked 1)\n')
    MessageQueue.unlink(live)
  })

  it.skipIf(!isRoot)("leaves another user's stale queue alone unless root asks with --all", async () => {
    const dead = makeQueue(replyName(deadPid()))
    chownSync(`/dev/mqueue${dead}`, NOBODY, NOBODY)
    const mine = await runCliJson<Gc>(['gc', '--yes', '--json', dead])
    expect(mine.code).toBe(0)
    expect(mine.json).toMatchObject({ stale: [], skippedOtherUsers: 1 })
    expect(queueExists(dead)).toBe(true)
    const all = await runCliJson<Gc>(['gc', '--all', '--yes', '--json', dead])
    expect(all.code).toBe(0)
    expect(all.json.stale).toEqual([expect.objectContaining({ name: dead, uid: NOBODY, removed: true })])
    expect(queueExists(dead)).toBe(false)
  })

  it('with --probe, finds a service queue no server answers on, and keeps a live server’s', async () => {
    const live = uniqueQueueName('gc-live')
    trackQueue(`${live}.urgent`)
    const { server } = await startToolbox(live)
    const orphan = makeQueue(uniqueQueueName('gc-orphan'))
    makeQueue(`${orphan}.urgent`)
    try {
      const names = [live, `${live}.urgent`, orphan, `${orphan}.urgent`]
      const dry = await runCliJson<Gc>(['gc', '--probe', '--probe-timeout', '3000', '--json', ...names])
      expect(dry.code).toBe(1)
      expect(dry.json.stale.map((s) => s.name)).toEqual([orphan, `${orphan}.urgent`])
      expect(dry.json.stale[0]?.reason).toBe(`service request queue: no server answered a handshake on ${orphan} within 3000 ms`)

      const removed = await runCliJson<Gc>(['gc', '--probe', '--probe-timeout', '3000', '--yes', '--json', ...names])
      expect(removed.code).toBe(0)
      expect(removed.json.stale.map((s) => s.removed)).toEqual([true, true])
      expect(queueExists(orphan)).toBe(false)
      expect(queueExists(`${orphan}.urgent`)).toBe(false)
      expect(queueExists(live)).toBe(true)
      // The live server still serves.
      const call = await runCli(['call', live, 'add', '{"a": 20, "b": 22}'])
      expect(call.stdout).toBe('42\n')
    } finally {
      await server.close()
    }
  })

  it('with --probe, finds an urgent lane whose request queue is gone', async () => {
    const lane = makeQueue(`${uniqueQueueName('gc-lane')}.urgent`)
    const plain = await runCliJson<Gc>(['gc', '--json', lane])
    expect(plain.json.stale).toEqual([])
    const removed = await runCliJson<Gc>(['gc', '--probe', '--probe-timeout', '1000', '--yes', '--json', lane])
    expect(removed.code).toBe(0)
    expect(removed.json.stale.map((s) => [s.name, s.removed])).toEqual([[lane, true]])
    expect(removed.json.stale[0]?.reason).toContain('whose request queue')
    expect(queueExists(lane)).toBe(false)
  })

  it('refuses a name that is not a queue name', async () => {
    const { code, stderr } = await runCli(['gc', 'mqrpc.reply.1.ab'])
    expect(code).toBe(2)
    expect(stderr).toContain('queue name "mqrpc.reply.1.ab" must start with "/"')
  })
})
