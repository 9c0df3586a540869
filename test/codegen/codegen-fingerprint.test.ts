/**
 * Generated stubs talking to real servers. A `shop` server built from the
 * original schema runs in another process (test/fixtures/codegen-server.ts):
 * stubs generated from the same schema connect and call it (binary, one-way,
 * urgent, events, validation); stubs generated from a changed schema are
 * refused at the handshake with FAILED_PRECONDITION naming the method and
 * field. Then the generated handler module serving the generated client,
 * and the consumer example against the calc example's server.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type ClientOptions, Code, RpcError, type ServerOptions } from '../../src/index.js'
import { Shop } from '../fixtures/codegen-schema.js'
import { fromRoot, generateOk, scratchDir, useScratchDirs } from '../helpers/codegen.js'
import { trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { type Child, spawnFixture } from '../helpers/spawn.js'

useQueueGuard()
useScratchDirs()

/** Reply queues of `pid` that still exist (clients name theirs /mqrpc.reply.<pid>.<hex>); needs /dev/mqueue mounted. */
function replyQueuesOf(pid: number): string[] {
  if (!existsSync('/dev/mqueue')) return []
  return readdirSync('/dev/mqueue').filter((name) => name.startsWith(`mqrpc.reply.${pid}.`))
}

const clientPids: number[] = [process.pid]
afterEach(() => {
  // Every client these tests make, here or in a child, removes its reply queue, refused or not.
  expect(clientPids.flatMap(replyQueuesOf)).toEqual([])
})

const SMALL_QUEUES = { maxMessages: 10, messageSize: 2048 } as const

// The parts of the generated modules these tests use (they are generated at run time, so not imported statically).
interface ShopClient {
  order(input: { sku: string; quantity: number | string }): Promise<{ id: string; total: number }>
  upload(input: { name: string; data: Uint8Array }): Promise<{ bytes: number; echo: Uint8Array }>
  note(input: { line: string }): Promise<void>
  halt(input: Record<string, never>): Promise<'halting'>
  once(event: 'restocked', listener: (payload: { sku: string; count: number }) => void): ShopClient
  readonly state: string
  close(): Promise<void>
}
interface ClientModule {
  connectShop(options: ClientOptions): Promise<ShopClient>
}
interface HandlersModule {
  serveShop(
    handlers: Record<string, (input: never, ctx: { peer: { uid: number } }) => unknown>,
    options: ServerOptions,
  ): Promise<{ emit(event: string, payload: unknown): void; close(): Promise<void> }>
}
interface ServiceModule {
  shopFingerprint: string
  shopService: { fingerprint: string }
}

let same: string
let changed: string

async function load<T>(dir: string, file: string): Promise<T> {
  return (await import(pathToFileURL(join(dir, 'shop', file)).href)) as T
}

beforeAll(async () => {
  same = scratchDir('same')
  changed = scratchDir('changed')
  await generateOk(['test/fixtures/codegen-schema.ts', '--out', fromRoot(same), '--import-from', './src/index.js'])
  await generateOk(['test/fixtures/codegen-schema-changed.ts', '--out', fromRoot(changed), '--import-from', './src/index.js'])
}, 180_000)

/** Starts the shop server of the original schema in a child process. */
async function startServer(): Promise<{ queue: string; child: Child }> {
  const queue = uniqueQueueName('shop')
  trackQueue(`${queue}.urgent`)
  const child = spawnFixture('codegen-server.ts', [queue])
  await child.waitForLine(`listening ${queue}`, 30_000)
  return { queue, child }
}

/** SIGTERM, then wait for the clean close (queues removed) and exit 0. */
async function stopServer(child: Child): Promise<void> {
  child.process.kill('SIGTERM')
  await child.waitForLine('closed', 30_000)
  expect((await child.finish(30_000)).code).toBe(0)
}

describe('the embedded fingerprint', () => {
  it('is the fingerprint of the schema the stubs came from, and the rebuilt service has it too', async () => {
    const fromSame = await load<ServiceModule>(same, 'service.ts')
    const fromChanged = await load<ServiceModule>(changed, 'service.ts')
    expect(fromSame.shopFingerprint).toBe(Shop.fingerprint)
    expect(fromSame.shopService.fingerprint).toBe(Shop.fingerprint)
    expect(fromChanged.shopService.fingerprint).toBe(fromChanged.shopFingerprint)
    expect(fromChanged.shopFingerprint).not.toBe(Shop.fingerprint)
  })
})

describe('generated clients against a server of the original schema, in another process', () => {
  it('stubs of the same schema connect, call, and hear events', async () => {
    const { queue, child } = await startServer()
    const { connectShop } = await load<ClientModule>(same, 'client.ts')
    const shop = await connectShop({ queue, timeoutMs: 15_000 })
    try {
      expect(shop.state).toBe('open')
      expect(await shop.order({ sku: 'tea', quantity: 2 })).toEqual({ id: 'teax2', total: 5 })
      const data = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff)
      const uploaded = await shop.upload({ name: 'blob', data })
      expect(uploaded.bytes).toBe(3000)
      expect(uploaded.echo).toBeInstanceOf(Uint8Array)
      expect(Buffer.from(uploaded.echo).equals(Buffer.from(data))).toBe(true)
      await shop.note({ line: 'hello from the stubs' })
      await child.waitForLine('note hello from the stubs', 15_000)
      const restocked = new Promise((resolve) => shop.once('restocked', resolve))
      child.send('restock tea 7')
      expect(await restocked).toEqual({ sku: 'tea', count: 7 })
      expect(await shop.halt({})).toBe('halting')
      // The server still validates: the stubs' types are not the only guard.
      const invalid = await shop.order({ sku: '', quantity: 0 }).catch((error: unknown) => error)
      expect(invalid).toBeInstanceOf(RpcError)
      expect((invalid as RpcError).code).toBe(Code.INVALID_ARGUMENT)
      expect((invalid as RpcError).message).toContain('/quantity')
    } finally {
      await shop.close()
    }
    await stopServer(child)
  }, 90_000)

  it('stubs of a changed schema are refused with FAILED_PRECONDITION naming the method and field', async () => {
    const { queue, child } = await startServer()
    const { connectShop } = await load<ClientModule>(changed, 'client.ts')
    const error = await connectShop({ queue, connectTimeoutMs: 15_000, reconnect: false }).then(
      (client) => {
        void client.close()
        throw new Error('a client of the changed schema was let in')
      },
      (error: unknown) => error,
    )
    expect(error).toBeInstanceOf(RpcError)
    const refusal = error as RpcError
    expect(refusal.code).toBe(Code.FAILED_PRECONDITION)
    expect(refusal.message).toContain("client's schema for 'shop' differs from the server's")
    expect(refusal.message).toContain('regenerate the client')
    expect(refusal.message).toContain(
      'method \'order\' differs at /input/properties/quantity/type: client "string", server "integer"',
    )
    expect(refusal.message).toContain("method 'order' differs at /input/properties/quantity/minimum: client absent, server 1")
    expect((refusal.details as { differences?: string[] }).differences?.every((line) => line.startsWith("method 'order'"))).toBe(
      true,
    )
    // The server is unharmed and still serves clients of its own schema.
    const { connectShop: connectSame } = await load<ClientModule>(same, 'client.ts')
    const shop = await connectSame({ queue, timeoutMs: 15_000 })
    expect(await shop.order({ sku: 'jam', quantity: 1 })).toEqual({ id: 'jamx1', total: 2.5 })
    await shop.close()
    await stopServer(child)
  }, 90_000)
})

describe('the generated handler module', () => {
  it('serve<Service> runs the handlers for the generated client', async () => {
    const queue = uniqueQueueName('serve')
    trackQueue(`${queue}.urgent`)
    const { serveShop } = await load<HandlersModule>(same, 'handlers.ts')
    const { connectShop } = await load<ClientModule>(same, 'client.ts')
    const notes: string[] = []
    const server = await serveShop(
      {
        order: ({ sku, quantity }: { sku: string; quantity: number }) => ({ id: `${sku}/${quantity}`, total: 1 }),
        upload: ({ data }: { data: Uint8Array }) => ({ bytes: data.byteLength, echo: data.subarray(0, 1) }),
        note: ({ line }: { line: string }) => {
          notes.push(line)
        },
        halt: (_input: unknown, ctx) => (ctx.peer.uid >= 0 ? 'halting' : 'halting'),
      },
      { queue, ...SMALL_QUEUES },
    )
    const shop = await connectShop({ queue, timeoutMs: 15_000 })
    try {
      expect(await shop.order({ sku: 'a', quantity: 3 })).toEqual({ id: 'a/3', total: 1 })
      expect((await shop.upload({ name: 'x', data: new Uint8Array([9, 8]) })).echo).toEqual(new Uint8Array([9]))
      await shop.note({ line: 'one-way' })
      expect(await shop.halt({})).toBe('halting')
      expect(notes).toEqual(['one-way'])
      const restocked = new Promise((resolve) => shop.once('restocked', resolve))
      server.emit('restocked', { sku: 'a', count: 1 })
      expect(await restocked).toEqual({ sku: 'a', count: 1 })
    } finally {
      await shop.close()
      await server.close()
    }
  }, 60_000)
})

describe('the consumer example', () => {
  it('calls a calc server through the generated client, as another package would', async () => {
    const queue = uniqueQueueName('calc')
    trackQueue(`${queue}.urgent`)
    const server = spawnFixture('../../examples/calc/server.ts', [queue])
    await server.waitForLine(/^listening on /, 30_000)
    const consumer = spawnFixture('../../examples/consumer/main.ts', [queue])
    if (consumer.process.pid !== undefined) clientPids.push(consumer.process.pid)
    const output = await consumer.success(60_000)
    expect(output).toBe('add(2, 3) = 5\ndivide(1, 0) failed: [INVALID_ARGUMENT] cannot divide 1 by zero\ndone\n')
    server.process.kill('SIGTERM')
    await server.waitForLine('closed; queues removed', 30_000)
    expect((await server.finish(30_000)).code).toBe(0)
  }, 120_000)
})
