/**
 * The package as someone else's project gets it: `npm pack` of this
 * repository installed into a fresh project (`"type": "module"`) on a PATH
 * where no compiler can run (cc, c++, g++, gcc, make and python3 are fakes
 * that fail and leave a mark), so that the install must use the prebuilt
 * binary shipped in prebuilds/. Then the package is loaded, a queue opened
 * and removed, and the `mqrpc` command run through npx.
 *
 * Also: the committed prebuilt binary was made from the current native
 * sources (prebuilds/SOURCES.sha256), so a clean clone never tests a stale one.
 */
import { spawn } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nativeSourcesHash, recordedSourcesHash, STAMP_FILE } from '../../scripts/native-sources.js'
import { isMqueueMounted } from '../../src/cli/queue-listing.js'
import { trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }

useQueueGuard()

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to its end (no shell), with a time limit. */
function run(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }, timeoutMs = 90_000) {
  return new Promise<Ran>((resolveRun, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command} ${args.join(' ')} took more than ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolveRun({ code, stdout, stderr })
    })
  })
}

const show = (what: string, ran: Ran) => `${what} exited ${ran.code}\nstdout:\n${ran.stdout}\nstderr:\n${ran.stderr}`

/** Whether `npm` can be run at all (the only reason to skip the install test). */
function npmVersion(): Promise<string | undefined> {
  return run('npm', ['--version'], { cwd: repoRoot, env: process.env }, 30_000).then(
    (ran) => (ran.code === 0 ? ran.stdout.trim() : undefined),
    () => undefined,
  )
}

const npm = await npmVersion()

/** Whether dist/src is exactly the build of src/: every module built after its source, and nothing else. */
function distIsFresh(): boolean {
  const modules = (dir: string, suffix: string): Map<string, number> => {
    const found = new Map<string, number>()
    const walk = (at: string): void => {
      if (!existsSync(at)) return
      for (const entry of readdirSync(at, { withFileTypes: true })) {
        const path = join(at, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (path.endsWith(suffix) && !path.endsWith('.d.ts'))
          found.set(relative(dir, path).slice(0, -suffix.length), statSync(path).mtimeMs)
      }
    }
    walk(dir)
    return found
  }
  const sources = modules(join(repoRoot, 'src'), '.ts')
  const built = modules(join(repoRoot, 'dist/src'), '.js')
  if (built.size !== sources.size) return false
  for (const [module, mtime] of sources) if ((built.get(module) ?? 0) < mtime) return false
  // The CLI's bundle (npm run build:cli) is made from all of them.
  const bundle = join(repoRoot, 'dist/cli/cli.js')
  return existsSync(bundle) && statSync(bundle).mtimeMs >= Math.max(...sources.values())
}
// What a compiler-less machine runs instead of a compiler: a failure, with a mark left behind.
const COMPILERS = ['cc', 'c++', 'gcc', 'g++', 'clang', 'clang++', 'make', 'python', 'python3']

describe('the committed prebuilt binary', () => {
  it(`was made from the current native sources (${STAMP_FILE})`, () => {
    expect(existsSync(join(repoRoot, 'prebuilds/linux-x64')), 'prebuilds/linux-x64 is committed').toBe(true)
    expect(readdirSync(join(repoRoot, 'prebuilds/linux-x64')).filter((f) => f.endsWith('.node'))).toEqual(['mqrpc.glibc.node'])
    expect(
      recordedSourcesHash(repoRoot),
      'native/ or binding.gyp changed since prebuilds/ was made: run `npm run prebuilds` and commit prebuilds/',
    ).toBe(nativeSourcesHash(repoRoot))
  })
})

describe.skipIf(npm === undefined)(
  `npm pack installed into a fresh project without a compiler${npm === undefined ? ' (skipped: npm cannot be run here)' : ''}`,
  () => {
    let work: string
    let project: string
    let env: NodeJS.ProcessEnv
    let marks: string
    let tarball: string
    let install: Ran

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'mqrpc-pack-'))
      // `npm pack` would run `prepare` (the build); `npm install` has just run it
      // in a clean clone, so it is run here only when dist/ is not the build of src/.
      if (!distIsFresh()) {
        const built = await run('npm', ['run', 'build'], { cwd: repoRoot, env: process.env }, 120_000)
        if (built.code !== 0) throw new Error(show('npm run build', built))
      }
      const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work, '--loglevel=warn'], {
        cwd: repoRoot,
        env: process.env,
      })
      if (packed.code !== 0) throw new Error(show('npm pack', packed))
      const tarballs = readdirSync(work).filter((f) => f.endsWith('.tgz'))
      expect(tarballs).toEqual([`mqrpc-${pkg.version}.tgz`])
      tarball = join(work, tarballs[0] as string)

      const fakes = join(work, 'no-compiler')
      marks = join(work, 'compiler-calls.log')
      mkdirSync(fakes)
      for (const name of COMPILERS) {
        const file = join(fakes, name)
        writeFileSync(
          file,
          `#!/bin/sh\necho "${name} $*" >> '${marks}'\necho "${name}: no compiler on this machine" >&2\nexit 1\n`,
        )
        chmodSync(file, 0o755)
      }
      env = { ...process.env, PATH: [fakes, process.env.PATH ?? ''].join(delimiter) }
      for (const name of ['CC', 'CXX', 'PYTHON', 'npm_config_python', 'npm_config_nodedir', 'MQRPC_PREBUILD']) delete env[name]
      // Neither `npm test`'s own settings nor vitest's may leak into the new project.
      for (const name of Object.keys(env)) {
        if (/^(npm_|VITEST|INIT_CWD$|NODE_OPTIONS$)/.test(name)) delete env[name]
      }

      project = join(work, 'app')
      mkdirSync(project)
      writeFileSync(
        join(project, 'package.json'),
        // allowScripts: npm 11 runs a dependency's install script only when the project allows it.
        `${JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module', allowScripts: { mqrpc: true } }, null, 2)}\n`,
      )
      // The dependencies come from npm's cache when they are there (the repository's own install put them
      // there). mqrpc's install script (node-gyp-build) runs, as npm before 11 always ran it (npm 11 needs
      // allowScripts): it must find the prebuilt binary and compile nothing. Loading works without it too.
      install = await run(
        'npm',
        ['install', tarball, 'typebox', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'],
        { cwd: project, env },
      )
    }, 180_000)

    afterAll(() => {
      if (work !== undefined) rmSync(work, { recursive: true, force: true })
    })

    it('installs with no compiler and no EBADENGINE warning, using the prebuilt binary', () => {
      expect(install.code, show('npm install', install)).toBe(0)
      expect(`${install.stdout}${install.stderr}`).not.toContain('EBADENGINE')
      // mqrpc's install script ran (--foreground-scripts shows it), found the prebuilt binary, compiled nothing.
      expect(install.stdout).toContain('> node-gyp-build')
      expect(existsSync(marks) ? readFileSync(marks, 'utf8') : '', 'a compiler was run').toBe('')
      const installed = join(project, 'node_modules/mqrpc')
      expect(existsSync(join(installed, 'prebuilds/linux-x64/mqrpc.glibc.node'))).toBe(true)
      expect(existsSync(join(installed, 'build')), 'nothing was compiled').toBe(false)
      // Only what the library needs at run time: no TypeScript loader, compiler or build tool.
      for (const dev of ['tsx', 'typescript', 'node-gyp', 'prebuildify', 'vitest']) {
        expect(existsSync(join(project, 'node_modules', dev)), `${dev} is installed`).toBe(false)
      }
    })

    it('ships a LICENSE, and the sources its source maps name', () => {
      const installed = join(project, 'node_modules/mqrpc')
      expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toContain('MIT License')
      const maps: string[] = []
      const walk = (dir: string): void => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name)
          if (entry.isDirectory()) walk(path)
          else if (entry.name.endsWith('.js.map')) maps.push(path)
        }
      }
      walk(join(installed, 'dist'))
      expect(maps.length).toBeGreaterThan(10)
      const missing: string[] = []
      for (const map of maps) {
        const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] }
        for (const source of sources) {
          const path = resolve(dirname(map), source)
          if (!existsSync(path)) missing.push(`${relative(installed, map)} -> ${relative(installed, path)}`)
        }
      }
      expect(missing).toEqual([])
      expect(existsSync(join(installed, 'test')), 'tests are not shipped').toBe(false)
    })

    it('loads in an ESM project: opens and removes a queue', async () => {
      const queue = uniqueQueueName('pack')
      trackQueue(queue)
      const script = [
        "import { MessageQueue, createClient, defineService } from 'mqrpc'",
        `const queue = MessageQueue.open(${JSON.stringify(queue)}, { create: true, exclusive: true, maxMessages: 2, messageSize: 64, access: 'read' })`,
        'await queue.close()',
        `MessageQueue.unlink(${JSON.stringify(queue)})`,
        "console.log('ok', typeof createClient, typeof defineService)",
      ].join('\n')
      const ran = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project, env })
      expect(ran.code, show('node -e', ran)).toBe(0)
      expect(ran.stdout.trim()).toBe('ok function function')
    })

    it('runs `npx mqrpc` (--version, ls, call); a .ts schema without tsx installed says how to add it', async () => {
      const version = await run('npx', ['--no', '--', 'mqrpc', '--version'], { cwd: project, env })
      expect(version.code, show('npx mqrpc --version', version)).toBe(0)
      expect(version.stdout.trim()).toBe(pkg.version)

      // The bundled CLI reaches the native addon and the RPC layer too.
      const [ls, call] = await Promise.all([
        run('npx', ['--no', '--', 'mqrpc', 'ls', '--json'], { cwd: project, env }),
        run('npx', ['--no', '--', 'mqrpc', 'call', '/mqrpc-pack-test-nowhere', 'add', '{}', '--json'], { cwd: project, env }),
      ])
      expect(ls.code, show('npx mqrpc ls --json', ls)).toBe(isMqueueMounted('/dev/mqueue') ? 0 : 1)
      expect(JSON.parse(ls.stdout)).toHaveProperty('queues')
      expect(call.code, show('npx mqrpc call', call)).toBe(3)
      expect(JSON.parse(call.stdout)).toMatchObject({ error: { code: 'UNAVAILABLE' } })

      writeFileSync(join(project, 'schema.ts'), 'export const nothing: number = 1\n')
      const generate = await run('npx', ['--no', '--', 'mqrpc', 'generate', 'schema.ts', '--out', 'generated'], {
        cwd: project,
        env,
      })
      expect(generate.code, show('npx mqrpc generate', generate)).toBe(1)
      expect(generate.stderr).toContain('needs tsx, which is not installed: run `npm install -D tsx`')
    })
  },
)
