/**
 * zeromq as a benchmark contender: the same [id, method, args] msgpack
 * requests as the socket baseline, over a DEALER (client) and a ROUTER
 * (server) on an `ipc://` endpoint, with zeromq.js v6 (its own I/O thread,
 * prebuilt binaries from the npm package).
 * @module
 */
import { Decoder, Encoder } from '@msgpack/msgpack'
import { Dealer, Router } from 'zeromq'
import type { Methods, RpcClient } from './contenders.js'

const encoder = new Encoder()
const decoder = new Decoder()

/**
 * zeromq.js allows one send in progress per socket: sends made meanwhile
 * wait here and leave in order.
 */
class SendQueue {
  private readonly waiting: (Buffer | Uint8Array)[][] = []
  private sending = false

  constructor(private readonly socket: Dealer | Router) {}

  push(frames: (Buffer | Uint8Array)[]): void {
    this.waiting.push(frames)
    if (!this.sending) void this.drain()
  }

  private async drain(): Promise<void> {
    this.sending = true
    try {
      for (let next = this.waiting.shift(); next !== undefined; next = this.waiting.shift()) await this.socket.send(next)
    } catch {
      // Closed while sending: the calls in flight are failed by close().
    } finally {
      this.sending = false
    }
  }
}

/** A ROUTER serving `methods` at `address` (ipc://path). */
export async function serve(address: string, methods: Methods): Promise<{ close(): Promise<void> }> {
  const router = new Router({ linger: 0 })
  await router.bind(address)
  const out = new SendQueue(router)
  void (async () => {
    try {
      for await (const [peer, body] of router) {
        const [id, method, args] = decoder.decode(body as Buffer) as [number, string, unknown]
        const fn = methods[method]
        const reply = fn === undefined ? [id, { message: `no method ${method}` }, null] : [id, null, fn(args)]
        out.push([peer as Buffer, encoder.encode(reply)])
      }
    } catch {
      // The socket was closed.
    }
  })()
  return {
    close: async () => {
      router.close()
    },
  }
}

/** A DEALER connected to `address`, replies matched by id. */
export async function connect(address: string): Promise<RpcClient> {
  const dealer = new Dealer({ linger: 0 })
  dealer.connect(address)
  const out = new SendQueue(dealer)
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  let nextId = 0
  void (async () => {
    try {
      for await (const [body] of dealer) {
        const [id, error, result] = decoder.decode(body as Buffer) as [number, { message: string } | null, unknown]
        const call = pending.get(id)
        if (call === undefined) continue
        pending.delete(id)
        if (error === null) call.resolve(result)
        else call.reject(new Error(error.message))
      }
    } catch {
      // The socket was closed.
    }
  })()
  return {
    call(method, args) {
      nextId = (nextId + 1) >>> 0
      const id = nextId
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject })
        out.push([encoder.encode([id, method, args])])
      })
    },
    async close() {
      dealer.close()
      for (const call of pending.values()) call.reject(new Error('socket closed'))
      pending.clear()
    },
  }
}
