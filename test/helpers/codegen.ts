/**
 * Helpers of the generator tests: `mqrpc generate` as a real process, and
 * scratch folders inside the repository (under .vitest-tmp/, which git
 * ignores), where generated stubs can import ../src and be compiled.
 * @module
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll } from 'vitest'
import { type CliResult, runCli } from './cli.js'

/** The repository's root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** Runs `mqrpc generate ...args` from the repository's root. */
export function runGenerate(args: readonly string[]): Promise<CliResult> {
  return runCli(['generate', ...args], undefined, 60_000)
}

/** Like {@link runGenerate}, but rejects with all output unless the exit code is `expected`. */
export async function generateOk(args: readonly string[], expected = 0): Promise<CliResult> {
  const result = await runGenerate(args)
  if (result.code !== expected) {
    throw new Error(
      `mqrpc generate ${args.join(' ')} exited ${result.code}, expected ${expected}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    )
  }
  return result
}

const made: string[] = []

/** A fresh folder under .vitest-tmp/, removed after the test file. Returns its absolute path. */
export function scratchDir(tag: string): string {
  const base = join(repoRoot, '.vitest-tmp')
  mkdirSync(base, { recursive: true })
  const dir = mkdtempSync(join(base, `codegen-${tag}-`))
  made.push(dir)
  return dir
}

/** Installs an afterAll that removes the folders made by {@link scratchDir}. */
export function useScratchDirs(): void {
  afterAll(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
  })
}

/** Every file under `dir`, as paths relative to it, sorted, with their contents. */
export function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>()
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name)
      if (entry.isDirectory()) walk(path)
      else files.set(relative(dir, path), readFileSync(path, 'utf8'))
    }
  }
  walk(dir)
  return new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1)))
}

/** A path relative to the repository's root (what the CLI, run from there, takes). */
export function fromRoot(path: string): string {
  return relative(repoRoot, path)
}
