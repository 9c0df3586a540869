/**
 * Loads the native addon. This is the only file that touches the binary.
 * @module
 */
import { createRequire } from 'node:module'
import type { NativeAddon } from './native.js'

const require = createRequire(import.meta.url)

// Works from src/transport/mq (tests, tsx) and dist/src/transport/mq (the build).
const candidates = [
  '../../../build/Release/mqrpc_native.node',
  '../../../../build/Release/mqrpc_native.node',
  '../../../build/Debug/mqrpc_native.node',
  '../../../../build/Debug/mqrpc_native.node',
]

function load(): NativeAddon {
  const failures: string[] = []
  for (const candidate of candidates) {
    try {
      return require(candidate) as NativeAddon
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code !== 'MODULE_NOT_FOUND') throw error
      failures.push(candidate)
    }
  }
  throw new Error(
    `mqrpc: the native addon is not built (looked for ${failures.join(', ')} beside ${import.meta.url}). ` +
      'Run `npm install` (or `npx node-gyp rebuild`) in the mqrpc package; it needs python3, make and g++.',
  )
}

/** The native addon, loaded once. */
export const addon: NativeAddon = load()
