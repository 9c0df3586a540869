/**
 * Loads a schema module (`.ts` through tsx's loader, so no build step; or
 * `.js`) and finds every service it exports.
 * @module
 */
import { existsSync, statSync } from 'node:fs'
import { extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { AnyService } from '../index.js'

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx'])
let tsxRegistered = false

/** Whether `value` is a service made by defineService (by shape: the module may use another copy of mqrpc). */
export function isService(value: unknown): value is AnyService {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Record<string, unknown>
  return (
    typeof candidate.name === 'string' &&
    typeof candidate.fingerprint === 'string' &&
    typeof candidate.spec === 'object' &&
    candidate.spec !== null &&
    candidate.methods instanceof Map &&
    candidate.events instanceof Map
  )
}

/**
 * Registers tsx's loader, so that `import()` of a `.ts` file works. tsx is
 * not a dependency of mqrpc (an application needs nothing of it at run
 * time): it is an optional peer, found in the project that runs the CLI.
 */
async function registerTsx(file: string): Promise<void> {
  if (tsxRegistered) return
  let api: typeof import('tsx/esm/api')
  try {
    api = await import('tsx/esm/api')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error
    throw new Error(
      `${file} is TypeScript, and loading it needs tsx, which is not installed: run \`npm install -D tsx\` in your project ` +
        '(or give the compiled .js schema module instead)',
    )
  }
  api.register()
  tsxRegistered = true
}

/** The services a module exports, in order of name; throws when there are none or two share a name. */
export async function loadServices(file: string): Promise<AnyService[]> {
  const path = resolve(file)
  if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`no schema module at ${file}`)
  if (TYPESCRIPT.has(extname(path))) await registerTsx(file)
  let namespace: Record<string, unknown>
  try {
    namespace = (await import(pathToFileURL(path).href)) as Record<string, unknown>
  } catch (error) {
    throw new Error(`could not load ${file}: ${(error as Error).message}`)
  }
  const byName = new Map<string, { service: AnyService; exportName: string }>()
  for (const [exportName, value] of Object.entries(namespace)) {
    if (!isService(value)) continue
    const seen = byName.get(value.name)
    if (seen === undefined) byName.set(value.name, { service: value, exportName })
    else if (seen.service !== value) {
      throw new Error(`${file} exports two different services named '${value.name}' (${seen.exportName} and ${exportName})`)
    }
  }
  if (byName.size === 0) {
    throw new Error(`${file} exports no service: export the value that defineService(...) returns`)
  }
  return [...byName.values()].map((entry) => entry.service).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}
