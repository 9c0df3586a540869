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

async function registerTsx(): Promise<void> {
  if (tsxRegistered) return
  const { register } = await import('tsx/esm/api')
  register()
  tsxRegistered = true
}

/** The services a module exports, in order of name; throws when there are none or two share a name. */
export async function loadServices(file: string): Promise<AnyService[]> {
  const path = resolve(file)
  if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`no schema module at ${file}`)
  if (TYPESCRIPT.has(extname(path))) await registerTsx()
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
