/**
 * The generated stubs as a consumer's compiler sees them: stubs of the
 * kitchen-sink schema are generated (as a real `mqrpc generate` process)
 * and compiled with the TypeScript compiler API together with two small
 * consumers, under the project's own strict tsconfig. The right one
 * compiles cleanly; in the wrong one every marked line, and only those, is
 * a compile error.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { beforeAll, describe, expect, it } from 'vitest'
import { fromRoot, generateOk, repoRoot, scratchDir, useScratchDirs } from '../helpers/codegen.js'

useScratchDirs()

const RIGHT = `import { connectKitchenSink, type KitchenSinkClient, type EverythingInput, type LookupOutput } from './kitchen-sink/client.js'
import { type KitchenSinkHandlers, type KitchenSinkServer, serveKitchenSink } from './kitchen-sink/handlers.js'

export const input: EverythingInput = {
  id: 1,
  ratio: 0.5,
  name: 'n',
  email: 'a@b.c',
  createdAt: '2024-01-01T00:00:00Z',
  active: true,
  nothing: null,
  nullable: null,
  level: 'info',
  color: 'green',
  code: 404,
  yes: true,
  tags: ['t'],
  matrix: [[1, 2], []],
  points: [{ x: 1, y: 2 }],
  pair: ['p', 2],
  counts: { a: 1 },
  nested: { a: { b: true } },
  byIndex: { '1': 'one' },
  address: { street: 'Main 1', city: 'X', geo: { lat: 1, lon: 2 } },
  shape: { kind: 'rect', width: 1, height: 2 },
  either: ['a'],
  both: { a: 'a', b: 1 },
  extra: { known: 'k', more: 2 },
  anything: { whatever: [1] },
  whatever: 7,
  photo: new Uint8Array(4),
  'quoted-key': 'q',
}

export async function consume(): Promise<number> {
  const client: KitchenSinkClient = await connectKitchenSink({ queue: '/ks', timeoutMs: 100 })
  const result = await client.everything(input, { timeoutMs: 50, priority: 'urgent' })
  const digest: Uint8Array = result.digest
  const found: LookupOutput = await client.lookup('6f1c0d5e-0000-4000-8000-000000000000')
  const halted: null = await client.halt({ reason: 'done' })
  const nothing: void = await client.audit({ line: 'x', at: 1 })
  await client.empty({})
  for await (const entry of client.tail({ from: 0 })) console.log(entry.line.length + entry.at)
  client.on('progress', (event) => console.log(event.done + event.total, event.note?.length))
  client.once('changed', (event) => console.log('id' in event ? event.id : event.ids.length))
  client.on('disconnect', (reason) => console.log(reason.code))
  client.on('incompatible', (error) => console.log(error.details))
  const broken: ReadonlyMap<string, string> = client.incompatibleMethods
  const state: string = client.state
  await client.close()
  return digest.byteLength + found.length + String(halted).length + String(nothing).length + state.length + broken.size
}

export const handlers: KitchenSinkHandlers = {
  everything: (value, ctx) => ({ ok: ctx.peer.principal !== '', fields: Object.keys(value).length, digest: new Uint8Array(32) }),
  lookup: async (id) => (id === '' ? [null] : [{ found: true, value: id }]),
  empty: () => [],
  halt: (_value, ctx) => {
    ctx.signal.throwIfAborted()
    return null
  },
  audit: ({ line }) => {
    console.log(line)
  },
  async *tail({ from }) {
    yield { line: 'first', at: from }
  },
}

export async function serve(): Promise<KitchenSinkServer> {
  const server = await serveKitchenSink(handlers, { queue: '/ks' })
  server.emit('progress', { done: 1, total: 2 })
  server.emit('ping', null)
  server.on('session', (info) => console.log(info.peer.principal, info.peer.uid))
  return server
}
`

// Each line marked WRONG must be a compile error; nothing else may be.
const WRONG = `import type { KitchenSinkClient } from './kitchen-sink/client.js'
import type { KitchenSinkHandlers, KitchenSinkServer } from './kitchen-sink/handlers.js'

export async function wrong(client: KitchenSinkClient, server: KitchenSinkServer): Promise<void> {
  await client.halt({ reason: 42 }) // WRONG: a number where the schema says string
  await client.audit({ line: 'x', at: 'now' }) // WRONG: a string where the schema says integer
  await client.audit({ at: 1 }) // WRONG: the required field is missing
  await client.lookup(5) // WRONG: a number for a string input
  const flag: string = await client.halt({}) // WRONG: the output is null, not a string
  await client.nope({}) // WRONG: no such method
  client.on('progress', (event) => event.done.toUpperCase()) // WRONG: done is a number
  client.on('nothing', () => {}) // WRONG: no such event
  server.emit('progress', { done: 'all', total: 1 }) // WRONG: a string payload field where an integer is due
  await client.everything({ photo: 'base64' }) // WRONG: binary is a Uint8Array, and fields are missing
  console.log(flag)
}

export const handlers: Pick<KitchenSinkHandlers, 'halt' | 'lookup'> = {
  halt: () => 'stopped', // WRONG: the handler must return null
  lookup: (id) => [{ found: false, value: id }], // WRONG: found is the literal true
}
`

let dir: string
let diagnostics: readonly ts.Diagnostic[]

function compile(files: readonly string[]): readonly ts.Diagnostic[] {
  const configPath = join(repoRoot, 'tsconfig.json')
  const config = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path))
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, repoRoot)
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true })
  return ts.getPreEmitDiagnostics(program)
}

function describeDiagnostic(diagnostic: ts.Diagnostic): string {
  const where =
    diagnostic.file === undefined
      ? ''
      : `${relative(repoRoot, diagnostic.file.fileName)}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}: `
  return `${where}${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`
}

function errorLines(file: string): number[] {
  const lines = diagnostics
    .filter((diagnostic) => diagnostic.file?.fileName === file)
    .map((diagnostic) => (diagnostic.file as ts.SourceFile).getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1)
  return [...new Set(lines)].sort((a, b) => a - b)
}

beforeAll(async () => {
  dir = scratchDir('types')
  await generateOk(['test/golden/kitchen-sink.schema.ts', '--out', fromRoot(dir), '--import-from', './src/index.js'])
  writeFileSync(join(dir, 'right.ts'), RIGHT)
  writeFileSync(join(dir, 'wrong.ts'), WRONG)
  const files = ['right.ts', 'wrong.ts', 'kitchen-sink/client.ts', 'kitchen-sink/handlers.ts'].map((file) => join(dir, file))
  diagnostics = compile(files)
}, 180_000)

describe('compiling a consumer against the generated stubs', () => {
  it('the generated modules themselves compile under the strict tsconfig', () => {
    const inStubs = diagnostics.filter((diagnostic) => diagnostic.file?.fileName.startsWith(join(dir, 'kitchen-sink')) ?? true)
    expect(inStubs.map(describeDiagnostic)).toEqual([])
  })

  it('right calls, handlers and events compile', () => {
    const file = join(dir, 'right.ts')
    expect(diagnostics.filter((d) => d.file?.fileName === file).map(describeDiagnostic)).toEqual([])
  })

  it('every wrong call is a compile error, on its own line', () => {
    const file = join(dir, 'wrong.ts')
    const marked = readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.includes('// WRONG') ? [i + 1] : []))
    expect(marked.length).toBe(12)
    expect(errorLines(file)).toEqual(marked)
  })

  it('names the field and the types in the error', () => {
    const file = join(dir, 'wrong.ts')
    const first = diagnostics.find(
      (diagnostic) =>
        diagnostic.file?.fileName === file &&
        (diagnostic.file as ts.SourceFile).getLineAndCharacterOfPosition(diagnostic.start ?? 0).line === 4,
    )
    expect(first && ts.flattenDiagnosticMessageText(first.messageText, '\n')).toBe(
      "Type 'number' is not assignable to type 'string'.",
    )
  })
})
