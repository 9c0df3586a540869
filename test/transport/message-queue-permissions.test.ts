/**
 * Modes and permissions, checked from another user: the C probe
 * (test/c/mq_probe.c) runs as uid/gid 65534 and reports what it may open.
 * mq_open filters the mode through the umask; MessageQueue sets the asked
 * mode again on the descriptor, so 0o622 under umask 022 really is 0o622.
 */
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MessageQueue } from '../../src/index.js'
import { uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { NOBODY, spawnFixture, spawnProgram } from '../helpers/spawn.js'

useQueueGuard()

const isRoot = process.getuid?.() === 0

let savedUmask = 0
beforeAll(() => {
  savedUmask = process.umask(0o022)
})
afterAll(() => {
  process.umask(savedUmask)
})

/** Runs the C probe as nobody and returns its two lines. */
async function probeAsNobody(name: string): Promise<string[]> {
  const probe = spawnProgram('mq_probe', [name], { asUser: NOBODY })
  const out = await probe.finish()
  expect(out.stderr).toBe('')
  return out.stdout.trim().split('\n')
}

describe.skipIf(!isRoot)(`modes seen from another user (uid ${NOBODY})`, () => {
  it('0o622 under umask 022 is really 0o622: another user can write but not read', async () => {
    expect(process.umask()).toBe(0o022)
    const name = uniqueQueueName('mode622')
    const q = MessageQueue.open(name, { create: true, exclusive: true, mode: 0o622, access: 'read' })
    try {
      expect(q.owner()).toEqual({ uid: 0, gid: 0, mode: 0o622 })
      expect(await probeAsNobody(name)).toEqual(['write ok', 'read EACCES'])
      // The write really went through.
      expect((await q.receive({ timeoutMs: 5_000 })).data.toString()).toBe('probe')
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('the default 0o600 shuts other users out both ways', async () => {
    const name = uniqueQueueName('mode600')
    const q = MessageQueue.open(name, { create: true, exclusive: true })
    try {
      expect(q.owner().mode).toBe(0o600)
      expect(await probeAsNobody(name)).toEqual(['write EACCES', 'read EACCES'])
      expect(q.attributes().currentMessages).toBe(0)
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('0o666 is not cut down to 0o644 by the umask: another user can read and write', async () => {
    const name = uniqueQueueName('mode666')
    const q = MessageQueue.open(name, { create: true, exclusive: true, mode: 0o666 })
    try {
      expect(q.owner().mode).toBe(0o666)
      expect(await probeAsNobody(name)).toEqual(['write ok', 'read ok'])
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('0o644 lets another user read but not write', async () => {
    const name = uniqueQueueName('mode644')
    const q = MessageQueue.open(name, { create: true, exclusive: true, mode: 0o644 })
    try {
      expect(q.owner().mode).toBe(0o644)
      expect(await probeAsNobody(name)).toEqual(['write EACCES', 'read ok'])
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })

  it('opening an existing queue with create and another mode leaves its mode alone', async () => {
    const name = uniqueQueueName('mode-kept')
    const q = MessageQueue.open(name, { create: true, exclusive: true, mode: 0o600 })
    const again = MessageQueue.open(name, { create: true, mode: 0o666 })
    try {
      expect(again.created).toBe(false)
      expect(again.owner().mode).toBe(0o600)
      expect(await probeAsNobody(name)).toEqual(['write EACCES', 'read EACCES'])
    } finally {
      await again.close()
      await q.close()
      MessageQueue.unlink(name)
    }
  })
})

describe.skipIf(!isRoot || !existsSync('/usr/bin/setpriv'))('EACCES from MessageQueue', () => {
  it('names the access, the owner and the mode', async () => {
    // Root without CAP_DAC_OVERRIDE is held to the mode bits like anyone:
    // a queue of mode 0o200 is write-only even for its owner. (A node child
    // under another uid might not be able to read the repository.)
    const name = uniqueQueueName('eacces')
    const q = MessageQueue.open(name, { create: true, exclusive: true, mode: 0o200 })
    try {
      const child = spawnFixture('peer.ts', ['eacces', name], {
        wrapper: ['setpriv', '--bounding-set=-dac_override,-dac_read_search', '--inh-caps=-all', '--'],
      })
      const result = await child.json<{ write: unknown; read: { code: string; syscall: string; message: string } }>()
      expect(result.write).toBe('ok')
      expect(result.read.code).toBe('EACCES')
      expect(result.read.syscall).toBe('mq_open')
      expect(result.read.message).toContain(`permission denied opening queue ${name} for read`)
      if (existsSync('/dev/mqueue')) {
        expect(result.read.message).toContain('it is owned by uid 0 gid 0 with mode 0o200')
      }
    } finally {
      await q.close()
      MessageQueue.unlink(name)
    }
  })
})
