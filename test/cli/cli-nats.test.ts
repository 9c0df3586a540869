/**
 * The CLI over NATS: `mqrpc ls --nats URL` lists the services answering
 * `$SRV.PING`, and `describe`, `call`, `watch` and `stats` reach a service by
 * name with `--nats URL`. Each `mqrpc` run is a real process, against lab
 * servers in child processes on a real nats-server started here (which
 * fails the file when it cannot start).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { Lab } from '../fixtures/rpc-service.js'
import { runCli, runCliJson, startCli } from '../helpers/cli.js'
import { freePort } from '../helpers/nats-broker.js'
import type { ServerProc } from '../helpers/rpc.js'
import { natsCase, spawnLabServer, useTransportHarness } from '../helpers/transport-cases.js'
import { until } from '../helpers/wait.js'

vi.setConfig({ testTimeout: 90_000, hookTimeout: 60_000 })
useTransportHarness()

const tc = natsCase()
beforeAll(() => tc.setup())
afterAll(() => tc.teardown())

/** `--nats URL` as alice, with the credentials as options. */
const asAlice = () => tc.fixtureArgs('alice')

let service: string
let server: ServerProc

async function startLab(): Promise<void> {
  service = tc.address('cli')
  server = await spawnLabServer(tc, service)
  expect(server.linesWith({ event: 'ready' })).toHaveLength(1)
}

describe('mqrpc ls --nats', () => {
  it('lists every instance that answers $SRV.PING, with its fingerprint', async () => {
    await startLab()
    const second = await spawnLabServer(tc, service)
    expect(second.linesWith({ event: 'ready' })).toHaveLength(1)
    const { code, json } = await runCliJson<{
      services: { name: string; id: string; metadata: Record<string, string> }[]
    }>(['ls', ...asAlice(), '--wait', '5000', '--json'])
    expect(code).toBe(0)
    const lab = json.services.filter((s) => s.name === 'lab' && s.metadata['mqrpc.transport'] === 'nats')
    expect(lab).toHaveLength(2)
    expect(new Set(lab.map((s) => s.id)).size).toBe(2)
    for (const s of lab) expect(s.metadata.fingerprint).toBe(Lab.fingerprint)

    // Answers have no end marker: give instances on a loaded machine time to answer.
    const text = await runCli(['ls', ...asAlice(), '--wait', '5000'])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/^SERVICE\s+VERSION\s+INSTANCE\s+KIND\s+FINGERPRINT/)
    expect(text.stdout.split('\n').filter((line) => line.startsWith('lab ') && line.includes('mqrpc'))).toHaveLength(2)
  })

  it('says UNAVAILABLE (exit 3) when no broker listens', async () => {
    const { code, stderr } = await runCli(['ls', '--nats', `nats://127.0.0.1:${await freePort()}`])
    expect(code).toBe(3)
    expect(stderr).toContain('mqrpc ls:')
  })
})

describe('describe, call, watch and stats with --nats', () => {
  it('describe takes the credentials in the URL', async () => {
    await startLab()
    const url = tc.broker.url.replace('nats://', `nats://alice:${tc.broker.users.alice.pass}@`)
    const { code, json } = await runCliJson<{ name: string; fingerprint: string; methods: Record<string, unknown> }>([
      'describe',
      service,
      '--nats',
      url,
      '--json',
    ])
    expect(code).toBe(0)
    expect(json.name).toBe('lab')
    expect(json.fingerprint).toBe(Lab.fingerprint)
    expect(Object.keys(json.methods)).toContain('add')
  })

  it('call prints the result, and a failed call its code and details', async () => {
    await startLab()
    const ok = await runCli(['call', service, 'add', '{"a": 20, "b": 22}', ...asAlice()])
    expect(ok.code).toBe(0)
    expect(ok.stdout.trim()).toBe('42')
    const failed = await runCli(['call', `/${service}`, 'fail', '{"kind": "rpc"}', ...asAlice()])
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain('ERROR NOT_FOUND (5): no such user')
    expect(failed.stderr).toContain('"user":"ann"')
  })

  it('watch prints the events the server pushes', async () => {
    await startLab()
    const watch = startCli(['watch', service, 'tick', '--count', '1', ...asAlice()])
    await until(() => watch.stderr.includes("watching 'tick' events"), 'the watch is connected', 60_000)
    server.emit('tick', { n: 7 })
    expect(await watch.waitForLine(/^tick /, 30_000)).toBe('tick {"n":7}')
    expect((await watch.finish()).code).toBe(0)
  })

  it('stats prints the live figures', async () => {
    await startLab()
    expect((await runCli(['call', service, 'add', '{"a": 1, "b": 1}', ...asAlice()])).code).toBe(0)
    const { code, json } = await runCliJson<{ name: string; methods: Record<string, { served: number }> }>([
      'stats',
      service,
      '--json',
      ...asAlice(),
    ])
    expect(code).toBe(0)
    expect(json.name).toBe('lab')
    expect(json.methods.add?.served).toBe(1)
  })

  it('a queue-style name with a dot, or --nats-user without --nats, is a usage error', async () => {
    expect((await runCli(['describe', 'a.b', ...asAlice()])).code).toBe(2)
    expect((await runCli(['describe', '/calc', '--nats-user', 'alice'])).code).toBe(2)
  })
})
