/**
 * The service the RPC benchmarks call: a small echo (the 64-byte-ish round
 * trip measured in docs/BENCHMARKS.md), a CPU-bound method to load a server
 * with, and `stats`, the server process's own CPU time and RSS, so that the
 * benchmarks can charge CPU per call to each side. Every contender serves
 * the same three methods ({@link BENCH_METHODS}); mqrpc serves them typed.
 * @module
 */

import { Type } from 'typebox'
import { defineService, type Handlers } from '../src/index.js'
import type { Methods } from './contenders.js'

export const Echo = defineService('bench.echo', {
  methods: {
    echo: {
      input: Type.Object({ s: Type.String() }),
      output: Type.String(),
      description: 'Returns s.',
    },
    burn: {
      input: Type.Object({ ms: Type.Number({ minimum: 0, maximum: 100 }) }),
      output: Type.Integer(),
      description: 'Keeps the CPU busy for ms milliseconds (the handler does not yield), then returns the loop count.',
    },
    stats: {
      input: Type.Object({}),
      output: Type.Object({ cpuUs: Type.Number(), rss: Type.Number() }),
      description: "The server process's CPU time so far (user + system, microseconds) and its resident set size (bytes).",
    },
  },
})

/** A string that makes the echo request body about 64 bytes on the wire. */
export const PAYLOAD = 'x'.repeat(48)

/** A payload of about `bytes` bytes on the wire (the 64-byte one for small sizes). */
export function payloadOf(bytes: number): string {
  return bytes <= 64 ? PAYLOAD : 'x'.repeat(bytes - 16)
}

/** This process's CPU time (user + system, microseconds) and RSS (bytes). */
export function processFigures(): { cpuUs: number; rss: number } {
  const { user, system } = process.cpuUsage()
  return { cpuUs: user + system, rss: process.memoryUsage.rss() }
}

/** The echo server's handlers. */
export const echoHandlers: Handlers<typeof Echo> = {
  echo: ({ s }) => s,
  burn: ({ ms }) => {
    const until = performance.now() + ms
    let spins = 0
    while (performance.now() < until) spins++
    return spins
  },
  stats: () => processFigures(),
}

/** The same methods, untyped, for the contenders that have no schemas. */
export const BENCH_METHODS: Methods = {
  echo: (args) => (args as { s: string }).s,
  burn: (args) => echoHandlers.burn(args as { ms: number }, undefined as never),
  stats: () => processFigures(),
}
