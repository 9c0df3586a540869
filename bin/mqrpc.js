#!/usr/bin/env node
// The `mqrpc` command. Runs the CLI bundled into dist/cli/ by `npm run build`
// (esbuild, one chunk per verb, loaded only when the verb runs): loading
// TypeBox and the rest as hundreds of separate modules would cost most of a
// second on every run. The library itself is dist/src/.
import { main } from '../dist/cli/cli.js'

process.exitCode = await main(process.argv.slice(2))
