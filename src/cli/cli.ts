/**
 * The `mqrpc` command line: one verb per job, each in its own file
 * (verb-<name>.ts), listed in {@link VERBS} below and loaded only when it
 * runs, so that a verb pays only for what it uses: `ls` never loads TypeBox,
 * `call` never loads the code generator, and only `generate` (and
 * `breaking`) load tsx, for a `.ts` schema module.
 *
 * A verb's module exports `help` (its `--help` text) and `run` (which gets
 * the arguments after the verb and resolves to the exit code); it registers
 * nothing when imported.
 * @module
 */
import { readFileSync } from 'node:fs'

/** Exit codes that mean something to a script. */
export const Exit = {
  OK: 0,
  /** The verb ran and found a problem (a failed call, stale files, leftover queues). */
  FAILURE: 1,
  /** The command line itself is wrong. */
  USAGE: 2,
  /** The server or queue could not be reached. */
  UNAVAILABLE: 3,
} as const

/** What a verb's module exports. */
export interface VerbModule {
  /** The verb's own `--help` text. */
  readonly help: string
  run(args: readonly string[]): Promise<number>
}

/** A verb of the command line, as `mqrpc --help` lists it. */
export interface Verb {
  readonly name: string
  /** One line for `mqrpc --help`. */
  readonly summary: string
  /** Imports the verb's module (only when the verb runs or its help is asked for). */
  readonly load: () => Promise<VerbModule>
}

/** Every verb, in the order `mqrpc --help` shows them. */
export const VERBS: readonly Verb[] = [
  {
    name: 'ls',
    summary: 'list the queues on this machine (--nats URL: the services on a broker)',
    load: () => import('./verb-ls.js'),
  },
  {
    name: 'generate',
    summary: 'write typed client stubs and handler interfaces from a schema module',
    load: () => import('./verb-generate.js'),
  },
  {
    name: 'breaking',
    summary: 'list breaking changes between two versions of a schema',
    load: () => import('./verb-breaking.js'),
  },
  { name: 'describe', summary: "show a live service's methods, events and schemas", load: () => import('./verb-describe.js') },
  { name: 'call', summary: 'call a method of a live service with JSON input', load: () => import('./verb-call.js') },
  { name: 'watch', summary: 'print the events a live service pushes', load: () => import('./verb-watch.js') },
  { name: 'stats', summary: "show a live service's sessions, calls and latencies", load: () => import('./verb-stats.js') },
  { name: 'health', summary: "print a live server's health status (exit 0 SERVING)", load: () => import('./verb-health.js') },
  { name: 'doctor', summary: "check this machine's queue limits and plan for N clients", load: () => import('./verb-doctor.js') },
  { name: 'gc', summary: 'find (and with --yes remove) queues left by dead processes', load: () => import('./verb-gc.js') },
]

function version(): string {
  // src/cli (tsx) and dist/src/cli (the build) sit at different depths.
  for (const path of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: string; version: string }
      if (pkg.name === 'mqrpc') return pkg.version
    } catch {
      // Not at this depth.
    }
  }
  return 'unknown'
}

function usage(): string {
  return [
    'mqrpc: typed RPC over Linux POSIX message queues',
    '',
    "Usage: mqrpc <verb> [options]      mqrpc <verb> --help for a verb's options",
    '',
    'Verbs:',
    ...VERBS.map((verb) => `  ${verb.name.padEnd(10)} ${verb.summary}`),
    '',
    'Options:',
    '  --help, -h     this text',
    '  --version, -v  the mqrpc version',
    '',
    'Exit codes: 0 done; 1 the verb found a problem; 2 wrong command line;',
    '3 the server or queue could not be reached.',
  ].join('\n')
}

/** Runs the command line; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    console.log(usage())
    return first === undefined ? Exit.USAGE : Exit.OK
  }
  if (first === '--version' || first === '-v') {
    console.log(version())
    return Exit.OK
  }
  const verb = VERBS.find((v) => v.name === first)
  if (verb === undefined) {
    console.error(`mqrpc: unknown verb '${first}'. Run \`mqrpc --help\` for the list.`)
    return Exit.USAGE
  }
  let loaded: VerbModule
  try {
    loaded = await verb.load()
  } catch (error) {
    console.error(`mqrpc ${verb.name}: could not load the verb: ${(error as Error).message}`)
    return Exit.FAILURE
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(loaded.help)
    return Exit.OK
  }
  try {
    return await loaded.run(rest)
  } catch (error) {
    console.error(`mqrpc ${verb.name}: ${(error as Error).message}`)
    return Exit.FAILURE
  }
}
