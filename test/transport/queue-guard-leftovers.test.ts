/**
 * The test helpers themselves: unique names, tracking of queues made by
 * other processes, and the leftover check that the guards rely on.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { MessageQueue, queueNameProblem } from '../../src/transport/mq/index.js'
import {
  cleanupQueues,
  leftoverQueues,
  queueExists,
  RUN_DIR_ENV,
  trackQueue,
  uniqueQueueName,
  useQueueGuard,
} from '../helpers/queues.js'
import { spawnFixture } from '../helpers/spawn.js'

useQueueGuard()

describe('queue helpers', () => {
  it('hands out distinct valid names and records them in the run directory', () => {
    const a = uniqueQueueName('tag')
    const b = uniqueQueueName('tag')
    const odd = uniqueQueueName('a/b c')
    expect(a).toMatch(new RegExp(`^/mqt-${process.pid}-\\d+-tag$`))
    expect(a).not.toBe(b)
    for (const name of [a, b, odd]) expect(queueNameProblem(name)).toBeUndefined()
    const dir = process.env[RUN_DIR_ENV]
    expect(dir).toBeDefined()
    const recorded = readFileSync(join(dir as string, `queues-${process.pid}.txt`), 'utf8').split('\n')
    expect(recorded).toEqual(expect.arrayContaining([a, b, odd]))
  })

  it('finds a queue that a killed child left behind, and cleanupQueues removes it', async () => {
    const name = trackQueue(`/mqt-${process.pid}-child-leak`)
    const child = spawnFixture('peer.ts', ['create', name])
    await child.waitForLine('ready')
    await child.kill()
    expect(queueExists(name)).toBe(true)
    expect(leftoverQueues([name])).toEqual([name])
    expect(cleanupQueues([name])).toEqual([name])
    expect(leftoverQueues([name])).toEqual([])
    expect(queueExists(name)).toBe(false)
  })

  it('queueExists does not create anything', () => {
    const name = uniqueQueueName('absent')
    expect(queueExists(name)).toBe(false)
    expect(() => MessageQueue.open(name)).toThrow(expect.objectContaining({ code: 'ENOENT' }))
  })
})
