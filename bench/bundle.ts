/**
 * The benchmark's child processes run as plain JavaScript: each peer script
 * is bundled once per run with esbuild into bench/build/ (git-ignored),
 * packages left as imports. Spawning them through tsx instead cost seconds
 * of CPU per process on a loaded machine, most of a quick run.
 *
 * mqrpc itself is bundled from this checkout's sources (the peers import
 * ../src/index.js), compiled by esbuild as `npm run build` compiles them: the figures are of
 * the code as it stands, with no dependency on dist/ (which a concurrent
 * build may be rewriting) and none of tsx's per-closure helpers. Other
 * packages stay imports; the native addon is found from bench/build/ by
 * walking up to this package's root, as from dist/.
 * @module
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildSync } from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))
const built = new Map<string, string>()

/** The peer scripts the benchmarks spawn (bench/<name>.ts). */
export type PeerName = 'rpc-peer' | 'pingpong-node' | 'streams-peer'

/** The path of bench/<name>.ts bundled to JavaScript (bundled on first use). */
export function peerScript(name: PeerName): string {
  const done = built.get(name)
  if (done !== undefined) return done
  const outfile = join(here, 'build', `${name}.mjs`)
  buildSync({
    entryPoints: [join(here, `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  })
  built.set(name, outfile)
  return outfile
}
