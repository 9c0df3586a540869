/**
 * `mqrpc call` on client and bidi streams, and `mqrpc health`, with
 * `--nats URL`: each `mqrpc` run is a real process, against a "streams"
 * server (test/fixtures/cli-stream-server.ts) in a child process on a real
 * nats-server started here (which fails the file when it cannot start).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { runCli, startCli } from '../helpers/cli.js'
import { useQueueGuard } from '../helpers/queues.js'
import { ServerProc, START_MS, WAIT_MS } from '../helpers/rpc.js'
import { type Child, spawnFixture } from '../helpers/spawn.js'
import { natsCase } from '../helpers/transport-cases.js'

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 })
// A CLI's start (node, tsx, TypeBox, three handshakes) on a machine loaded by parallel files: an upper bound only.
const FIRST_CONTACT_MS = 60_000
useQueueGuard()

const tc = natsCase()
beforeAll(() => tc.setup())
afterAll(() => tc.teardown())

/** `--nats URL` as alice, with the credentials as options. */
const asAlice = () => tc.fixtureArgs('alice')

let service: string
let server: ServerProc

beforeEach(async () => {
  service = tc.address('cli-streams')
  server = new ServerProc(spawnFixture('cli-stream-server.ts', [service, ...tc.fixtureArgs('server')]), service)
  await server.waitFor({ event: 'ready' }, START_MS)
})

// Registered after the guard, so it runs first.
afterEach(async () => {
  await server.close()
})

/** The server's line matching `fields`; fails with the CLI's output if the CLI exits first. */
async function serverSaw(cli: Child, fields: Readonly<Record<string, unknown>>): Promise<void> {
  const exited = cli.exited.then((exit) => {
    throw new Error(`the CLI exited (code ${exit.code}) first\nstdout:\n${cli.stdout}\nstderr:\n${cli.stderr}`)
  })
  await Promise.race([server.waitFor(fields, FIRST_CONTACT_MS), exited])
}

describe('call on streams with --nats', () => {
  it('a client stream sends its stdin lines and prints the one answer', async () => {
    const cli = startCli(['call', service, 'sum', '--json', ...asAlice()])
    cli.send('{"n": 40}')
    await serverSaw(cli, { event: 'consumed', n: 1 })
    cli.send('{"n": 2}')
    cli.process.stdin?.end()
    const { code, stdout, stderr } = await cli.finish(FIRST_CONTACT_MS)
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).toBe('{"count":2,"total":42,"bytes":0}\n')
  })

  it('a bidi stream prints each answer as its line is answered; a bad line stops it', async () => {
    const cli = startCli(['call', `/${service}`, 'chat', '--json', ...asAlice()])
    cli.send('{"n": 5}')
    await cli.waitForLine('{"n":5,"twice":10}', FIRST_CONTACT_MS)
    cli.send('{"n": 6}')
    await cli.waitForLine('{"n":6,"twice":12}', WAIT_MS)
    cli.process.stdin?.end()
    const ok = await cli.finish(FIRST_CONTACT_MS)
    expect(ok.stderr).toBe('')
    expect(ok.code).toBe(0)
    expect(ok.stdout).toBe('{"n":5,"twice":10}\n{"n":6,"twice":12}\n')

    const bad = startCli(['call', service, 'chat', ...asAlice()])
    bad.send('{"n":')
    const failed = await bad.finish(FIRST_CONTACT_MS)
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain('mqrpc call: line 1 of stdin is not JSON')
  })
})

describe('health with --nats', () => {
  it('prints SERVING (exit 0), NOT_SERVING (exit 1, also --json), SERVICE_UNKNOWN (exit 1)', async () => {
    const serving = await runCli(['health', service, ...asAlice()])
    expect(serving.stderr).toBe('')
    expect(serving.stdout).toBe('SERVING\n')
    expect(serving.code).toBe(0)
    await server.request({ op: 'health', status: 'NOT_SERVING' })
    const [notServing, json, unknown] = await Promise.all([
      runCli(['health', service, ...asAlice()]),
      runCli(['health', service, '--json', ...asAlice()]),
      runCli(['health', service, 'other', ...asAlice()]),
    ])
    expect(notServing.stdout).toBe('NOT_SERVING\n')
    expect(notServing.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({ queue: service, status: 'NOT_SERVING' })
    expect(json.code).toBe(1)
    expect(unknown.stdout).toBe('SERVICE_UNKNOWN\n')
    expect(unknown.code).toBe(1)
  })

  it('exits 3 when no such service is on the broker, 2 for a dotted name', async () => {
    const [absent, dotted] = await Promise.all([
      runCli(['health', tc.address('absent'), '--json', ...asAlice()]),
      runCli(['health', 'a.b', ...asAlice()]),
    ])
    expect(absent.code).toBe(3)
    expect(JSON.parse(absent.stdout)).toMatchObject({ error: { code: 'UNAVAILABLE' } })
    expect(dotted.code).toBe(2)
  })

  it('--watch prints each change and, when the server drains and goes, NOT_SERVING and exit 3', async () => {
    const watch = startCli(['health', service, '--watch', ...asAlice()])
    await watch.waitForLine('SERVING', FIRST_CONTACT_MS)
    await server.request({ op: 'health', status: 'NOT_SERVING' })
    await watch.waitForLine('NOT_SERVING', WAIT_MS)
    await server.request({ op: 'health', status: 'SERVING' })
    await vi.waitUntil(() => watch.lines().length === 3, { timeout: WAIT_MS })
    await server.close()
    const { code, stdout } = await watch.finish(FIRST_CONTACT_MS)
    expect(stdout).toBe('SERVING\nNOT_SERVING\nSERVING\nNOT_SERVING\n')
    expect(code).toBe(3)
  })
})
