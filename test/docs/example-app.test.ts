/**
 * The calc example (examples/calc) run as a user runs it: `npm start`'s
 * command as a real process tree (run.ts -> server.ts + client.ts), and the
 * server program alone under SIGTERM. Asserts exit codes, the key lines of
 * output, and that no queue is left behind.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { startNatsBroker } from '../helpers/nats-broker.js'
import { queueExists, trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { Child } from '../helpers/spawn.js'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const started = new Set<Child>()

/** Runs `node --import tsx <file> ...args` from the repository root, like npm does. */
function runNode(file: string, args: readonly string[]): Child {
  const child = new Child(
    `${file} ${args.join(' ')}`,
    spawn(process.execPath, ['--import', 'tsx', join(repoRoot, file), ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  )
  started.add(child)
  return child
}

/** Reply queues named for `pid` that exist now, where /dev/mqueue is mounted to list them (else none can be seen). */
function replyQueuesOf(pid: number | undefined): string[] {
  if (pid === undefined || !existsSync('/dev/mqueue')) return []
  return readdirSync('/dev/mqueue')
    .filter((name) => name.startsWith(`mqrpc.reply.${pid}.`))
    .map((name) => `/${name}`)
}

// Before the queue guard's check (afterEach hooks run in reverse order).
useQueueGuard()
afterEach(async () => {
  await Promise.all([...started].map((child) => child.kill()))
  started.clear()
})

describe('examples/calc', () => {
  it('npm start runs the command this test runs', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    expect(pkg.scripts.start).toBe('node --import tsx examples/calc/run.ts')
  })

  it('runs server and client, shows calls, an error, events, binary, one-way and urgent stop, and exits 0 leaving no queue', async () => {
    const queue = uniqueQueueName('calc')
    trackQueue(`${queue}.urgent`)
    const run = runNode('examples/calc/run.ts', [queue])
    const { code, stdout, stderr } = await run.finish(90_000)
    const lines = stdout.split('\n')
    const reply = /^\[client\] connected to \S+; reply queue (\S+)$/m.exec(stdout)?.[1]
    if (reply !== undefined) trackQueue(reply)

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    expect(lines).toContain(`[run] starting the server on ${queue}`)
    expect(lines.some((l) => l.startsWith(`[server] listening on ${queue} (urgent lane ${queue}.urgent)`))).toBe(true)
    expect(reply).toMatch(/^\/mqrpc\.reply\.\d+\.[0-9a-f]+$/)
    expect(lines).toContain('[client] add(2, 3) = 5')
    expect(lines).toContain('[client] divide(7, 2) = 3.5')
    expect(lines).toContain('[client] divide(1, 0) failed: INVALID_ARGUMENT (code 3): cannot divide 1 by zero')
    expect(lines).toContain(`[client] checksum(65536 bytes) = {"bytes":65536,"sum":${255 * 128 * 256}}`)
    expect(lines).toContain('[client] log sent (one-way: no reply awaited)')
    expect(lines.some((l) => /^\[server\] log from pid \d+ \(unix:\d+:\d+\): hello from the calc client$/.test(l))).toBe(true)
    expect(lines.filter((l) => /^\[client\] event tick n=\d+$/.test(l))).toHaveLength(3)
    expect(lines.some((l) => /^\[client\] received 3 tick events: \d+, \d+, \d+$/.test(l))).toBe(true)
    expect(lines.some((l) => /^\[server\] stop requested by pid \d+ through the urgent lane$/.test(l))).toBe(true)
    expect(lines).toContain('[client] stop (urgent lane) answered null')
    expect(lines).toContain('[server] closed; queues removed')
    expect(lines).toContain('[client] closed; reply queue removed')
    expect(lines.at(-2)).toBe('[run] ok: server and client ran and shut down cleanly')

    // The order a reader follows: listening, then calls, then the urgent stop, then the close.
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix))
    expect(at('[server] listening on')).toBeLessThan(at('[client] add(2, 3)'))
    expect(at('[client] add(2, 3)')).toBeLessThan(at('[server] stop requested'))
    expect(at('[server] stop requested')).toBeLessThan(at('[server] closed; queues removed'))

    expect([queue, `${queue}.urgent`, reply ?? '/missing'].filter(queueExists)).toEqual([])
    expect(replyQueuesOf(Number(/^\/mqrpc\.reply\.(\d+)\./.exec(reply ?? '')?.[1]))).toEqual([])
  }, 120_000)

  it('runs over NATS with `--nats URL`: the same programs, the principal from the broker user', async () => {
    // The harness broker, with alice allowed to serve too: both programs run as her, credentials in the URL.
    const broker = await startNatsBroker({ usersMayServe: true })
    try {
      const url = broker.url.replace('nats://', `nats://alice:${broker.users.alice.pass}@`)
      const service = `calc-${process.pid}`
      const { code, stdout, stderr } = await runNode('examples/calc/run.ts', [service, '--nats', url]).finish(90_000)
      const lines = stdout.split('\n')
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
      expect(lines).toContain(`[run] starting the server on ${service} over NATS`)
      expect(lines.some((l) => /^\[client\] connected to \S+; reply queue _INBOX\.alice\.[0-9a-f]+$/.test(l))).toBe(true)
      expect(lines).toContain('[client] add(2, 3) = 5')
      expect(lines).toContain('[client] divide(1, 0) failed: INVALID_ARGUMENT (code 3): cannot divide 1 by zero')
      expect(lines).toContain(`[client] checksum(65536 bytes) = {"bytes":65536,"sum":${255 * 128 * 256}}`)
      expect(lines.some((l) => /^\[server\] log from pid \d+ \(nats:alice\): hello from the calc client$/.test(l))).toBe(true)
      expect(lines.filter((l) => /^\[client\] event tick n=\d+$/.test(l))).toHaveLength(3)
      expect(lines.some((l) => /^\[server\] stop requested by pid \d+ through the urgent lane$/.test(l))).toBe(true)
      expect(lines.at(-2)).toBe('[run] ok: server and client ran and shut down cleanly')
    } finally {
      await broker.stop()
    }
  }, 120_000)

  it('the server alone shuts down cleanly on SIGTERM and removes its queues', async () => {
    const queue = uniqueQueueName('calc-term')
    trackQueue(`${queue}.urgent`)
    const server = runNode('examples/calc/server.ts', [queue])
    await server.waitForLine(/^listening on /, 30_000)
    expect(queueExists(queue)).toBe(true)
    expect(queueExists(`${queue}.urgent`)).toBe(true)
    server.process.kill('SIGTERM')
    const { code, signal, stdout, stderr } = await server.finish(30_000)
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' })
    expect(stdout.split('\n')).toEqual(expect.arrayContaining(['shutting down (SIGTERM)', 'closed; queues removed']))
    expect([queue, `${queue}.urgent`].filter(queueExists)).toEqual([])
  }, 60_000)

  it('the client alone, with no server, fails with UNAVAILABLE and exit code 1, leaving no reply queue', async () => {
    const queue = uniqueQueueName('calc-none')
    const client = runNode('examples/calc/client.ts', [queue])
    const { code, stdout, stderr } = await client.finish(30_000)
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr).toMatch(new RegExp(`^failed: \\[UNAVAILABLE\\] no server is listening on ${queue.replace(/\./g, '\\.')} `))
    expect(queueExists(queue)).toBe(false)
    expect(replyQueuesOf(client.process.pid)).toEqual([])
  }, 60_000)
})
