/**
 * Unique queue names for tests, and the guard that fails a test (and the
 * run) when a queue it made is left behind.
 *
 * Every name handed out or tracked here is also appended to a file in the
 * run directory (MQRPC_TEST_RUN_DIR, made by test/global-setup.ts), because
 * vitest runs test files in separate worker processes and the global
 * teardown must see every name to check that none survived the run.
 * @module
 */
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, expect } from 'vitest'
import { MessageQueue } from '../../src/index.js'
import { reapChildren } from './spawn.js'

/** Environment variable holding the run directory made by global setup. */
export const RUN_DIR_ENV = 'MQRPC_TEST_RUN_DIR'

const tracked = new Set<string>()
let counter = 0

function record(name: string): void {
  if (tracked.has(name)) return
  tracked.add(name)
  const dir = process.env[RUN_DIR_ENV]
  if (dir !== undefined) appendFileSync(join(dir, `queues-${process.pid}.txt`), `${name}\n`)
}

/** Returns a fresh queue name, `/mqt-<pid>-<counter>-<tag>`, and tracks it. */
export function uniqueQueueName(tag = 'q'): string {
  counter += 1
  const safe = tag.replace(/[^A-Za-z0-9_.-]/g, '_')
  const name = `/mqt-${process.pid}-${counter}-${safe}`
  record(name)
  return name
}

/** Tracks a name that something else (a child process, a C program) creates. */
export function trackQueue(name: string): string {
  record(name)
  return name
}

/** Whether a queue named `name` exists now (needs no /dev/mqueue mount). */
export function queueExists(name: string): boolean {
  try {
    const q = MessageQueue.open(name, { access: 'read' })
    void q.close()
    return true
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return false
    throw error
  }
}

/** The tracked names in `names` (default: this process's) that still exist. */
export function leftoverQueues(names: Iterable<string> = tracked): string[] {
  return [...names].filter(queueExists)
}

/** Unlinks every tracked name that still exists; returns the ones it removed. */
export function cleanupQueues(names: Iterable<string> = tracked): string[] {
  const removed: string[] = []
  for (const name of names) {
    try {
      MessageQueue.unlink(name)
      removed.push(name)
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error
    }
  }
  return removed
}

/**
 * Installs an afterEach that removes leftover queues and fails the test
 * that left them: each test must clean up after itself; this only catches
 * the leaks. Call it at the top of a test file. Children are reaped first,
 * so a child's queues are checked after it is gone.
 */
export function useQueueGuard(): void {
  afterEach(async () => {
    await reapChildren()
    const left = cleanupQueues()
    tracked.clear()
    expect(left, 'queues left behind by this test (removed now)').toEqual([])
  })
}
