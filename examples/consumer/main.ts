/**
 * A consumer of the calc service that never sees its schema source: it
 * imports only the client generated into examples/calc/generated/, the
 * way another package would.
 *
 *   node --import tsx examples/calc/server.ts         # a calc server, in another terminal
 *   node --import tsx examples/consumer/main.ts [queue]
 *
 * The queue comes from the first argument, else MQRPC_CALC_QUEUE, else
 * '/mqrpc-calc-example' (the calc server's default). The program adds two
 * numbers, meets the typed error of dividing by zero, and closes. It does
 * not stop the server.
 * @module
 */
import { connectCalc } from '../calc/generated/calc/client.js'

// A separate package would import the same module from wherever the stubs
// are published, e.g. `import { connectCalc } from '@acme/calc-client'`
// (see README.md); everything it needs comes through that one import.

const queue = process.argv[2] ?? process.env.MQRPC_CALC_QUEUE ?? '/mqrpc-calc-example'

const calc = await connectCalc({ queue, timeoutMs: 5000 })
try {
  const sum = await calc.add({ a: 2, b: 3 })
  console.log(`add(2, 3) = ${sum}`)
  try {
    await calc.divide({ a: 1, b: 0 })
  } catch (error) {
    console.log(`divide(1, 0) failed: ${(error as Error).message}`)
  }
} finally {
  await calc.close()
}
console.log('done')
