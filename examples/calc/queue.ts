/**
 * Which queue the calc programs use: the first argument, else the
 * MQRPC_CALC_QUEUE environment variable, else '/mqrpc-calc-example'.
 * @module
 */

/** The default request queue of the calc example. */
export const DEFAULT_CALC_QUEUE = '/mqrpc-calc-example'

/** The queue named by `argv` (the program's arguments) or the environment, else the default. */
export function calcQueue(argv: readonly string[] = process.argv.slice(2)): string {
  return argv[0] ?? process.env.MQRPC_CALC_QUEUE ?? DEFAULT_CALC_QUEUE
}
