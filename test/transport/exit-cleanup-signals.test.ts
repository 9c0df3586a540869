/**
 * A server or client process ended by SIGINT, SIGTERM or SIGHUP leaves none
 * of its queues, and the signal is not changed by that: without a handler of
 * its own the process still dies by the signal; with one (process.on, or
 * process.once) it runs that handler and lives on, queues and all, until it
 * exits, and its queues go then.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Calc } from '../../examples/calc/service.js'
import { createServer, MessageQueue, type Server } from '../../src/index.js'
import { trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { SMALL_QUEUES } from '../helpers/sizes.js'
import { type Child, spawnFixture } from '../helpers/spawn.js'

useQueueGuard()

let server: Server<typeof Calc> | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
type Role = 'server' | 'client'

/** How opening `name` fails now: 'ENOENT' when it is gone, 'exists' when it opens. */
function openOutcome(name: string): string {
  try {
    const queue = MessageQueue.open(name, { access: 'write' })
    void queue.close()
    return 'exists'
  } catch (error) {
    return String((error as { code?: unknown }).code)
  }
}

function outcomes(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, openOutcome(name)]))
}

function all(names: readonly string[], outcome: string): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, outcome]))
}

async function startCalcServer(queue: string): Promise<void> {
  server = await createServer(
    Calc,
    {
      add: ({ a, b }) => a + b,
      divide: ({ a, b }) => a / b,
      checksum: ({ data }) => ({ bytes: data.byteLength, sum: 0 }),
      log: () => undefined,
      stop: () => null,
    },
    { queue, ...SMALL_QUEUES },
  )
}

/** Starts the peer (a client gets a server in this process first); returns it and the queues it made. */
async function startPeer(role: Role, handling: 'none' | 'on' | 'once'): Promise<{ child: Child; queues: string[] }> {
  const queue = uniqueQueueName(`sig-${role}`)
  trackQueue(`${queue}.urgent`)
  if (role === 'client') await startCalcServer(queue)
  const child = spawnFixture('signal-peer.ts', [role, queue, handling])
  const ready = await child.waitForLine(/^ready /, 30_000)
  const queues = ready.split(' ').slice(1)
  for (const name of queues) trackQueue(name)
  expect(queues.length).toBe(role === 'server' ? 2 : 1)
  expect(outcomes(queues)).toEqual(all(queues, 'exists'))
  return { child, queues }
}

describe.each(['server', 'client'] as const)('a %s process', (role) => {
  it.each(SIGNALS)('without a handler of its own, on %s: dies by the signal, and its queues are gone', async (signal) => {
    const { child, queues } = await startPeer(role, 'none')
    child.process.kill(signal)
    const exit = await child.finish(15_000)
    expect({ code: exit.code, signal: exit.signal, stderr: exit.stderr }).toEqual({ code: null, signal, stderr: '' })
    expect(outcomes(queues)).toEqual(all(queues, 'ENOENT'))
  })

  it('with its own handler (process.on): handles SIGINT, SIGTERM and SIGHUP and lives on with its queues, which go when it exits', async () => {
    // One process for the three signals: each is handled, and changes nothing.
    const { child, queues } = await startPeer(role, 'on')
    for (const signal of SIGNALS) {
      child.process.kill(signal)
      await child.waitForLine(`handled ${signal}`)
      // A moment for a wrong exit (a re-raised signal) to happen.
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect({ signal, running: child.running }).toEqual({ signal, running: true })
      expect({ signal, queues: outcomes(queues) }).toEqual({ signal, queues: all(queues, 'exists') })
    }
    child.send('exit')
    const exit = await child.finish(15_000)
    expect({ code: exit.code, signal: exit.signal, stderr: exit.stderr }).toEqual({ code: 0, signal: null, stderr: '' })
    expect(outcomes(queues)).toEqual(all(queues, 'ENOENT'))
  })

  it('with its own process.once handler: handles the first SIGINT and lives on with its queues; the second ends it', async () => {
    const { child, queues } = await startPeer(role, 'once')
    child.process.kill('SIGINT')
    await child.waitForLine('handled SIGINT')
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(child.running).toBe(true)
    expect(outcomes(queues)).toEqual(all(queues, 'exists'))
    // The handler is spent: a second SIGINT takes its default course.
    child.process.kill('SIGINT')
    const exit = await child.finish(15_000)
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: null, signal: 'SIGINT' })
    expect(outcomes(queues)).toEqual(all(queues, 'ENOENT'))
  })
})
