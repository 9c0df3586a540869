/**
 * `mqrpc describe`, `call`, `watch` and `stats`, each run as a real process
 * against a toolbox server (test/fixtures/cli-service.ts) in this process.
 */
import { readdirSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { isMqueueMounted } from '../../src/cli/queue-listing.js'
import { createClient } from '../../src/index.js'
import { startToolbox, Toolbox, type ToolboxServer } from '../fixtures/cli-service.js'
import { runCli, runCliJson, startCli } from '../helpers/cli.js'
import { trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'

// Each CLI run is a node process with tsx: seconds on a loaded machine.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 30_000 })
useQueueGuard()

let queue: string
let toolbox: ToolboxServer

beforeEach(async () => {
  queue = uniqueQueueName('cli')
  trackQueue(`${queue}.urgent`)
  toolbox = await startToolbox(queue)
})

afterEach(async () => {
  await toolbox.server.close()
})

const b64 = (bytes: number[]) => Buffer.from(bytes).toString('base64')

describe('mqrpc describe', () => {
  it('prints the live service: name, fingerprint, methods with lanes and schemas, events', async () => {
    const { code, stdout, stderr } = await runCli(['describe', queue])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).toContain('service toolbox')
    expect(stdout).toContain(`fingerprint  ${Toolbox.fingerprint}`)
    expect(stdout).toContain(`queue        ${queue} (urgent lane ${queue}.urgent)`)
    expect(stdout).toContain('add({ a: number; b: number }): number    [normal]')
    expect(stdout).toContain('Adds two numbers.')
    expect(stdout).toContain(
      'digest({ data: Uint8Array; tags?: string[] }): { bytes: integer; sum: integer; reversed: Uint8Array }',
    )
    expect(stdout).toContain('note({ text: string }): void    [normal, one-way]')
    expect(stdout).toContain('halt({}): null    [urgent]')
    expect(stdout).toContain('tick: { n: integer }')
    expect(stdout).toContain('blob: { data: Uint8Array }')
    const addInput = /add\(.*\n.*\n\s+input\s+(\{.*\})\n/.exec(stdout)?.[1]
    expect(JSON.parse(addInput ?? 'null')).toEqual({
      type: 'object',
      required: ['a', 'b'],
      properties: { a: { type: 'number' }, b: { type: 'number' } },
    })
  })

  it('prints the raw description with --json', async () => {
    const { code, json } = await runCliJson<{
      name: string
      fingerprint: string
      queue: string
      urgentLane: string
      methods: Record<string, { priority: string; oneWay: boolean; input: Record<string, unknown>; description?: string }>
      events: Record<string, unknown>
    }>(['describe', queue, '--json'])
    expect(code).toBe(0)
    expect(json.name).toBe('toolbox')
    expect(json.fingerprint).toBe(Toolbox.fingerprint)
    expect(json.queue).toBe(queue)
    expect(json.urgentLane).toBe(`${queue}.urgent`)
    expect(Object.keys(json.methods)).toEqual(['add', 'fail', 'lane', 'digest', 'note', 'halt'])
    expect(json.methods.halt?.priority).toBe('urgent')
    expect(json.methods.note?.oneWay).toBe(true)
    expect(json.methods.add?.description).toBe('Adds two numbers.')
    expect(json.methods.digest?.input.properties).toHaveProperty('data', {
      format: 'binary',
      'x-mqrpc-binary': true,
      maxBytes: 64,
    })
    expect(Object.keys(json.events)).toEqual(['tick', 'blob'])
  })

  it('says plainly when no server listens, with exit code 3', async () => {
    const { code, stdout, stderr } = await runCli(['describe', uniqueQueueName('nobody')])
    expect(code).toBe(3)
    expect(stdout).toBe('')
    expect(stderr).toMatch(/no server is listening on (\/mqt-\S+) \((?:the queue|queue \1) does not exist\)/)
  })

  it('rejects a missing queue argument with exit code 2', async () => {
    const { code, stderr } = await runCli(['describe'])
    expect(code).toBe(2)
    expect(stderr).toContain('missing the queue to describe')
  })
})

describe('mqrpc call', () => {
  it('calls a method and prints the result as JSON', async () => {
    const pretty = await runCli(['call', queue, 'add', '{"a": 2, "b": 3}'])
    expect(pretty.stderr).toBe('')
    expect(pretty.code).toBe(0)
    expect(pretty.stdout).toBe('5\n')
    const { code, json } = await runCliJson(['call', queue, 'lane', '{}', '--json'])
    expect(code).toBe(0)
    expect(json).toEqual({ urgent: false, pid: expect.any(Number) })
    expect(toolbox.calls).toEqual(['add', 'lane'])
  })

  it('takes and prints binary fields as {"$binary": base64}', async () => {
    const { code, json } = await runCliJson([
      'call',
      queue,
      'digest',
      JSON.stringify({ data: { $binary: b64([1, 2, 3]) }, tags: ['x'] }),
      '--json',
    ])
    expect(code).toBe(0)
    expect(json).toEqual({ bytes: 3, sum: 6, reversed: { $binary: b64([3, 2, 1]) } })
  })

  it('validates the input against the live schema and sends nothing when it does not match', async () => {
    const wrong = await runCli(['call', queue, 'add', '{"a": 1, "b": "two"}'])
    expect(wrong.code).toBe(1)
    expect(wrong.stdout).toBe('')
    expect(wrong.stderr).toContain(`input of 'add' does not match the live schema of toolbox on ${queue}, so nothing was sent:`)
    expect(wrong.stderr).toMatch(/\/b\s+must be number/)
    expect(wrong.stderr).toContain('expected: { a: number; b: number }')

    const notBinary = await runCli(['call', queue, 'digest', '{"data": "AQID"}'])
    expect(notBinary.code).toBe(1)
    expect(notBinary.stderr).toMatch(/\/data\s+must be binary data \(Uint8Array\)/)
    expect(notBinary.stderr).toContain('write binary data as {"$binary": "<base64>"}')

    const tooLong = await runCli(['call', queue, 'digest', JSON.stringify({ data: { $binary: b64(new Array(65).fill(1)) } })])
    expect(tooLong.code).toBe(1)
    expect(tooLong.stderr).toMatch(/\/data\s+must be between 0 and 64 bytes, got 65/)

    expect(toolbox.calls).toEqual([])
  })

  it('prints a handler error as ERROR <CODE_NAME> (<n>): <message> with a non-zero exit', async () => {
    const human = await runCli(['call', queue, 'fail', '{"code": 5, "message": "no such user"}'])
    expect(human.code).toBe(1)
    expect(human.stdout).toBe('')
    expect(human.stderr).toContain('ERROR NOT_FOUND (5): no such user\n')
    expect(human.stderr).toContain('details: {"asked":5}')

    const { code, json } = await runCliJson(['call', queue, 'fail', '{"code": 9, "message": "not now"}', '--json'])
    expect(code).toBe(1)
    expect(json).toEqual({ error: { code: 'FAILED_PRECONDITION', codeNumber: 9, message: 'not now', details: { asked: 9 } } })

    // UNAVAILABLE from the server means "could not be reached": exit code 3.
    const unavailable = await runCli(['call', queue, 'fail', '{"code": 14, "message": "try later"}'])
    expect(unavailable.code).toBe(3)
    expect(unavailable.stderr).toContain('ERROR UNAVAILABLE (14): try later')
    expect(toolbox.calls).toEqual(['fail', 'fail', 'fail'])
  })

  it('sends through the urgent lane with --urgent', async () => {
    const urgent = await runCliJson<{ urgent: boolean; pid: number }>(['call', queue, 'lane', '--urgent', '--json'])
    expect(urgent.code).toBe(0)
    expect(urgent.json.urgent).toBe(true)
    const normal = await runCliJson<{ urgent: boolean }>(['call', queue, 'lane', '--json'])
    expect(normal.json.urgent).toBe(false)
  })

  it('sends a one-way call and exits without waiting for a reply', async () => {
    const { code, stdout, stderr } = await runCli(['call', queue, 'note', '{"text": "hello"}'])
    expect(code).toBe(0)
    expect(stdout).toBe('')
    expect(stderr).toContain("'note' is one-way")
    await vi.waitFor(() => expect(toolbox.notes).toEqual(['hello']), { timeout: 10_000 })
  })

  it('refuses unknown methods, bad JSON and bad options before calling', async () => {
    const unknown = await runCli(['call', queue, 'multiply', '{}'])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain(
      `service 'toolbox' on ${queue} has no method 'multiply'; its methods: add, fail, lane, digest, note, halt`,
    )
    const badJson = await runCli(['call', queue, 'add', '{a: 1}'])
    expect(badJson.code).toBe(2)
    expect(badJson.stderr).toContain('the input is not valid JSON')
    const badTimeout = await runCli(['call', queue, 'add', '{}', '--timeout', 'soon'])
    expect(badTimeout.code).toBe(2)
    expect(badTimeout.stderr).toContain("--timeout takes a whole number, got 'soon'")
    expect(toolbox.calls).toEqual([])
  })
})

describe('mqrpc watch', () => {
  it('prints pushed events as NDJSON and exits after --count events', async () => {
    const child = startCli(['watch', queue, '--count', '2', '--json'])
    let n = 0
    const ticker = setInterval(() => toolbox.server.emit('tick', { n: ++n }), 100)
    try {
      const { code, stdout, stderr } = await child.finish(30_000)
      expect(stderr).toBe('')
      expect(code).toBe(0)
      const events = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { event: string; payload: { n: number }; at: string })
      expect(events).toHaveLength(2)
      expect(events.map((e) => e.event)).toEqual(['tick', 'tick'])
      const first = events[0]?.payload.n as number
      expect(events[1]?.payload.n).toBe(first + 1)
      expect(Number.isNaN(Date.parse(events[0]?.at ?? ''))).toBe(false)
    } finally {
      clearInterval(ticker)
    }
  })

  it('filters by event name and prints binary payloads as base64', async () => {
    const child = startCli(['watch', queue, 'blob', '--count', '1'])
    const ticker = setInterval(() => {
      toolbox.server.emit('tick', { n: 1 })
      toolbox.server.emit('blob', { data: Uint8Array.of(7, 8, 9) })
    }, 100)
    try {
      const { code, stdout, stderr } = await child.finish(30_000)
      expect(code).toBe(0)
      expect(stdout).toBe(`blob {"data":{"$binary":"${b64([7, 8, 9])}"}}\n`)
      expect(stderr).toContain(`watching 'blob' events on ${queue}`)
    } finally {
      clearInterval(ticker)
    }
  })

  it('ends cleanly on SIGINT and removes its reply queue', async () => {
    const child = startCli(['watch', queue])
    const pid = child.process.pid as number
    // Events sent before the watcher listens are not seen: keep sending until one is.
    const ticker = setInterval(() => toolbox.server.emit('tick', { n: 42 }), 100)
    try {
      await child.waitForLine('tick {"n":42}', 30_000)
    } finally {
      clearInterval(ticker)
    }
    child.process.kill('SIGINT')
    const { code, signal } = await child.finish(20_000)
    expect({ code, signal }).toEqual({ code: 0, signal: null })
    // Its reply queue is gone (seen when the mqueue filesystem is mounted, as global setup does for root).
    if (isMqueueMounted('/dev/mqueue')) {
      expect(readdirSync('/dev/mqueue').filter((name) => name.startsWith(`mqrpc.reply.${pid}.`))).toEqual([])
    }
  })

  it('names the events when asked for one the service lacks', async () => {
    const { code, stderr } = await runCli(['watch', queue, 'tock'])
    expect(code).toBe(1)
    expect(stderr).toContain(`service 'toolbox' on ${queue} has no event 'tock'; its events: tick, blob`)
  })
})

describe('mqrpc stats', () => {
  interface Figures {
    name: string
    sessions: number
    inFlight: number
    methods: Record<string, { served: number; failed: number; latencyMs?: { p50: number; p90: number; p99: number } }>
  }

  it('shows the counts going up after calls', async () => {
    const before = await runCliJson<Figures>(['stats', queue, '--json'])
    expect(before.code).toBe(0)
    expect(before.json.name).toBe('toolbox')
    expect(before.json.sessions).toBeGreaterThanOrEqual(1)
    expect(before.json.methods).toEqual({})

    const client = await createClient(Toolbox, { queue })
    try {
      await client.add({ a: 1, b: 1 })
      await client.add({ a: 2, b: 2 })
      await client.add({ a: 3, b: 3 })
      await expect(client.fail({ code: 5, message: 'x' })).rejects.toThrow('x')
      const after = await runCliJson<Figures>(['stats', queue, '--json'])
      expect(after.code).toBe(0)
      expect(after.json.sessions).toBeGreaterThanOrEqual(2)
      expect(after.json.inFlight).toBe(0)
      expect(after.json.methods.add).toMatchObject({ served: 3, failed: 0, latencyMs: expect.any(Object) })
      expect(after.json.methods.fail).toMatchObject({ served: 0, failed: 1 })

      const table = await runCli(['stats', queue])
      expect(table.code).toBe(0)
      expect(table.stdout).toContain(`service toolbox on ${queue}`)
      expect(table.stdout).toMatch(/METHOD\s+SERVED\s+FAILED\s+P50 MS\s+P90 MS\s+P99 MS/)
      expect(table.stdout).toMatch(/\nadd\s+3\s+0\s+[\d.]+\s+[\d.]+\s+[\d.]+\n/)
      expect(table.stdout).toMatch(/\nfail\s+0\s+1\s/)
    } finally {
      await client.close()
    }
  })

  it('refreshes with --watch, here twice with --count', async () => {
    const { code, stdout } = await runCli(['stats', queue, '--watch', '100', '--count', '2', '--json'])
    expect(code).toBe(0)
    const lines = stdout.trim().split('\n')
    expect(lines).toHaveLength(2)
    for (const line of lines) expect((JSON.parse(line) as Figures).name).toBe('toolbox')
  })
})
