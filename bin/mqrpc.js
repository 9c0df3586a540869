#!/usr/bin/env node
// The `mqrpc` command. Runs the compiled CLI from dist/ (built by `npm install`).
import { main } from '../dist/src/cli/cli.js'

process.exitCode = await main(process.argv.slice(2))
