/**
 * A digest of everything the native addon is compiled from (binding.gyp and
 * native/), recorded beside the committed prebuilt binaries so that a test
 * can tell when they no longer match the sources.
 * @module
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Where the digest of the sources the prebuilds were made from is kept. */
export const STAMP_FILE = 'prebuilds/SOURCES.sha256'

/** sha256 over binding.gyp and every file of native/, by name, in order. */
export function nativeSourcesHash(root: string): string {
  const files = ['binding.gyp', ...readdirSync(join(root, 'native')).sort().map((name) => `native/${name}`)]
  const hash = createHash('sha256')
  for (const file of files) {
    hash.update(`${file}\0`)
    hash.update(readFileSync(join(root, file)))
    hash.update('\0')
  }
  return hash.digest('hex')
}

/** The digest recorded when the prebuilds were last made, or undefined. */
export function recordedSourcesHash(root: string): string | undefined {
  try {
    return readFileSync(join(root, STAMP_FILE), 'utf8').trim().split(/\s+/)[0]
  } catch {
    return undefined
  }
}
