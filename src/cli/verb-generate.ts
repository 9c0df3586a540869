/**
 * `mqrpc generate <schema module> --out <dir> [--check]`: writes, per
 * service, typed client stubs and a handler interface (see docs/CODEGEN.md).
 * @module
 */
import { relative } from 'node:path'
import { compare, generate, write } from '../codegen/generate.js'
import { parseVerbArgs, UsageError, verbRunner } from './args.js'
import { Exit } from './cli.js'

const HELP = `Usage: mqrpc generate <schema module> --out <dir> [--check] [--import-from <specifier>]

Loads the schema module (a .ts file needs no build step; a .js one works too),
finds every service it exports, and writes per service, into <dir>/<service>/:
  types.ts     the input, output and event types, written out as interfaces
  service.ts   the JSON Schemas and fingerprint, and the service rebuilt from them
  client.ts    <Service>Client and connect<Service>(options)
  handlers.ts  <Service>Handlers and serve<Service>(handlers, options)
The output is deterministic; only files whose content changes are rewritten,
and generated files of services no longer exported are removed.

Options:
  --out, -o <dir>             where to write (required)
  --check                     write nothing; exit 1 listing the stale, missing
                              or extra files when regenerating would change any
  --import-from <specifier>   where generated code imports mqrpc from (default
                              'mqrpc'); a path starting with . or / is taken
                              from the current directory and made relative to
                              each generated file
  --help, -h                  this text

Exit codes: 0 done (or fresh with --check), 1 stale with --check or the
schema failed to load, 2 bad command line.`

function show(path: string): string {
  return relative(process.cwd(), path) || '.'
}

async function body(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(args, {
    out: { type: 'string', short: 'o' },
    check: { type: 'boolean', default: false },
    'import-from': { type: 'string' },
  })
  if (positionals.length !== 1 || values.out === undefined) throw new UsageError('give one schema module and --out <dir>')
  const schema = positionals[0] as string
  const generated = await generate({
    schema,
    out: values.out,
    ...(values['import-from'] === undefined ? {} : { importFrom: values['import-from'] }),
  })
  const services = generated.services.join(', ')
  if (values.check) {
    const { stale, missing, extra } = compare(values.out, generated.files)
    const problems = [
      ...stale.map((path) => `  stale    ${show(path)}`),
      ...missing.map((path) => `  missing  ${show(path)}`),
      ...extra.map((path) => `  extra    ${show(path)}`),
    ]
    if (problems.length === 0) {
      console.log(`${generated.files.length} generated files of ${services} in ${show(values.out)} are up to date`)
      return Exit.OK
    }
    console.error(`mqrpc generate --check: ${problems.length} generated file(s) in ${show(values.out)} are out of date:`)
    console.error(problems.join('\n'))
    console.error(
      `Run: mqrpc generate ${schema} --out ${values.out}${values['import-from'] === undefined ? '' : ` --import-from ${values['import-from']}`}`,
    )
    return Exit.FAILURE
  }
  const { stale, missing, extra } = write(values.out, generated.files)
  for (const path of missing) console.log(`created  ${show(path)}`)
  for (const path of stale) console.log(`updated  ${show(path)}`)
  for (const path of extra) console.log(`removed  ${show(path)}`)
  const changed = stale.length + missing.length + extra.length
  console.log(
    `${services}: ${generated.files.length} files in ${show(values.out)}, ${changed === 0 ? 'all unchanged' : `${changed} changed`}`,
  )
  return Exit.OK
}

/** The verb's `--help` text. */
export const help = HELP

/** Runs `mqrpc generate`. */
export const run = verbRunner('generate', body)
