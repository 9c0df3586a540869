/**
 * The test broker helper: a real nats-server with two users, each confined
 * to its own inbox prefix. Fails (never skips) when nats-server cannot start.
 */
import { existsSync } from 'node:fs'
import { dirname } from 'node:path'
import { connect } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NatsBroker, startNatsBroker } from '../helpers/nats-broker.js'

describe('test NATS broker', () => {
  let broker: NatsBroker

  beforeAll(async () => {
    broker = await startNatsBroker()
  })
  afterAll(async () => {
    await broker?.stop()
  })

  it('runs on a loopback port with the users it reports', async () => {
    expect(broker.url).toBe(`nats://127.0.0.1:${broker.port}`)
    const { user, pass } = broker.users.alice
    const nc = await connect({ servers: broker.url, user, pass, inboxPrefix: '_INBOX.alice' })
    try {
      const got = new Promise<string>((resolve) => {
        nc.subscribe('_INBOX.alice.smoke', { max: 1, callback: (_error, msg) => resolve(msg.string()) })
      })
      await nc.flush()
      nc.publish('_INBOX.alice.smoke', 'hi')
      expect(await got).toBe('hi')
      expect(nc.info?.max_payload).toBe(1024 * 1024)
    } finally {
      await nc.close()
    }
  })

  it('refuses a wrong password', async () => {
    await expect(connect({ servers: broker.url, user: 'alice', pass: 'wrong', reconnect: false })).rejects.toThrow(/auth/i)
  })

  it('stop() kills the broker and removes its directory; restart() brings it back on the same port', async () => {
    const other = await startNatsBroker({ maxPayload: 4096 })
    const dir = dirname(other.configFile)
    expect(existsSync(other.configFile)).toBe(true)
    await other.restart()
    const nc = await connect({ servers: other.url, ...other.users.bob, inboxPrefix: '_INBOX.bob', reconnect: false })
    expect(nc.info?.max_payload).toBe(4096)
    await nc.close()
    await other.stop()
    expect(existsSync(dir)).toBe(false)
    await expect(connect({ servers: other.url, ...other.users.bob, reconnect: false, timeout: 1000 })).rejects.toThrow()
  })
})
