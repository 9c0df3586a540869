/**
 * Generated stubs talking to real servers, across processes. A `shop`
 * server runs in another process (test/fixtures/codegen-server.ts), built
 * from the original schema or from a compatible successor: stubs generated
 * from the same schema connect and call it (binary, one-way, urgent,
 * events, validation); stubs of an older schema keep calling a server that
 * gained an optional field and a method; stubs of a schema whose one method
 * changed incompatibly are let in, told at connect time which method
 * breaks, refused FAILED_PRECONDITION on that method only, and keep using
 * the others (docs/SCHEMA-EVOLUTION.md). Then the generated handler module
 * serving the generated client, and the consumer example against the calc
 * example's server.
 */ import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type ClientOptions, Code, RpcError, type ServerOptions } from '../../src/index.js'
import { Shop } from '../fixtures/codegen-schema.js'
import { Shop as Evolved } from '../fixtures/codegen-schema-evolved.js'
import { fromRoot, generateOk, scratchDir, useScratchDirs } from '../helpers/codegen.js'
import { trackQueue, uniqueQueueName, useQueueGuard } from '../helpers/queues.js'
import { SMALL_QUEUES } from '../helpers/sizes.js'
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

// The parts of the generated modules these tests use (they are generated at run time, so not imported statically).
interface ShopClient {
  order(input: { sku: string; quantity: number | string; gift?: boolean }): Promise<{ id: string; total: number }>
  upload(input: { name: string; data: Uint8Array }): Promise<{ bytes: number; echo: Uint8Array }>
  note(input: { line: string }): Promise<void>
  halt(input: Record<string, never>): Promise<'halting'>
  stock?(input: { sku: string }): Promise<number>
  once(event: 'restocked', listener: (payload: { sku: string; count: number }) => void): ShopClient
  on(event: 'incompatible', listener: (error: RpcError) => void): ShopClient
  readonly state: string
  readonly incompatibleMethods: ReadonlyMap<string, string>
  close(): Promise<void>
}
interface ClientModule {
  connectShop(options: ClientOptions): Promise<ShopClient>
}
interface HandlersModule {
  serveShop(
    handlers: Record<string, (input: never, ctx: { peer: { principal: string } }) => unknown>,
    options: ServerOptions,
  ): Promise<{ emit(event: string, payload: unknown): void; close(): Promise<void> }>
}
interface ServiceModule {
  shopFingerprint: string
  shopService: { fingerprint: string }
}

let same: string
let changed: string
let evolved: string

async function load<T>(dir: string, file: string): Promise<T> {
  return (await import(pathToFileURL(join(dir, 'shop', file)).href)) as T
}

beforeAll(async () => {
  same = scratchDir('same')
  changed = scratchDir('changed')
  evolved = scratchDir('evolved')
  const generate = (schema: string, out: string) =>
    generateOk([`test/fixtures/${schema}`, '--out', fromRoot(out), '--import-from', './src/index.js'])
  await generate('codegen-schema.ts', same)
  await generate('codegen-schema-changed.ts', changed)
  await generate('codegen-schema-evolved.ts', evolved)
}, 240_000)

/** Starts a shop server of the original schema, or of its compatible successor, in a child process. */
async function startServer(variant: 'original' | 'evolved' = 'original'): Promise<{ queue: string; child: Child }> {
  const queue = uniqueQueueName('shop')
  trackQueue(`${queue}.urgent`)
  const child = spawnFixture('codegen-server.ts', [queue, variant])
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
    const fromEvolved = await load<ServiceModule>(evolved, 'service.ts')
    expect(fromEvolved.shopFingerprint).toBe(Evolved.fingerprint)
    expect(fromEvolved.shopFingerprint).not.toBe(Shop.fingerprint)
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

  it('stubs whose one method changed are let in, told which method breaks, and keep using the others', async () => {
    const { queue, child } = await startServer()
    const { connectShop } = await load<ClientModule>(changed, 'client.ts')
    const warnings: Error[] = []
    const onWarning = (warning: Error) => {
      if (warning.name === 'MqrpcSchemaWarning') warnings.push(warning)
    }
    process.on('warning', onWarning)
    const shop = await connectShop({ queue, timeoutMs: 15_000, reconnect: false })
    try {
      const told = new Promise<RpcError>((resolve) => shop.on('incompatible', resolve))
      expect(shop.state).toBe('open')
      // At connect time, in one message: which method, where, and both sides.
      expect([...shop.incompatibleMethods.keys()]).toEqual(['order'])
      const incompatible = await told
      expect(incompatible).toBeInstanceOf(RpcError)
      expect(incompatible.code).toBe(Code.FAILED_PRECONDITION)
      expect(incompatible.details).toEqual({ methods: ['order'] })
      expect(incompatible.message).toContain("the server's schema for 'shop'")
      expect(incompatible.message).toContain("breaks 1 of this client's methods (the others work)")
      expect(incompatible.message).toContain(
        "method 'order' is incompatible with the server: /methods/order/input/properties/quantity: type changed: the client has string, the server accepts integer",
      )
      expect(warnings.map((warning) => warning.message)).toEqual([incompatible.message])
      // The broken method fails without reaching the server's handler.
      const refused = await shop.order({ sku: 'tea', quantity: '2' }).catch((error: unknown) => error)
      expect(refused).toBeInstanceOf(RpcError)
      expect((refused as RpcError).code).toBe(Code.FAILED_PRECONDITION)
      expect((refused as RpcError).message).toContain('/methods/order/input/properties/quantity')
      expect((refused as RpcError).message).toContain('regenerate the client')
      // The others work: two-way, binary, one-way, urgent, events.
      const data = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff)
      expect((await shop.upload({ name: 'blob', data })).bytes).toBe(3000)
      await shop.note({ line: 'still here' })
      await child.waitForLine('note still here', 15_000)
      expect(await shop.halt({})).toBe('halting')
      const restocked = new Promise((resolve) => shop.once('restocked', resolve))
      child.send('restock jam 3')
      expect(await restocked).toEqual({ sku: 'jam', count: 3 })
      expect(child.lines().filter((line) => line.startsWith('order '))).toEqual([])
    } finally {
      process.off('warning', onWarning)
      await shop.close()
    }
    // The server is unharmed and still serves clients of its own schema.
    const { connectShop: connectSame } = await load<ClientModule>(same, 'client.ts')
    const current = await connectSame({ queue, timeoutMs: 15_000 })
    try {
      expect(current.incompatibleMethods.size).toBe(0)
      expect(await current.order({ sku: 'jam', quantity: 1 })).toEqual({ id: 'jamx1', total: 2.5 })
    } finally {
      await current.close()
    }
    await stopServer(child)
  }, 90_000)
})

describe('generated clients against a server that evolved compatibly, in another process', () => {
  it('an old client keeps calling a server that gained an optional input field and a method', async () => {
    const { queue, child } = await startServer('evolved')
    const { connectShop } = await load<ClientModule>(same, 'client.ts')
    const old = await connectShop({ queue, timeoutMs: 15_000 })
    const told: RpcError[] = []
    old.on('incompatible', (error) => told.push(error))
    try {
      expect(old.incompatibleMethods.size).toBe(0)
      expect(await old.order({ sku: 'tea', quantity: 2 })).toEqual({ id: 'teax2', total: 5 })
      const data = Uint8Array.from({ length: 2500 }, (_, i) => i & 0xff)
      expect(Buffer.from((await old.upload({ name: 'b', data })).echo).equals(Buffer.from(data))).toBe(true)
      await old.note({ line: 'old stubs' })
      await child.waitForLine('note old stubs', 15_000)
      expect(await old.halt({})).toBe('halting')
      const restocked = new Promise((resolve) => old.once('restocked', resolve))
      child.send('restock tea 4')
      expect(await restocked).toEqual({ sku: 'tea', count: 4 })
      expect(told).toEqual([])
    } finally {
      await old.close()
    }
    // Stubs of the new schema use what it added, beside the old client's server.
    const { connectShop: connectNew } = await load<ClientModule>(evolved, 'client.ts')
    const current = await connectNew({ queue, timeoutMs: 15_000 })
    try {
      expect(current.incompatibleMethods.size).toBe(0)
      expect(await current.order({ sku: 'tea', quantity: 1, gift: true })).toEqual({ id: 'teax1+gift', total: 2.5 })
      expect(await current.stock?.({ sku: 'jam' })).toBe(3)
    } finally {
      await current.close()
    }
    await stopServer(child)
  }, 90_000)

  it('a new client against an old server is told at connect time that its new method is missing, and uses the rest', async () => {
    const { queue, child } = await startServer('original')
    const { connectShop } = await load<ClientModule>(evolved, 'client.ts')
    const current = await connectShop({ queue, timeoutMs: 15_000 })
    try {
      expect([...current.incompatibleMethods.keys()]).toEqual(['stock'])
      expect(current.incompatibleMethods.get('stock')).toContain("the server has no method 'stock'")
      // `gift` is optional: leaving it out is what the old server understands.
      expect(await current.order({ sku: 'tea', quantity: 3 })).toEqual({ id: 'teax3', total: 7.5 })
      expect(await current.halt({})).toBe('halting')
    } finally {
      await current.close()
    }
    await stopServer(child)
  }, 90_000)

  // Regression: a method the server lacks was refused on the client with FAILED_PRECONDITION;
  // as documented, it reaches the server, which answers UNIMPLEMENTED.
  it('calling a method the old server lacks fails with UNIMPLEMENTED, as documented', async () => {
    const { queue, child } = await startServer('original')
    const { connectShop } = await load<ClientModule>(evolved, 'client.ts')
    const current = await connectShop({ queue, timeoutMs: 15_000 })
    try {
      const refused = await current.stock?.({ sku: 'tea' }).catch((error: unknown) => error)
      expect(refused).toBeInstanceOf(RpcError)
      expect((refused as RpcError).code).toBe(Code.UNIMPLEMENTED)
    } finally {
      await current.close()
      await stopServer(child)
    }
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
        halt: (_input: unknown, ctx) => (ctx.peer.principal.startsWith('unix:') ? 'halting' : 'halting'),
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
