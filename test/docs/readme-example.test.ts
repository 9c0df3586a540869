/**
 * Keeps the README true: its five-minute example (the first TypeScript
 * block that calls createServer and createClient) is cut out of README.md
 * and run as a user of the package runs it: in a project folder of its own
 * (package.json with "type": "module", as "Use it in your project" says),
 * importing 'mqrpc' and 'typebox' by name, with `tsx main.ts`. What it
 * prints must be, line by line, the output the README shows after it. Only
 * the queue names are changed, to unique ones.
 *
 * In that folder, node_modules/mqrpc is a stand-in package whose entry
 * point re-exports this checkout's sources, so that the example runs against
 * the code under test without a build (the packed package itself is
 * installed and loaded by package-install.test.ts); 'typebox' and 'tsx'
 * come from the repository's node_modules, which the folder sits under.
 *
 * The claims the README makes around the example are checked too: a wrong
 * argument does not compile, and the server answers it with
 * INVALID_ARGUMENT naming the failing path.
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
// Inside the repository (so 'typebox' and 'tsx' resolve from its node_modules) and git-ignored.
const workDir = join(repoRoot, '.vitest-tmp', `readme-${process.pid}`)
const tsxCli = join(
  repoRoot,
  'node_modules/tsx',
  (JSON.parse(readFileSync(join(repoRoot, 'node_modules/tsx/package.json'), 'utf8')) as { bin: string }).bin,
)

interface ReadmeExample {
  /** The example's source, as the README shows it. */
  readonly source: string
  /** The lines the README says it prints (the ```text block after "It prints:"). */
  readonly output: string[]
}

/** The README's first ```ts block that makes a server and a client, and the output shown after it. */
function readmeExample(): ReadmeExample {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```$/gm)]
  const example = blocks.find(
    (block) => (block[1] as string).includes('createServer(') && (block[1] as string).includes('createClient('),
  )
  if (example === undefined) throw new Error('README.md has no ```ts block that calls createServer and createClient')
  const after = readme.slice((example.index as number) + example[0].length)
  const shown = /^\s*It prints:\s*```text\n([\s\S]*?)^```$/m.exec(after)
  if (shown === null || shown.index !== 0) {
    throw new Error('README.md: the five-minute example must be followed by "It prints:" and a ```text block of its output')
  }
  return { source: example[1] as string, output: (shown[1] as string).split('\n').filter((line) => line !== '') }
}

/** The example with every queue name replaced by a tracked unique one. */
function localExample(): { source: string; output: string[]; queues: string[] } {
  const { source: original, output } = readmeExample()
  if (!original.includes("from 'mqrpc'")) throw new Error(`the README example does not import 'mqrpc':\n${original}`)
  const names = new Map<string, string>()
  const source = original.replace(/queue: '(\/[^']+)'/g, (_all, name: string) => {
    let unique = names.get(name)
    if (unique === undefined) {
      unique = uniqueQueueName(`readme${name.replace(/\//g, '-')}`)
      names.set(name, unique)
    }
    return `queue: '${unique}'`
  })
  if (names.size === 0) throw new Error(`could not find the queue names of the README example:\n${source}`)
  return { source, output, queues: [...names.values()] }
}

/** Inserts `lines` before the example's first `await client.close()`, where client and server are still open. */
function beforeClose(source: string, lines: string): string {
  const at = source.indexOf('await client.close()')
  if (at === -1) throw new Error('the README example no longer ends with `await client.close()`')
  return `${source.slice(0, at)}${lines}\n${source.slice(at)}`
}

/** A user's project folder: package.json as `npm init -y` + `npm pkg set type=module` make it, and 'mqrpc' installed. */
function makeProject(): void {
  mkdirSync(join(workDir, 'node_modules/mqrpc'), { recursive: true })
  writeFileSync(
    join(workDir, 'package.json'),
    JSON.stringify({ name: 'my-app', version: '1.0.0', main: 'index.js', type: 'module', license: 'ISC' }, null, 2),
  )
  const standIn = join(workDir, 'node_modules/mqrpc')
  writeFileSync(
    join(standIn, 'package.json'),
    JSON.stringify({ name: 'mqrpc', type: 'module', exports: { '.': { types: './index.ts', default: './index.ts' } } }),
  )
  writeFileSync(join(standIn, 'index.ts'), `export * from '${relative(standIn, join(repoRoot, 'src/index.js'))}'\n`)
}

useQueueGuard()

beforeAll(makeProject)
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

describe('README example', () => {
  it('type-checks, and a wrong argument does not', async () => {
    const good = localExample().source
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

  it('prints, line by line, what the README says it prints, and leaves no queue behind', async () => {
    const { source, output, queues } = localExample()
    for (const queue of queues) trackQueue(`${queue}.urgent`)
    // The README's claim about invalid input, checked where client and server are still open; its lines are told apart.
    const checks = [
      'try {',
      "  await client.add({ a: 1, b: '2' } as never)",
      "  console.log('CHECK invalid accepted')",
      '} catch (error) {',
      '  const { code, rawMessage } = error as { code?: unknown; rawMessage?: unknown }',
      "  console.log('CHECK invalid', code, rawMessage)",
      '}',
    ].join('\n')
    writeFileSync(join(workDir, 'main.ts'), beforeClose(source, checks))
    // `npx tsx main.ts` in the project folder.
    const child = new Child(
      'README example',
      spawn(process.execPath, [tsxCli, 'main.ts'], { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] }),
    )
    try {
      const { code, signal, stdout, stderr } = await child.finish(60_000)
      expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' })
      const lines = stdout.split('\n').filter((line) => line !== '')
      expect(output.length).toBeGreaterThan(0)
      expect(lines.filter((line) => !line.startsWith('CHECK '))).toEqual(output)
      // INVALID_ARGUMENT is code 3.
      expect(lines.filter((line) => line.startsWith('CHECK '))).toEqual([
        expect.stringMatching(/^CHECK invalid 3 .*\/b must be number/),
      ])
    } finally {
      await child.kill()
    }
    expect(queues.flatMap((q) => [q, `${q}.urgent`]).filter(queueExists)).toEqual([])
  }, 90_000)
})
