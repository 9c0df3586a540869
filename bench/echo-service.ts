/**
 * The service the RPC benchmarks call: a small echo (the 64-byte-ish round
 * trip measured in docs/BENCHMARKS.md) and a CPU-bound method to load a server with.
 * @module
 */

import { defineService, type Handlers } from 'mqrpc'
import { Type } from 'typebox'

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
  },
})

/** A string that makes the echo request body about 64 bytes on the wire. */
export const PAYLOAD = 'x'.repeat(48)

/** The echo server's handlers. */
export const echoHandlers: Handlers<typeof Echo> = {
  echo: ({ s }) => s,
  burn: ({ ms }) => {
    const until = performance.now() + ms
    let spins = 0
    while (performance.now() < until) spins++
    return spins
  },
}
