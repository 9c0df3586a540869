/**
 * The `mqrpc` command line: one verb per job. Each verb lives in its own
 * file and is registered here.
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

/** A verb of the command line. */
export interface Verb {
  readonly name: string
  /** One line for `mqrpc --help`. */
  readonly summary: string
  /** The verb's own `--help` text. */
  readonly help: string
  run(args: readonly string[]): Promise<number>
}

const verbs: Verb[] = []

/** Adds a verb; verbs register themselves from their own files. */
export function registerVerb(verb: Verb): void {
  verbs.push(verb)
}

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
  const lines = verbs.map((verb) => `  ${verb.name.padEnd(10)} ${verb.summary}`)
  return [
    'mqrpc: typed RPC over Linux POSIX message queues',
    '',
    "Usage: mqrpc <verb> [options]      mqrpc <verb> --help for a verb's options",
    '',
    'Verbs:',
    ...(lines.length > 0 ? lines : ['  (none yet)']),
    '',
    'Options:',
    '  --help, -h     this text',
    '  --version, -v  the mqrpc version',
  ].join('\n')
}

/** Runs the command line; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  await import('./verbs.js')
  const [first, ...rest] = argv
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    console.log(usage())
    return first === undefined ? Exit.USAGE : Exit.OK
  }
  if (first === '--version' || first === '-v') {
    console.log(version())
    return Exit.OK
  }
  const verb = verbs.find((v) => v.name === first)
  if (verb === undefined) {
    console.error(`mqrpc: unknown verb '${first}'. Run \`mqrpc --help\` for the list.`)
    return Exit.USAGE
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(verb.help)
    return Exit.OK
  }
  try {
    return await verb.run(rest)
  } catch (error) {
    console.error(`mqrpc ${verb.name}: ${(error as Error).message}`)
    return Exit.FAILURE
  }
}
