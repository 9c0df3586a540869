/**
 * The calc server, a program of its own:
 *
 *   node --import tsx examples/calc/server.ts [queue] [--nats nats://host:4222]
 *
 * The queue comes from the first argument, else MQRPC_CALC_QUEUE, else
 * '/mqrpc-calc-example'. It serves the Calc service (./service.ts, through
 * the stubs generated from it into ./generated/), pushes a
 * `tick` event to every connected client every 200 ms, and shuts down
 * cleanly (calls in flight finish, clients are told, its queues are removed)
 * on SIGINT, SIGTERM, or the urgent `stop` method.
 * @module
 */
import { Code, RpcError } from '../../src/index.js'
import { type CalcHandlers, serveCalc } from './generated/calc/handlers.js'
import { calcQueue, calcTransport } from './queue.js'

const TICK_MS = 200

async function main(): Promise<void> {
  const queue = calcQueue()
  let stopping: Promise<void> | undefined
  // Signals are handled from the start: one that arrives while the server
  // is being made waits for it (then closes it), instead of killing the
  // process between creating its queues and removing them.
  let ready = false
  let stopWhenReady: string | undefined
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping !== undefined || stopWhenReady !== undefined) {
        console.error(`second ${signal}: exiting now`)
        process.exit(1)
      }
      if (ready) void shutDown(signal)
      else stopWhenReady = signal
    })
  }

  const handlers: CalcHandlers = {
    add: ({ a, b }) => a + b,
    divide: ({ a, b }) => {
      if (b === 0) throw new RpcError(Code.INVALID_ARGUMENT, `cannot divide ${a} by zero`, { a, b })
      return a / b
    },
    checksum: ({ data }) => {
      let sum = 0
      for (const byte of data) sum += byte
      return { bytes: data.byteLength, sum }
    },
    log: ({ line }, ctx) => {
      console.log(`log from pid ${ctx.peer.pid ?? '?'} (${ctx.peer.principal}): ${line}`)
      return undefined
    },
    stop: (_input, ctx) => {
      console.log(`stop requested by pid ${ctx.peer.pid ?? '?'} through the ${ctx.urgent ? 'urgent' : 'bulk'} lane`)
      // Close after this reply is on its way: close() waits for calls in
      // flight, and this call is one of them.
      setImmediate(() => void shutDown('stop method'))
      return null
    },
  }

  // With --nats the same handlers serve over NATS: the one-line change.
  const transport = await calcTransport()
  const server = await serveCalc(handlers, { queue, ...(transport === undefined ? {} : { transport }) })
  server.on('session', (info) => console.log(`session ${info.id} opened by pid ${info.peer.pid ?? '?'} (${info.peer.principal})`))
  server.on('sessionEnd', (info, reason) => console.log(`session ${info.id} ended: ${reason.message}`))
  server.on('error', (error) => console.error(`error: ${error.message}`))

  let n = 0
  const ticker = setInterval(() => {
    if (server.sessionCount === 0) return
    n += 1
    server.broadcast('tick', { n })
  }, TICK_MS)

  function shutDown(why: string): Promise<void> {
    stopping ??= (async () => {
      console.log(`shutting down (${why})`)
      clearInterval(ticker)
      await server.close()
      await transport?.close()
      console.log('closed; queues removed')
    })().catch((error: unknown) => {
      console.error(`close failed: ${error instanceof Error ? error.message : String(error)}`)
      process.exitCode = 1
    })
    return stopping
  }

  ready = true
  console.log(`listening on ${server.queue} (urgent lane ${server.queue}.urgent), pid ${process.pid}`)
  if (stopWhenReady !== undefined) await shutDown(stopWhenReady)
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
