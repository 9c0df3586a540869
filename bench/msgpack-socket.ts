/**
 * The baseline of bench/rpc.ts: the RPC protocol one would write by hand in
 * Node over a Unix domain socket. Frames are a uint32 LE length then a
 * msgpack body; a request is [id, method, args], a response [id, error, result].
 * No schemas, no validation, no sessions: the floor a Node protocol pays.
 * @module
 */
import { rmSync } from 'node:fs'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { Decoder, Encoder } from '@msgpack/msgpack'

const encoder = new Encoder()
const decoder = new Decoder()

/** One frame: a uint32 LE length, then `value` as msgpack. */
export function frame(value: unknown): Buffer {
  const body = encoder.encodeSharedRef(value)
  const out = Buffer.allocUnsafe(4 + body.byteLength)
  out.writeUInt32LE(body.byteLength, 0)
  out.set(body, 4)
  return out
}

/**
 * Writes a frame; frames written in one tick leave in one syscall (cork
 * until the next tick), as mqrpc's FrameWriter packs the frames of one tick
 * into one queue message: the usual Node idiom, so the baseline is not
 * handicapped by a syscall per frame.
 */
function send(socket: Socket, value: unknown): void {
  if (socket.writableCorked === 0) {
    socket.cork()
    process.nextTick(() => socket.uncork())
  }
  socket.write(frame(value))
}

/**
 * Calls `onFrame` with each whole frame body read from `socket`. Chunks of a
 * large frame are kept in a list and joined once the frame is complete, so a
 * 1 MiB body costs one copy, not one per 64 KiB read.
 */
export function readFrames(socket: Socket, onFrame: (body: Buffer) => void): void {
  let buffered: Buffer = Buffer.alloc(0)
  let parts: Buffer[] = []
  let partsLength = 0
  let needed = 0
  socket.on('data', (chunk: Buffer) => {
    if (needed > 0) {
      parts.push(chunk)
      partsLength += chunk.length
      if (partsLength < needed) return
      buffered = Buffer.concat(parts, partsLength)
      parts = []
      partsLength = 0
      needed = 0
    } else {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
    }
    let at = 0
    while (buffered.length - at >= 4) {
      const length = buffered.readUInt32LE(at)
      if (buffered.length - at - 4 < length) {
        needed = 4 + length
        break
      }
      onFrame(buffered.subarray(at + 4, at + 4 + length))
      at += 4 + length
    }
    buffered = buffered.subarray(at)
    if (needed > 0) {
      parts = [buffered]
      partsLength = buffered.length
      buffered = Buffer.alloc(0)
    }
  })
}

type Method = (args: unknown) => unknown

/** Serves `methods` on the socket file `path` (removed first, and on close). */
export function serveSocket(path: string, methods: Readonly<Record<string, Method>>): Promise<{ close(): Promise<void> }> {
  rmSync(path, { force: true })
  const server: Server = createServer((socket) => {
    readFrames(socket, (body) => {
      const [id, method, args] = decoder.decode(body) as [number, string, unknown]
      const fn = methods[method]
      if (fn === undefined) send(socket, [id, { code: 12, message: `no method ${method}` }, null])
      else send(socket, [id, null, fn(args)])
    })
    socket.on('error', () => socket.destroy())
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () =>
      resolve({
        close: () =>
          new Promise<void>((done) => {
            server.close(() => {
              rmSync(path, { force: true })
              done()
            })
          }),
      }),
    )
  })
}

/** A client of {@link serveSocket}: many calls in flight, replies matched by id. */
export class SocketClient {
  private nextId = 0
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()

  private constructor(private readonly socket: Socket) {
    readFrames(socket, (body) => {
      const [id, error, result] = decoder.decode(body) as [number, { message: string } | null, unknown]
      const call = this.pending.get(id)
      if (call === undefined) return
      this.pending.delete(id)
      if (error === null) call.resolve(result)
      else call.reject(new Error(error.message))
    })
    socket.on('close', () => {
      for (const call of this.pending.values()) call.reject(new Error('socket closed'))
      this.pending.clear()
    })
  }

  static connect(path: string): Promise<SocketClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path, () => resolve(new SocketClient(socket)))
      socket.once('error', reject)
    })
  }

  call(method: string, args: unknown): Promise<unknown> {
    this.nextId = (this.nextId + 1) >>> 0
    const id = this.nextId
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      send(this.socket, [id, method, args])
    })
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.end(resolve))
  }
}

/** The contender interface of bench/contenders.ts. */
export function serve(address: string, methods: Readonly<Record<string, Method>>): Promise<{ close(): Promise<void> }> {
  return serveSocket(address, methods)
}

/** The contender interface of bench/contenders.ts. */
export function connect(address: string): Promise<SocketClient> {
  return SocketClient.connect(address)
}
