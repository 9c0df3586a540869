/**
 * The benchmark entry (`npm run bench`): runs each benchmark module in turn,
 * printing progress as it goes, then writes docs/BENCHMARKS.md and
 * docs/benchmarks.svg from what they measured.
 *
 *   node --import tsx bench/run.ts [name ...] [--quick] [--no-docs] [--docs] [--from-last]
 *
 * With no names, every benchmark runs. `--quick` runs each briefly (under a
 * minute in all) and writes the docs only when `--docs` asks; a full run of
 * every benchmark writes them unless `--no-docs`.
 *
 * A module default-exports `(argv) => Promise<Partial<BenchReport> | void>`
 * (argv holds `--quick` in quick mode); register it below with one line.
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type RunInfo, writeReport } from './report.js'
import type { BenchReport } from './results.js'

// A module that returns nothing (Promise<void>) only prints; one that returns figures adds them to the docs.
type BenchModule = { default: (argv: readonly string[]) => Promise<unknown> }

/** Every benchmark, in the order they run: one line each. */
const BENCHES: Record<string, () => Promise<BenchModule>> = {
  pingpong: () => import('./pingpong.js'),
  rpc: () => import('./rpc.js'),
  fairness: () => import('./fairness.js'),
  nats: () => import('./nats.js'),
  streams: () => import('./streams.js'),
  instructions: () => import('./instructions.js'),
}

const { values, positionals } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    docs: { type: 'boolean', default: false },
    'no-docs': { type: 'boolean', default: false },
    'from-last': { type: 'boolean', default: false },
  },
  allowPositionals: true,
})
// A full run's figures are kept here, so that the docs can be written again
// (`--from-last`) after a change to the report, without measuring again.
const lastRun = join(dirname(fileURLToPath(import.meta.url)), 'build', 'last-report.json')
if (values['from-last']) {
  const saved = JSON.parse(readFileSync(lastRun, 'utf8')) as { report: BenchReport } & RunInfo
  console.log(`wrote ${writeReport(saved.report, saved).join(' and ')} from ${lastRun}`)
  process.exit(0)
}
const names = positionals.length > 0 ? positionals : Object.keys(BENCHES)
for (const name of names) {
  if (BENCHES[name] === undefined) {
    console.error(`unknown bench ${name}; known: ${Object.keys(BENCHES).join(', ')}`)
    process.exit(2)
  }
}

const started = performance.now()
const report: BenchReport = {}
for (const [index, name] of names.entries()) {
  const seconds = ((performance.now() - started) / 1000).toFixed(0)
  console.log(`\n== ${name} (${index + 1}/${names.length}, ${seconds} s so far${values.quick ? ', quick' : ''}) ==`)
  const load = BENCHES[name] as () => Promise<BenchModule>
  const part = (await (await load()).default(values.quick ? ['--quick'] : [])) as Partial<BenchReport> | undefined
  if (part) Object.assign(report, part, { extra: [...(report.extra ?? []), ...(part.extra ?? [])] })
}
console.log(`\nall benchmarks done in ${((performance.now() - started) / 1000).toFixed(0)} s`)
mkdirSync(dirname(lastRun), { recursive: true })
const info: RunInfo = { quick: values.quick, at: new Date().toISOString(), load: loadavg() }
const everything = positionals.length === 0
// Only a full run of everything is kept: a quick or partial one (the test suite's) must not replace it.
if (everything && !values.quick) writeFileSync(lastRun, JSON.stringify({ report, ...info }))

const writeDocs = !values['no-docs'] && (values.docs || (everything && !values.quick))
if (writeDocs) {
  const written = writeReport(report, info)
  console.log(`wrote ${written.join(' and ')}`)
}
