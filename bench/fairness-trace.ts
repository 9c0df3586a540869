/**
 * Where a polite call's time goes on the server, for bench/fairness.ts
 * (FAIR_TRACE=1): from the polite client's send to the server reading the
 * message that holds it (the payload carries its CLOCK_MONOTONIC send time,
 * which every process shares), and from that read to its handler starting.
 * Only the calls made while other sessions are open ("crowded") count.
 * @module
 */
import { MessageQueue } from '../src/index.js'

/** The polite client's payload prefix: the trace tells its calls apart by it. */
export const POLITE = 'p'.repeat(24)

/** A polite payload: POLITE and the send time, 20 digits of ns. */
export const politePayload = (): string => `${POLITE}${process.hrtime.bigint().toString().padStart(20, '0')}`

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

/**
 * Wraps every queue consumer of this process to time polite calls; returns
 * the hook the echo handler calls with each input. Prints the medians to
 * stderr ("trace {...}") at exit.
 */
export function traceServer(crowded: () => boolean): (input: string) => void {
  const proto = MessageQueue.prototype as unknown as { consume: (h: (d: Uint8Array, p: number) => void) => unknown }
  const original = proto.consume
  let readAt = -1
  const sentToRead: number[] = []
  const readToHandler: number[] = []
  proto.consume = function (this: unknown, handler) {
    return original.call(this, (data, priority) => {
      const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      const at = bytes.indexOf(POLITE)
      if (at >= 0 && crowded()) {
        readAt = performance.now()
        const sent = BigInt(bytes.subarray(at + POLITE.length, at + POLITE.length + 20).toString())
        sentToRead.push(Number(process.hrtime.bigint() - sent) / 1e6)
      }
      handler(data, priority)
    })
  }
  process.on('exit', () => {
    const figures = { sentToReadP50: median(sentToRead), readToHandlerP50: median(readToHandler), calls: sentToRead.length }
    console.error(`trace ${JSON.stringify(figures)}`)
  })
  return (input) => {
    if (readAt >= 0 && input.startsWith(POLITE) && crowded()) readToHandler.push(performance.now() - readAt)
  }
}
