/**
 * Across hosts for real: the lab server in one network namespace, the
 * client in another, each reaching only the broker, calls go through.
 *
 * The namespaces are made here (root and `ip netns` needed; nothing is
 * installed): one veth link from this (root) namespace into each, with
 * private addresses made up for the test (10.250.<n>.0/30 and .4/30). The
 * broker listens on the root end of the server's link; the client's
 * namespace has a route to that one address through its own link, and the
 * two namespaces have no route to each other. Removing the namespaces
 * removes the links. Without root or `ip netns`, the test is skipped and
 * says why.
 */
import { execFileSync } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { readlinkSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type NatsBroker, startNatsBroker } from '../helpers/nats-broker.js'
import { ClientProc, PROCESS_TEST_TIMEOUT_MS, ServerProc, START_MS } from '../helpers/rpc.js'
import { spawnFixture, useChildReaper } from '../helpers/spawn.js'

vi.setConfig({ testTimeout: PROCESS_TEST_TIMEOUT_MS, hookTimeout: PROCESS_TEST_TIMEOUT_MS })
useChildReaper()

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()

/** Why the namespaces cannot be made here, or undefined when they can. */
function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (network namespaces need CAP_SYS_ADMIN)'
  const probe = `mqrpc-probe-${process.pid}`
  try {
    ip('netns', 'add', probe)
    ip('netns', 'del', probe)
    return undefined
  } catch (error) {
    return `\`ip netns add\` failed: ${(error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message}`
  }
}

const unavailable = netnsUnavailable()
if (unavailable !== undefined) console.warn(`nats-netns: skipped, ${unavailable}`)

const net = randomInt(0, 256)
const tag = `${process.pid % 10_000}${randomInt(0, 100)}`
/** Interface names stay under IFNAMSIZ (15). */
const sides = {
  server: {
    ns: `mqrpc-${tag}-srv`,
    outer: `mqs${tag}`,
    inner: `mqs${tag}i`,
    outerIp: `10.250.${net}.1`,
    innerIp: `10.250.${net}.2`,
  },
  client: {
    ns: `mqrpc-${tag}-cli`,
    outer: `mqc${tag}`,
    inner: `mqc${tag}i`,
    outerIp: `10.250.${net}.5`,
    innerIp: `10.250.${net}.6`,
  },
}
const brokerIp = sides.server.outerIp

function makeNamespaces(): void {
  for (const side of Object.values(sides)) {
    ip('netns', 'add', side.ns)
    ip('link', 'add', side.outer, 'type', 'veth', 'peer', 'name', side.inner)
    ip('link', 'set', side.inner, 'netns', side.ns)
    ip('addr', 'add', `${side.outerIp}/30`, 'dev', side.outer)
    ip('link', 'set', side.outer, 'up')
    ip('-n', side.ns, 'addr', 'add', `${side.innerIp}/30`, 'dev', side.inner)
    ip('-n', side.ns, 'link', 'set', side.inner, 'up')
    ip('-n', side.ns, 'link', 'set', 'lo', 'up')
  }
  // The client's namespace reaches the broker's one address, delivered locally in the root namespace.
  ip('-n', sides.client.ns, 'route', 'add', `${brokerIp}/32`, 'via', sides.client.outerIp)
}

function removeNamespaces(): void {
  for (const side of Object.values(sides)) {
    try {
      ip('netns', 'del', side.ns)
    } catch {
      // never made
    }
    try {
      ip('link', 'del', side.outer)
    } catch {
      // gone with its peer
    }
  }
}

const netnsOf = (pid: number | string) => readlinkSync(`/proc/${pid}/ns/net`)

describe.skipIf(unavailable !== undefined)(
  `NATS across network namespaces${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let broker: NatsBroker | undefined
    beforeAll(async () => {
      try {
        makeNamespaces()
        broker = await startNatsBroker({ host: brokerIp })
      } catch (error) {
        removeNamespaces()
        throw error
      }
    })
    afterAll(async () => {
      await broker?.stop()
      removeNamespaces()
      const left = ip('netns', 'list')
      expect(left).not.toContain(sides.server.ns)
      expect(left).not.toContain(sides.client.ns)
    })

    it('a server in one namespace answers a client in another through the broker', async () => {
      const b = broker as NatsBroker
      const as = (who: 'server' | 'alice') => [
        '--nats',
        b.url,
        '--nats-user',
        b.users[who].user,
        '--nats-pass',
        b.users[who].pass,
      ]
      const inside = (ns: string) => ({ wrapper: ['ip', 'netns', 'exec', ns] })
      // The namespaces really are apart: neither reaches the other's address.
      expect(() => ip('netns', 'exec', sides.client.ns, 'ip', 'route', 'get', sides.server.innerIp)).toThrow()
      expect(() => ip('netns', 'exec', sides.server.ns, 'ip', 'route', 'get', sides.client.innerIp)).toThrow()

      const address = `lab-netns-${process.pid}`
      const server = new ServerProc(
        spawnFixture('rpc-server.ts', [address, '{}', ...as('server')], inside(sides.server.ns)),
        address,
      )
      expect((await server.waitFor({}, START_MS, (line) => line.event !== undefined)).event).toBe('ready')
      const client = new ClientProc(spawnFixture('rpc-client.ts', [address, '{}', ...as('alice')], inside(sides.client.ns)))
      expect((await client.waitFor({}, START_MS, (line) => line.event !== undefined)).event).toBe('ready')

      const spaces = new Set([netnsOf('self'), netnsOf(server.pid), netnsOf(client.pid)])
      expect(spaces.size, 'three network namespaces').toBe(3)

      expect(await client.call('add', { a: 20, b: 22 })).toMatchObject({ ok: true, value: 42 })
      const echoed = await client.call('blob', { data: { $bytes: 300_000, seed: 1 }, reply: 200_000, seed: 2 })
      expect(echoed).toMatchObject({ ok: true, value: { bytes: 300_000, data: { $bytes: 200_000 } } })
      const session = await server.waitFor({ event: 'session' })
      expect(session.peer).toMatchObject({ principal: 'nats:alice', pid: client.pid })
      await client.close()
      await server.close()
    })
  },
)
