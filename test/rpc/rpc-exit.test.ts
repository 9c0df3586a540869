/**
 * A client process that exits without close() leaves no reply queue.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Calc } from '../../examples/calc/service.js'
import { createServer, type Server } from '../../src/index.js'
import { queueExists, trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { SMALL_QUEUES } from '../helpers/sizes.js'
import { spawnFixture } from '../helpers/spawn.js'

useQueueGuard()

let server: Server<typeof Calc> | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

describe('a client process that exits without close()', () => {
  it('removes its reply queue on the way out', async () => {
    const queue = uniqueQueueName('exit')
    trackQueue(`${queue}.urgent`)
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
    const child = spawnFixture('exit-without-close.ts', [queue])
    const result = await child.finish(30_000)
    expect(result.code).toBe(0)
    const replyQueue = result.stdout.trim()
    expect(replyQueue).toMatch(/^\/mqrpc\.reply\.\d+\.[0-9a-f]+$/)
    trackQueue(replyQueue)
    expect(queueExists(replyQueue)).toBe(false)
  })
})
