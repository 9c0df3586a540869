/**
 * Loads the native addon. This is the only file that touches the binary.
 *
 * The binary is found by node-gyp-build from the package's root: a local
 * compile (`build/Release`, then `build/Debug`) first, else the prebuilt
 * Node-API binary shipped in `prebuilds/<platform>-<arch>/`.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { NativeAddon } from './native.js'

const require = createRequire(import.meta.url)

/**
 * The mqrpc package's root: the nearest folder above this file whose
 * package.json is mqrpc's. This file sits in src/transport/mq (tests, tsx)
 * or dist/src/transport/mq (the build, and an installed package).
 */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  for (let dir = here, up = 0; up < 6; dir = dirname(dir), up++) {
    const manifest = join(dir, 'package.json')
    if (!existsSync(manifest)) continue
    try {
      if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'mqrpc') return dir
    } catch {
      // Not a readable manifest: keep going up.
    }
  }
  throw new Error(`mqrpc: cannot find mqrpc's package.json above ${here}, so the native addon cannot be located`)
}

function load(): NativeAddon {
  const root = packageRoot()
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown
  try {
    return nodeGypBuild(root) as NativeAddon
  } catch (error) {
    const why = (error as Error).message.trim().replace(/\s+/g, ' ')
    throw new Error(
      `mqrpc: the native addon could not be loaded from ${root} (${why}). ` +
        'No binary in prebuilds/ fits this machine (mqrpc ships one for linux-x64 with glibc 2.34 or later) ' +
        'and none was compiled into build/. To compile it (needs python3, make and a C++ compiler): ' +
        'run `npm rebuild mqrpc` in your project (npm 11 skips the install scripts of dependencies until ' +
        '`npm install-scripts approve mqrpc`), or `npm install` in a clone of mqrpc.',
      { cause: error },
    )
  }
}

/** The native addon, loaded once. */
export const addon: NativeAddon = load()
