/**
 * `mqrpc breaking <old> <new>`: every change between two versions of a
 * service that would break a client built against <old> talking to a server
 * running <new>, with its path; exit 1 when there is one, so that CI can
 * guard a release the way `buf breaking` does. Each side is a schema module
 * or a live service on a queue. The rule is src/rpc/schema-compat.ts's.
 * @module
 */
import { existsSync } from 'node:fs'
import { loadServices } from '../codegen/load-schema-module.js'
import { type BreakingChange, checkCompatibility, type ServiceShape, serviceShape } from '../index.js'
import { expectPositionals, intOption, parseVerbArgs, queueArg, UsageError, verbRunner } from './args.js'
import { Exit } from './cli.js'
import { fetchDescription } from './dynamic-service.js'
import { printJson } from './output.js'

const HELP = `Usage: mqrpc breaking <old> <new> [--json] [--service name] [--timeout ms]

Lists every change from <old> to <new> that breaks a client built against
<old> when it talks to a server running <new>: a method it calls that is gone,
an input the new server refuses, an output or event payload the old client
refuses. Safe changes (a new method, a new optional input property, a new
output property, a widened bound, ...) are not listed; docs/SCHEMA-EVOLUTION.md
has the table.

Each side is either a schema module (a .ts or .js file exporting services made
by defineService, as for \`mqrpc generate\`) or a live service's queue (/name),
asked for its schemas through $describe. Services are paired by name; a
service of <old> missing from <new> is a breaking change.

Run it the other way round (\`mqrpc breaking <new> <old>\`) to check that new
clients can still talk to old servers, when clients may be upgraded first.

Options:
  --json            print one JSON value: {compatible, services: [...]}
  --service name    compare only this service
  --timeout ms      how long to wait for a live server (default 5000)
  --help            this text

Exit codes: 0 no breaking change; 1 breaking changes (or a module failed to
load); 2 bad command line; 3 no server answers on a queue.`

/** One service as one side has it. */
interface Side {
  readonly name: string
  readonly version: string | undefined
  readonly shape: ServiceShape
}

// A queue name is one leading slash and no other; a path to a module has more, or none.
const isQueueName = (arg: string) => /^\/[^/]+$/.test(arg) && !existsSync(arg)

async function load(arg: string, service: string | undefined, timeoutMs: number | undefined): Promise<Side[]> {
  if (isQueueName(arg)) {
    const description = await fetchDescription(queueArg(arg), {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(service === undefined ? {} : { service }),
    })
    return [{ name: description.name, version: description.version, shape: description }]
  }
  if (!existsSync(arg)) throw new UsageError(`'${arg}' is neither a schema module nor a queue name (/name)`)
  return (await loadServices(arg)).map((s) => ({ name: s.name, version: s.version, shape: serviceShape(s) as ServiceShape }))
}

/** What one service's comparison found, as `--json` prints it. */
interface ServiceReport {
  readonly name: string
  readonly oldVersion?: string
  readonly newVersion?: string
  readonly compatible: boolean
  readonly missing: readonly string[]
  readonly breaking: readonly { kind: string; name: string; path: string; reason: string; old: unknown; new: unknown }[]
}

function gone(side: Side): BreakingChange {
  const reason = `service '${side.name}' is not in the new version`
  return { kind: 'missing', name: side.name, path: '/', client: side.shape, server: undefined, reason }
}

function compare(before: Side, after: Side | undefined): ServiceReport {
  const result = after === undefined ? undefined : checkCompatibility(before.shape, after.shape)
  const changes = result === undefined ? [gone(before)] : result.breaking
  return {
    name: before.name,
    ...(before.version === undefined ? {} : { oldVersion: before.version }),
    ...(after?.version === undefined ? {} : { newVersion: after.version }),
    compatible: changes.length === 0,
    missing: result?.missing ?? [],
    breaking: changes.map((c) => ({ kind: c.kind, name: c.name, path: c.path, reason: c.reason, old: c.client, new: c.server })),
  }
}

const clip = (value: unknown) => {
  const text = value === undefined ? '(none)' : JSON.stringify(value)
  return text.length > 160 ? `${text.slice(0, 157)}...` : text
}

function lines(report: ServiceReport): string[] {
  const versions =
    report.oldVersion === undefined && report.newVersion === undefined
      ? ''
      : ` (${report.oldVersion ?? '?'} -> ${report.newVersion ?? '?'})`
  if (report.compatible) return [`${report.name}${versions}: no breaking changes`]
  const out = [`${report.name}${versions}: ${report.breaking.length} breaking change(s)`]
  for (const change of report.breaking) {
    out.push(`  ${change.path}: ${change.reason}`, `    old: ${clip(change.old)}`, `    new: ${clip(change.new)}`)
  }
  const [oldMajor, newMajor] = [report.oldVersion, report.newVersion].map((v) => v?.split('.')[0])
  if (oldMajor !== undefined && oldMajor === newMajor)
    out.push(`  note: version ${report.oldVersion} -> ${report.newVersion}; a breaking change needs a new major version`)
  return out
}

async function body(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(args, {
    json: { type: 'boolean', default: false },
    service: { type: 'string' },
    timeout: { type: 'string' },
  })
  expectPositionals(positionals, 2, 2, ['the old schema', 'the new schema'], '`mqrpc breaking old.ts new.ts`')
  const timeoutMs = intOption(values.timeout, 'timeout', 1)
  const [before, after] = await Promise.all(positionals.map((arg) => load(arg, values.service, timeoutMs)))
  const only = (sides: Side[]) => (values.service === undefined ? sides : sides.filter((s) => s.name === values.service))
  const olds = only(before ?? [])
  if (olds.length === 0) throw new UsageError(`no service '${values.service}' in ${positionals[0]}`)
  const news = new Map(only(after ?? []).map((side) => [side.name, side]))
  const reports = olds.map((side) => compare(side, news.get(side.name)))
  const compatible = reports.every((report) => report.compatible)
  if (values.json) printJson({ compatible, services: reports })
  else for (const line of reports.flatMap(lines)) console.log(line)
  return compatible ? Exit.OK : Exit.FAILURE
}

/** The verb's `--help` text. */
export const help = HELP

/** Runs `mqrpc breaking`. */
export const run = verbRunner('breaking', body)
