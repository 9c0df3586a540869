/**
 * What every verb does the same way: `--json` prints one JSON value on
 * stdout for every outcome, failures included; a wrong command line (a
 * missing argument, a queue name without its "/") exits with 2 and says
 * what is missing; naming a queue that does not exist is reported. Each
 * run is a real `mqrpc` process, against a toolbox server in this process.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { isMqueueMounted } from '../../src/cli/queue-listing.js'
import { startToolbox, type ToolboxServer } from '../fixtures/cli-service.js'
import { type CliResult, runCli, runCliJson } from '../helpers/cli.js'
import { trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'

// Each CLI run is a node process with tsx: seconds on a loaded machine.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 30_000 })
useQueueGuard()

interface ErrorJson {
  error: { code: string; codeNumber?: number; message: string; details?: unknown }
}

let queue: string
let toolbox: ToolboxServer

// A server per test: the queue guard checks after each test that nothing is left.
beforeEach(async () => {
  queue = uniqueQueueName('cli-consistency')
  trackQueue(`${queue}.urgent`)
  toolbox = await startToolbox(queue)
})

afterEach(async () => {
  await toolbox.server.close()
})

/** A queue name no server uses (and that nothing creates). */
const absent = () => uniqueQueueName('absent')

describe('--json prints one JSON value on stdout for every outcome', () => {
  it('input that does not match the live schema: INVALID_ARGUMENT with the failing fields, exit 1', async () => {
    const { code, json, stderr } = await runCliJson<ErrorJson>(['call', queue, 'add', '{"a": 1, "b": "two"}', '--json'])
    expect(code).toBe(1)
    expect(json.error.code).toBe('INVALID_ARGUMENT')
    expect(json.error.message).toContain("input of 'add' does not match the live schema")
    expect(json.error.details).toEqual({ violations: [{ path: '/b', message: expect.stringContaining('number') }] })
    // The sentence for a person still goes to stderr.
    expect(stderr).toContain("mqrpc call: input of 'add' does not match")
    expect(toolbox.calls).toEqual([])
  })

  it('an unknown method: UNIMPLEMENTED with the methods the service has, exit 1', async () => {
    const { code, json } = await runCliJson<ErrorJson>(['call', queue, 'multiply', '{}', '--json'])
    expect(code).toBe(1)
    expect(json.error.code).toBe('UNIMPLEMENTED')
    expect(json.error.message).toContain("has no method 'multiply'")
    expect(json.error.details).toEqual({ service: 'toolbox', methods: ['add', 'fail', 'lane', 'digest', 'note', 'halt'] })
  })

  it('no server on the queue: UNAVAILABLE, exit 3, for call, describe, stats and watch', async () => {
    const nowhere = absent()
    const results = await Promise.all([
      runCliJson<ErrorJson>(['call', nowhere, 'add', '{}', '--json']),
      runCliJson<ErrorJson>(['describe', nowhere, '--json']),
      runCliJson<ErrorJson>(['stats', nowhere, '--json']),
      runCliJson<ErrorJson>(['watch', nowhere, '--json']),
    ])
    for (const { code, json, stdout } of results) {
      expect(code).toBe(3)
      expect(stdout.trim().split('\n')).toHaveLength(1)
      expect(json.error).toMatchObject({ code: 'UNAVAILABLE', codeNumber: 14 })
      expect(json.error.message).toContain(nowhere)
    }
  })

  it('a wrong command line: USAGE, exit 2; an event the service lacks: NOT_FOUND, exit 1', async () => {
    const [usage, event] = await Promise.all([
      runCliJson<ErrorJson>(['call', queue, 'add', '{}', '--timeout', 'soon', '--json']),
      runCliJson<ErrorJson>(['watch', queue, 'tock', '--json']),
    ])
    expect(usage.code).toBe(2)
    expect(usage.json).toEqual({ error: { code: 'USAGE', message: "--timeout takes a whole number, got 'soon'" } })
    expect(event.code).toBe(1)
    expect(event.json.error.code).toBe('NOT_FOUND')
    expect(event.json.error.details).toEqual({ events: ['tick', 'blob'] })
  })
})

describe('a wrong command line exits with 2 and says what is wrong', () => {
  it('`mqrpc call /q` says that the method is missing (not the queue)', async () => {
    const { code, stdout, stderr } = await runCli(['call', queue])
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toContain(`mqrpc call: missing the method, e.g. \`mqrpc call ${queue} <method> '<json>'\``)
    expect(stderr).toContain(`\`mqrpc describe ${queue}\` lists its methods`)
    expect(stderr).not.toContain('missing the queue')
    const none = await runCli(['call'])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('missing the queue and the method')
  })

  it('a queue name without its leading "/" is a usage error for every verb that takes one', async () => {
    const runs: [string, CliResult][] = await Promise.all(
      [
        ['call', 'calc', 'add', '{}'],
        ['describe', 'calc'],
        ['stats', 'calc'],
        ['watch', 'calc'],
        ['gc', 'calc'],
      ].map(async (args) => [args[0] as string, await runCli(args)] as [string, CliResult]),
    )
    for (const [verb, { code, stderr }] of runs) {
      expect({ verb, code }).toEqual({ verb, code: 2 })
      expect(stderr).toContain(`mqrpc ${verb}: queue name "calc" must start with "/" (e.g. "/calc")`)
      expect(stderr).toContain(`Run \`mqrpc ${verb} --help\` for the usage.`)
    }
  })

  it('an unknown verb is a usage error; --help lists every verb', async () => {
    const [unknown, help] = await Promise.all([runCli(['frobnicate']), runCli(['--help'])])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("mqrpc: unknown verb 'frobnicate'")
    expect(help.code).toBe(0)
    for (const verb of ['ls', 'generate', 'breaking', 'describe', 'call', 'watch', 'stats', 'doctor', 'gc']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${verb} +\\S`, 'm'))
    }
  })
})

const mounted = isMqueueMounted('/dev/mqueue')
describe.skipIf(!mounted)(
  `mqrpc gc naming a queue that does not exist${mounted ? '' : ' (skipped: /dev/mqueue is not mounted)'}`,
  () => {
    it('says the queue does not exist, and exits with 1', async () => {
      const nowhere = absent()
      const [text, json] = await Promise.all([
        runCli(['gc', '--yes', nowhere]),
        runCliJson<{ absent: string[]; stale: unknown[]; checked: number }>(['gc', '--yes', '--json', nowhere]),
      ])
      expect(text.code).toBe(1)
      expect(text.stderr).toContain(`mqrpc gc: ${nowhere}: no such queue (it does not exist in /dev/mqueue)`)
      expect(json.code).toBe(1)
      expect(json.json).toMatchObject({ absent: [nowhere], stale: [], checked: 0 })
      // A queue that exists is not reported as absent.
      const present = await runCliJson<{ absent: string[] }>(['gc', '--json', queue, nowhere])
      expect(present.code).toBe(1)
      expect(present.json.absent).toEqual([nowhere])
    })
  },
)
