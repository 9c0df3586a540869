/**
 * Keeps the README true: its first TypeScript example (the one that calls
 * createServer and createClient) is cut out of README.md, pointed at this
 * checkout instead of the 'mqrpc' package and at a unique queue, then
 * type-checked with the project's compiler options and run as a real process.
 * The claims the README makes around it are checked too: a wrong argument
 * does not compile, and the server answers it with INVALID_ARGUMENT naming
 * the failing path.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { queueExists, trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { Child } from '../helpers/spawn.js'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
// Inside the repository (so 'typebox' resolves from its node_modules) and git-ignored.
const workDir = join(repoRoot, '.vitest-tmp', `readme-${process.pid}`)
const srcIndex = join(repoRoot, 'src/index.js')

/** The README's first ```ts block that makes a server and a client. */
function readmeExample(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string)
  const example = blocks.find((block) => block.includes('createServer(') && block.includes('createClient('))
  if (example === undefined) throw new Error('README.md has no ```ts block that calls createServer and createClient')
  return example
}

/** The example importing this checkout, with every queue name replaced by a tracked unique one. */
function localExample(fileDir: string): { source: string; queues: string[] } {
  const names = new Map<string, string>()
  let source = readmeExample().replace(/from 'mqrpc'/g, `from '${relative(fileDir, srcIndex)}'`)
  source = source.replace(/queue: '(\/[^']+)'/g, (_all, name: string) => {
    let unique = names.get(name)
    if (unique === undefined) {
      unique = uniqueQueueName(`readme${name.replace(/\//g, '-')}`)
      names.set(name, unique)
    }
    return `queue: '${unique}'`
  })
  if (source.includes("'mqrpc'") || names.size === 0) throw new Error(`could not rewrite the README example:\n${source}`)
  return { source, queues: [...names.values()] }
}

/** Inserts `lines` before the example's first `await client.close()`, where client and server are still open. */
function beforeClose(source: string, lines: string): string {
  const at = source.indexOf('await client.close()')
  if (at === -1) throw new Error('the README example no longer ends with `await client.close()`')
  return `${source.slice(0, at)}${lines}\n${source.slice(at)}`
}

useQueueGuard()

beforeAll(() => mkdirSync(workDir, { recursive: true }))
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

describe('README example', () => {
  it('type-checks, and a wrong argument does not', async () => {
    const good = localExample(workDir).source
    // A wrong argument, as the README says: `client.add({ a: 1, b: '2' })` does not compile.
    const bad = beforeClose(good, "await client.add({ a: 1, b: '2' })")
    writeFileSync(join(workDir, 'good.ts'), good)
    writeFileSync(join(workDir, 'bad.ts'), bad)
    const config = join(workDir, 'tsconfig.json')
    const base = relative(workDir, join(repoRoot, 'tsconfig.json'))
    writeFileSync(
      config,
      JSON.stringify({ extends: base, compilerOptions: { noEmit: true }, files: ['./good.ts', './bad.ts'], include: [] }),
    )
    let output = ''
    try {
      // One program (tsc takes seconds to start); it reports the errors of every file.
      await promisify(execFile)(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', config], {
        cwd: repoRoot,
      })
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error)
    }
    const errors = output.split('\n').filter((line) => /error TS\d+/.test(line))
    const goodErrors = errors.filter((line) => !line.includes('bad.ts('))
    const badErrors = errors.filter((line) => line.includes('bad.ts(')).join('\n')
    expect(goodErrors).toEqual([])
    expect(badErrors).toMatch(/bad\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/)
  }, 120_000)

  it('runs to completion, answers as the README says, and leaves no queue behind', async () => {
    const { source, queues } = localExample(workDir)
    for (const queue of queues) trackQueue(`${queue}.urgent`)
    const checks = [
      "console.log('CHECK add', JSON.stringify(await client.add({ a: 1, b: 2 })))",
      'try {',
      "  await client.add({ a: 1, b: '2' } as never)",
      "  console.log('CHECK invalid accepted')",
      '} catch (error) {',
      "  console.log('CHECK invalid', (error as RpcError).code === Code.INVALID_ARGUMENT, (error as RpcError).rawMessage)",
      '}',
    ].join('\n')
    const file = join(workDir, 'run.ts')
    writeFileSync(file, beforeClose(source, checks))
    const child = new Child(
      'README example',
      spawn(process.execPath, ['--import', 'tsx', file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] }),
    )
    try {
      const { code, stdout, stderr } = await child.finish(60_000)
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
      const lines = stdout.split('\n')
      expect(lines).toContain('CHECK add 3')
      expect(lines.find((l) => l.startsWith('CHECK invalid'))).toMatch(/^CHECK invalid true .*\/b must be number/)
    } finally {
      await child.kill()
    }
    expect(queues.flatMap((q) => [q, `${q}.urgent`]).filter(queueExists)).toEqual([])
  }, 90_000)
})
