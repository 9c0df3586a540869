/**
 * Runs the `mqrpc` command line as a real child process (through
 * test/fixtures/cli-run.ts, which runs src/cli/cli-main.ts), for the
 * CLI tests. Children are reaped by the queue guard like any other.
 * @module
 */
import { type Child, spawnFixture } from './spawn.js'

/** How a CLI run ended, with all its output. */
export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Starts `mqrpc ...args` and returns the running child. */
export function startCli(args: readonly string[], env?: Record<string, string>): Child {
  return spawnFixture('cli-run.ts', args, env === undefined ? {} : { env })
}

/** Runs `mqrpc ...args` to the end. */
export async function runCli(args: readonly string[], env?: Record<string, string>, timeoutMs = 30_000): Promise<CliResult> {
  const { code, stdout, stderr } = await startCli(args, env).finish(timeoutMs)
  return { code, stdout, stderr }
}

/** Runs `mqrpc ...args --json` (the caller includes --json) and parses stdout's one JSON value. */
export async function runCliJson<T = unknown>(
  args: readonly string[],
  env?: Record<string, string>,
): Promise<CliResult & { json: T }> {
  const result = await runCli(args, env)
  let json: T
  try {
    json = JSON.parse(result.stdout) as T
  } catch {
    throw new Error(
      `mqrpc ${args.join(' ')} did not print one JSON value (exit ${result.code})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    )
  }
  return { ...result, json }
}
