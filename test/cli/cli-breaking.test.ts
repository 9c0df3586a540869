/**
 * `mqrpc breaking` as a real process: the kitchen-sink schema against edited
 * copies of itself (safe edits exit 0; breaking ones exit 1 naming each
 * path), `--json`, a wrong command line, and a live service as one side.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { startToolbox } from '../fixtures/cli-service.js'
import { runCli, runCliJson } from '../helpers/cli.js'
import { fromRoot, repoRoot, scratchDir, useScratchDirs } from '../helpers/codegen.js'
import { trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'

// Each CLI run is a node process with tsx: seconds on a loaded machine.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 30_000 })
useScratchDirs()
useQueueGuard()

const KITCHEN_SINK = 'test/golden/kitchen-sink.schema.ts'
const original = readFileSync(join(repoRoot, KITCHEN_SINK), 'utf8')

/** A copy of the kitchen-sink schema with each [from, to] replaced once; returns its path from the root. */
function edited(tag: string, edits: readonly (readonly [string, string])[]): string {
  let text = original
  for (const [from, to] of edits) {
    expect(text, `the schema has ${from}`).toContain(from)
    text = text.replace(from, to)
  }
  // .vitest-tmp/<dir>/ is as deep as test/golden/: the copy's '../../src/index.js' still resolves.
  const path = join(scratchDir(`breaking-${tag}`), 'kitchen-sink.schema.ts')
  writeFileSync(path, text)
  return fromRoot(path)
}

const SAFE_EDITS = [
  // A new optional input property, a new output property, a new method, a new event, a version bump.
  ["'quoted-key': Type.String(", "note: Type.Optional(Type.String()),\n        'quoted-key': Type.String("],
  ['fields: Type.Integer({ minimum: 0 }),', 'fields: Type.Integer({ minimum: 0 }),\n        took: Type.Number(),'],
  ['    empty: {', '    ping: { input: Type.Null(), output: Type.Null() },\n    empty: {'],
  ['    ping: Type.Null(),', '    ping: Type.Null(),\n    stopped: Type.Object({ at: Type.Integer() }),'],
  ["  description: 'Every schema kind", "  version: '1.1.0',\n  description: 'Every schema kind"],
] as const

const BREAKING_EDITS = [
  ["  description: 'Every schema kind", "  version: '1.1.0',\n  description: 'Every schema kind"],
  // Optional to required on input; a narrowed bound; a type change; a removed output property; a removed method.
  ['reason: Type.Optional(Type.String())', 'reason: Type.String()'],
  ['maximum: 1_000_000 }),', 'maximum: 1000 }),'],
  ['ratio: Type.Number(', 'ratio: Type.String('],
  ['        ok: Type.Boolean(),\n', ''],
  ['    lookup: {', '    find: {'],
  // A new member in an output union (an event payload here) the client cannot accept.
  ['Type.Object({ ids: Type.Array(Type.Integer()) })]', 'Type.Object({ ids: Type.Array(Type.Integer()) }), Type.String()]'],
] as const

const BREAKING_PATHS = [
  '/methods/halt/input/properties/reason',
  '/methods/everything/input/properties/id',
  '/methods/everything/input/properties/ratio',
  '/methods/everything/output/properties/ok',
  '/methods/lookup',
  '/events/changed/anyOf/2',
]

function withVersion(text: string): string {
  return text.replace("  description: 'Every schema kind", "  version: '1.0.0',\n  description: 'Every schema kind")
}

describe('mqrpc breaking', () => {
  it('exits 0 for compatible edits: new optional input, new output property, new method and event', async () => {
    const next = edited('safe', SAFE_EDITS)
    const { code, stdout, stderr } = await runCli(['breaking', KITCHEN_SINK, next])
    expect(stderr).toBe('')
    expect(stdout).toBe('kitchen-sink (? -> 1.1.0): no breaking changes\n')
    expect(code).toBe(0)
  })

  it('exits 1 listing every breaking change with its path, both schemas, and the version bump it needs', async () => {
    const old = edited('old', [])
    writeFileSync(join(repoRoot, old), withVersion(original))
    const next = edited('breaking', BREAKING_EDITS)
    const { code, stdout, stderr } = await runCli(['breaking', old, next])
    expect(stderr).toBe('')
    expect(code).toBe(1)
    expect(stdout).toMatch(/^kitchen-sink \(1\.0\.0 -> 1\.1\.0\): \d+ breaking change\(s\)\n/)
    for (const path of BREAKING_PATHS) expect(stdout).toContain(`  ${path}: `)
    expect(stdout).toContain("/methods/lookup: the server has no method 'lookup'")
    expect(stdout).toContain('/methods/everything/input/properties/id: the server requires <= 1000; the client allows <= 1000000')
    expect(stdout).toContain('    old: {"description":"Integer with bounds.","maximum":1000000,"minimum":1,"type":"integer"}')
    expect(stdout).toContain("/events/changed/anyOf/2: the client's union has no string member; the server may send one")
    expect(stdout).toContain('a breaking change needs a new major version')
    // Unchanged methods are not mentioned.
    expect(stdout).not.toContain('/methods/audit')
  })

  it('prints one JSON value with --json', async () => {
    const next = edited('json', BREAKING_EDITS)
    const { code, json } = await runCliJson<{
      compatible: boolean
      services: {
        name: string
        compatible: boolean
        missing: string[]
        breaking: { path: string; old: unknown; new: unknown }[]
      }[]
    }>(['breaking', KITCHEN_SINK, next, '--json'])
    expect(code).toBe(1)
    expect(json.compatible).toBe(false)
    const [service] = json.services
    expect(service?.name).toBe('kitchen-sink')
    expect(service?.missing).toEqual(['lookup'])
    expect(service?.breaking.map((change) => change.path).sort()).toEqual(expect.arrayContaining(BREAKING_PATHS))
    const ratio = service?.breaking.find((change) => change.path === '/methods/everything/input/properties/ratio')
    expect(ratio).toMatchObject({ old: { type: 'number', multipleOf: 0.5 }, new: { type: 'string', multipleOf: 0.5 } })
  })

  it('exits 2 on a wrong command line', async () => {
    const missing = await runCli(['breaking', KITCHEN_SINK])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('missing the new schema')
    const neither = await runCli(['breaking', KITCHEN_SINK, 'no/such/file.ts'])
    expect(neither.code).toBe(2)
    expect(neither.stderr).toContain("'no/such/file.ts' is neither a schema module nor a queue name")
  })

  it('compares a schema module with a live service', async () => {
    const queue = uniqueQueueName('brk')
    trackQueue(`${queue}.urgent`)
    const toolbox = await startToolbox(queue)
    try {
      const { code, stdout, stderr } = await runCli(['breaking', 'test/fixtures/cli-service.ts', queue])
      expect(stderr).toBe('')
      expect(stdout).toBe('toolbox: no breaking changes\n')
      expect(code).toBe(0)
    } finally {
      await toolbox.server.close()
    }
  })
})
