/**
 * `mqrpc call` on client and bidi streams, each run as a real process
 * against a "streams" server in another process (test/fixtures/
 * cli-stream-server.ts): input elements as JSON lines on stdin or from
 * `--inputs FILE`, sent while the input is still open; a client stream's
 * one answer; a bidi stream's outputs as they come; a line that is not JSON,
 * or does not match, stopping the call with its line number; Ctrl-C.
 */
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { isMqueueMounted } from '../../src/cli/queue-listing.js'
import { runCli, startCli } from '../helpers/cli.js'
import { scratchDir, useScratchDirs } from '../helpers/codegen.js'
import { trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { ServerProc, START_MS, WAIT_MS } from '../helpers/rpc.js'
import type { Child } from '../helpers/spawn.js'
import { spawnFixture } from '../helpers/spawn.js'

// Each CLI run is a node process with tsx: seconds on a loaded machine.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 })
// A CLI's start (node, tsx, TypeBox, three handshakes) on a machine loaded by parallel files: an upper bound only.
const FIRST_CONTACT_MS = 60_000
useQueueGuard()
useScratchDirs()

let queue: string
let server: ServerProc

beforeEach(async () => {
  queue = uniqueQueueName('cli-streams')
  trackQueue(`${queue}.urgent`)
  server = new ServerProc(spawnFixture('cli-stream-server.ts', [queue]), queue)
  await server.waitFor({ event: 'ready' }, START_MS)
})

// Registered after the guard, so it runs first: the server closes cleanly and removes its queues.
afterEach(async () => {
  await server.close()
})

/** Waits for the CLI to exit and checks that it removed its reply queue. */
async function finished(cli: Child): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const pid = cli.process.pid
  const result = await cli.finish(FIRST_CONTACT_MS)
  // Seen when the mqueue filesystem is mounted, as global setup does for root.
  if (isMqueueMounted('/dev/mqueue')) {
    expect(readdirSync('/dev/mqueue').filter((name) => name.startsWith(`mqrpc.reply.${pid}.`))).toEqual([])
  }
  return result
}

/** The server's line matching `fields`; fails with the CLI's output if the CLI exits first. */
async function serverSaw(cli: Child, fields: Readonly<Record<string, unknown>>): Promise<void> {
  const exited = cli.exited.then((exit) => {
    throw new Error(`the CLI exited (code ${exit.code}) first\nstdout:\n${cli.stdout}\nstderr:\n${cli.stderr}`)
  })
  await Promise.race([server.waitFor(fields, FIRST_CONTACT_MS), exited])
}

const jsonLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown)

describe('a client stream', () => {
  it('sends each stdin line as it is written, skips blank lines, and prints the one answer', async () => {
    const cli = startCli(['call', queue, 'sum'])
    cli.send('{"n": 1}')
    // The first element reaches the server while stdin is still open: nothing waits for the end.
    await serverSaw(cli, { event: 'consumed', n: 1 })
    cli.send('')
    cli.send('{"n": 2, "pad": {"$binary": "AQID"}}\r')
    cli.process.stdin?.end()
    const { code, stdout, stderr } = await finished(cli)
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(JSON.parse(stdout)).toEqual({ count: 2, total: 3, bytes: 3 })
    expect(stdout).toContain('\n  "count": 2,') // printed like a unary result
    expect(await server.waitFor({ event: 'ended', tag: 'sum' })).toMatchObject({ aborted: false })
  })

  it("with '-' and --json prints the answer as one line; empty stdin sends no element", async () => {
    const cli = startCli(['call', queue, 'sum', '-', '--json'])
    cli.process.stdin?.end()
    const { code, stdout } = await finished(cli)
    expect(code).toBe(0)
    expect(stdout).toBe('{"count":0,"total":0,"bytes":0}\n')
  })

  it('stops at a line that is not JSON, naming its number, and cancels the call (exit 1)', async () => {
    const cli = startCli(['call', queue, 'sum'])
    cli.send('{"n": 1}')
    cli.send('{"n": 2}')
    cli.send('{"n": 3')
    cli.send('{"n": 4}')
    const { code, stdout, stderr } = await finished(cli)
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr).toContain('mqrpc call: line 3 of stdin is not JSON (')
    expect(stderr).toContain('give one JSON value per line')
    expect(stderr).toContain('the 2 elements before it were sent and the call was cancelled')
    expect(await server.waitFor({ event: 'ended', tag: 'sum' })).toMatchObject({ aborted: true })
  })

  it('stops at a line that does not match the input schema, with --json one error object', async () => {
    const cli = startCli(['call', queue, 'sum', '--json'])
    cli.send('{"n": "one"}')
    const { code, stdout } = await finished(cli)
    expect(code).toBe(1)
    const [error] = jsonLines(stdout) as [{ error: { code: string; message: string; details: Record<string, unknown> } }]
    expect(error.error.code).toBe('INVALID_ARGUMENT')
    expect(error.error.message).toContain("line 1 of stdin does not match the input schema of 'sum'")
    expect(error.error.message).toContain('nothing was sent and the call was cancelled')
    expect(error.error.details).toMatchObject({ line: 1, sent: 0, violations: [{ path: '/n' }] })
  })
})

describe('a bidi stream', () => {
  it('prints each output element as its input line is answered, until stdin ends', async () => {
    const cli = startCli(['call', queue, 'chat', '--json'])
    cli.send('{"n": 1}')
    // The answer to the first line comes while the input is still open.
    await cli.waitForLine('{"n":1,"twice":2}', FIRST_CONTACT_MS)
    cli.send('{"n": 21}')
    await cli.waitForLine('{"n":21,"twice":42}', WAIT_MS)
    cli.process.stdin?.end()
    const { code, stdout, stderr } = await finished(cli)
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(jsonLines(stdout)).toEqual([
      { n: 1, twice: 2 },
      { n: 21, twice: 42 },
    ])
    expect(await server.waitFor({ event: 'ended', tag: 'chat' })).toMatchObject({ aborted: false })
  })

  it('after a bad line, the outputs before it stay printed and the error follows (exit 1)', async () => {
    const cli = startCli(['call', queue, 'chat', '--json'])
    cli.send('{"n": 1}')
    await cli.waitForLine('{"n":1,"twice":2}', FIRST_CONTACT_MS)
    cli.send('two')
    const { code, stdout } = await finished(cli)
    expect(code).toBe(1)
    const lines = jsonLines(stdout) as Record<string, { code?: string; details?: unknown }>[]
    expect(lines[0]).toEqual({ n: 1, twice: 2 })
    expect(lines[1]?.error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { line: 2, sent: 1 } })
    expect(lines).toHaveLength(2)
  })

  it("prints the server's error after the outputs before it", async () => {
    const cli = startCli(['call', queue, 'chat'])
    cli.send('{"n": 3}')
    cli.send('{"n": -1}')
    const { code, stdout, stderr } = await finished(cli)
    expect(code).toBe(1)
    expect(JSON.parse(stdout)).toEqual({ n: 3, twice: 6 })
    expect(stderr).toContain('ERROR OUT_OF_RANGE (11): negative input -1')
  })

  it('Ctrl-C ends it cleanly (exit 0) and the server hears the cancel', async () => {
    const cli = startCli(['call', queue, 'chat', '--json'])
    cli.send('{"n": 4}')
    await cli.waitForLine('{"n":4,"twice":8}', FIRST_CONTACT_MS)
    cli.process.kill('SIGINT')
    const { code, stderr } = await finished(cli)
    expect(code, stderr).toBe(0)
    expect(await server.waitFor({ event: 'ended', tag: 'chat' })).toMatchObject({ aborted: true })
  })

  it('reads --inputs FILE instead of stdin', async () => {
    const file = join(scratchDir('cli-streams'), 'inputs.jsonl')
    writeFileSync(file, '{"n": 1}\n\n{"n": 2}\n{"n": 3}')
    const { code, stdout, stderr } = await runCli(['call', queue, 'chat', '--inputs', file, '--json'])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(jsonLines(stdout)).toEqual([1, 2, 3].map((n) => ({ n, twice: 2 * n })))

    writeFileSync(file, '{"n": 1}\n[\n')
    const bad = await runCli(['call', queue, 'sum', '--inputs', file])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain(`line 2 of --inputs ${file} is not JSON`)
  })
})

describe('the command line', () => {
  it('refuses a JSON argument for a stream, --inputs for a unary method, and a missing file (exit 2)', async () => {
    const [argument, unary, missing] = await Promise.all([
      runCli(['call', queue, 'sum', '{"n": 1}']),
      runCli(['call', queue, 'add', '--inputs', '-']),
      runCli(['call', queue, 'sum', '--inputs', '/nonexistent/inputs.jsonl']),
    ])
    expect(argument.code).toBe(2)
    expect(argument.stderr).toContain("'sum' is a client stream: its inputs are read one JSON value per line")
    expect(unary.code).toBe(2)
    expect(unary.stderr).toContain("--inputs is for client and bidi streams; 'add' takes one JSON value")
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('cannot read --inputs /nonexistent/inputs.jsonl')
  })
})
