/**
 * `npm run prebuilds`: compiles the Node-API addon with prebuildify
 * (`--napi --strip --tag-libc`) into prebuilds/<platform>-<arch>/, the
 * binaries shipped in the package and loaded by node-gyp-build, and records
 * the digest of the sources they were made from (prebuilds/SOURCES.sha256).
 *
 * The compile runs in a scratch copy of binding.gyp and native/, so the
 * repository's own build/ (used first when present) is left as it is.
 * @module
 */
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nativeSourcesHash, STAMP_FILE } from './native-sources.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
// binding.gyp fixes NAPI_VERSION=8, so the binary runs on every Node >= 20 whichever
// headers it is compiled against; the running Node's are at hand.
const target = process.env.MQRPC_PREBUILD_TARGET ?? `node@${process.versions.node}`

const scratch = mkdtempSync(join(tmpdir(), 'mqrpc-prebuild-'))
try {
  for (const entry of ['package.json', 'binding.gyp', 'native']) cpSync(join(root, entry), join(scratch, entry), { recursive: true })
  symlinkSync(join(root, 'node_modules'), join(scratch, 'node_modules'))
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/prebuildify/bin.js'), '--napi', '--strip', '--tag-libc', '--target', target],
    { cwd: scratch, stdio: 'inherit' },
  )
  cpSync(join(scratch, 'prebuilds'), join(root, 'prebuilds'), { recursive: true })
  const digest = nativeSourcesHash(root)
  writeFileSync(join(root, STAMP_FILE), `${digest}  binding.gyp native/*\n`)
  console.log(`prebuilds/ updated (${target}); sources ${digest.slice(0, 16)}... recorded in ${STAMP_FILE}`)
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
