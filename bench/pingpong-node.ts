/**
 * The Node side of bench/pingpong.ts: MessageQueue <-> MessageQueue across
 * two processes. Usage:
 *
 *   pingpong-node.ts ping ROUNDS SIZE [WARMUP] [MODE]
 *     creates two queues, spawns the echo (this file, `echo`), unlinks the
 *     names once both sides hold them (nothing is left behind even on a
 *     crash), runs WARMUP untimed then ROUNDS timed round trips of a SIZE-byte
 *     message, and prints {"rounds","seconds","median_us","p99_us"} as JSON.
 *   pingpong-node.ts echo PING PONG COUNT [MODE]
 *     opens both queues, prints "ready", and sends back COUNT messages.
 *
 * MODE `promise` (the default) uses receive() and send(), one promise per
 * message; `consume` uses consume() and trySend(), the path the RPC layer
 * takes (messages handed over as they are drained, sends without a promise),
 * with readOneAtATime(true) on both sides, as a client with one call at a
 * time has on its reply path: one message is ever in flight.
 * @module
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { MessageQueue } from '../src/index.js'

const [command, ...args] = process.argv.slice(2)

type Mode = 'promise' | 'consume'

async function echo(pingName: string, pongName: string, count: number, mode: Mode): Promise<void> {
  const ping = MessageQueue.open(pingName, { access: 'read' })
  const pong = MessageQueue.open(pongName, { access: 'write' })
  console.log('ready')
  if (mode === 'consume') {
    let echoed = 0
    ping.readOneAtATime(true)
    await new Promise<void>((resolve, reject) => {
      const stop = ping.consume((data, priority) => {
        // Room is certain in a ping-pong (one message in flight); send() copes if not.
        if (!pong.trySend(data, priority)) pong.send(Buffer.from(data), { priority }).catch(reject)
        if (++echoed === count) {
          stop()
          resolve()
        }
      })
    })
  }
  for (let i = 0; i < (mode === 'consume' ? 0 : count); i++) {
    const { data, priority } = await ping.receive()
    await pong.send(data, { priority })
  }
  await ping.close()
  await pong.close()
}

/** One round trip, with the reply's first word: by promises, or by consume() and trySend(). */
function roundTripper(ping: MessageQueue, pong: MessageQueue, mode: Mode): (message: Buffer) => Promise<Buffer> {
  if (mode === 'promise') {
    return async (message) => {
      await ping.send(message)
      return (await pong.receive()).data
    }
  }
  let waiting: ((data: Buffer) => void) | undefined
  pong.readOneAtATime(true)
  pong.consume((data) => waiting?.(Buffer.from(data.subarray(0, 4))))
  return (message) =>
    new Promise<Buffer>((resolve) => {
      waiting = resolve
      if (!ping.trySend(message)) throw new Error('ping queue full in a ping-pong')
    })
}

async function ping(rounds: number, size: number, warmup: number, mode: Mode): Promise<void> {
  const base = `/mqbench-node-${process.pid}`
  const pingName = `${base}-ping`
  const pongName = `${base}-pong`
  const ping = MessageQueue.open(pingName, { create: true, exclusive: true, access: 'write', maxMessages: 10, messageSize: size })
  const pong = MessageQueue.open(pongName, { create: true, exclusive: true, access: 'read', maxMessages: 10, messageSize: size })
  let unlinked = false
  const unlinkBoth = () => {
    if (unlinked) return
    unlinked = true
    MessageQueue.unlink(pingName)
    MessageQueue.unlink(pongName)
  }
  const child = spawn(
    process.execPath,
    // execArgv: `--import tsx` when run from source, nothing when run bundled.
    [...process.execArgv, fileURLToPath(import.meta.url), 'echo', pingName, pongName, String(warmup + rounds), mode],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  try {
    // Wait for "ready": the echo holds both queues, so the names can go now.
    let output = ''
    child.stdout.setEncoding('utf8')
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: string) => {
        output += chunk
        if (output.includes('ready\n')) {
          child.stdout.off('data', onData)
          resolve()
        }
      }
      child.stdout.on('data', onData)
      child.once('exit', (code) => reject(new Error(`echo exited (${code}) before it was ready`)))
    })
    unlinkBoth()

    const message = Buffer.alloc(size)
    const samples = new Float64Array(rounds)
    const roundTrip = roundTripper(ping, pong, mode)
    for (let i = 0; i < warmup; i++) await roundTrip(message)
    const start = process.hrtime.bigint()
    for (let i = 0; i < rounds; i++) {
      message.writeUInt32LE(i, 0)
      const t0 = process.hrtime.bigint()
      const data = await roundTrip(message)
      samples[i] = Number(process.hrtime.bigint() - t0) / 1e3
      if (data.readUInt32LE(0) !== i) throw new Error(`echo mismatch at round ${i}`)
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    if (child.exitCode === null) await once(child, 'exit')
    if (child.exitCode !== 0) throw new Error(`echo exited with ${child.exitCode}`)
    samples.sort()
    const median = samples[Math.floor(rounds / 2)] ?? 0
    const p99 = samples[Math.floor((rounds - 1) * 0.99)] ?? 0
    console.log(JSON.stringify({ rounds, seconds, median_us: median, p99_us: p99 }))
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await ping.close()
    await pong.close()
    unlinkBoth()
  }
}

async function main(): Promise<void> {
  if (command === 'echo') {
    const [pingName, pongName, count, mode] = args
    if (pingName === undefined || pongName === undefined || count === undefined) throw new Error('echo PING PONG COUNT')
    await echo(pingName, pongName, Number(count), mode === 'consume' ? 'consume' : 'promise')
  } else if (command === 'ping') {
    const [rounds, size, warmup, mode] = args
    await ping(Number(rounds ?? 20_000), Number(size ?? 64), Number(warmup ?? 2_000), mode === 'consume' ? 'consume' : 'promise')
  } else {
    throw new Error('usage: pingpong-node.ts ping ROUNDS SIZE [WARMUP] [MODE] | echo PING PONG COUNT [MODE]')
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
