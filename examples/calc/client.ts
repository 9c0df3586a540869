/**
 * The calc client, a program of its own, run against a running calc server:
 *
 *   node --import tsx examples/calc/client.ts [queue] [--nats nats://host:4222]
 *
 * It makes typed calls, meets an error (divide by zero), listens for the
 * server's `tick` events, sends binary data, logs one-way, and finally asks
 * the server to stop through the urgent lane. Every answer is checked: the
 * exit code is 0 only when all of them were right.
 * @module
 */
import { Code, codeName, RpcError } from '../../src/index.js'
import { type CalcClient, connectCalc } from './generated/calc/client.js'
import { calcQueue, calcTransport } from './queue.js'

const TICKS = 3

function expectEqual(what: string, actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
  }
}

/** Resolves with the first `count` tick numbers the server pushes. */
function ticks(client: CalcClient, count: number, timeoutMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const seen: number[] = []
    const timer = setTimeout(() => {
      client.off('tick', onTick)
      reject(new Error(`got ${seen.length} of ${count} tick events within ${timeoutMs} ms`))
    }, timeoutMs)
    const onTick = ({ n }: { n: number }) => {
      console.log(`event tick n=${n}`)
      seen.push(n)
      if (seen.length < count) return
      clearTimeout(timer)
      client.off('tick', onTick)
      resolve(seen)
    }
    client.on('tick', onTick)
  })
}

async function main(): Promise<void> {
  const queue = calcQueue()
  const transport = await calcTransport()
  const client = await connectCalc({ queue, timeoutMs: 10_000, ...(transport === undefined ? {} : { transport }) })
  console.log(`connected to ${queue}; reply queue ${client.replyQueue}`)
  client.on('disconnect', (reason) => console.log(`disconnected: ${reason.message}`))
  client.on('error', (error) => console.error(`error: ${error.message}`))

  try {
    // Listen first, so that no tick is missed while the calls run.
    const ticking = ticks(client, TICKS, 10_000)

    const sum = await client.add({ a: 2, b: 3 })
    console.log(`add(2, 3) = ${sum}`)
    expectEqual('add', sum, 5)

    const quotient = await client.divide({ a: 7, b: 2 })
    console.log(`divide(7, 2) = ${quotient}`)
    expectEqual('divide', quotient, 3.5)

    try {
      await client.divide({ a: 1, b: 0 })
      throw new Error('divide(1, 0) should have failed')
    } catch (error) {
      if (!(error instanceof RpcError)) throw error
      console.log(`divide(1, 0) failed: ${codeName(error.code)} (code ${error.code}): ${error.rawMessage}`)
      expectEqual('divide by zero code', error.code, Code.INVALID_ARGUMENT)
    }

    const data = new Uint8Array(64 * 1024)
    for (let i = 0; i < data.length; i++) data[i] = i & 0xff
    const checksum = await client.checksum({ data })
    console.log(`checksum(${data.byteLength} bytes) = ${JSON.stringify(checksum)}`)
    expectEqual('checksum', checksum, { bytes: data.byteLength, sum: data.reduce((s, b) => s + b, 0) })

    await client.log({ line: 'hello from the calc client' })
    console.log('log sent (one-way: no reply awaited)')

    const seen = await ticking
    console.log(`received ${seen.length} tick events: ${seen.join(', ')}`)

    const stopped = await client.stop({})
    console.log(`stop (urgent lane) answered ${JSON.stringify(stopped)}`)
    expectEqual('stop', stopped, null)
  } finally {
    await client.close()
    await transport?.close()
  }
  console.log('closed; reply queue removed')
}

main().catch((error: unknown) => {
  console.error(`failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
