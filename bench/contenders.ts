/**
 * The RPC implementations the benchmarks compare, each behind one small
 * interface: serve a set of methods on an address, and call them from
 * another process. mqrpc and the hand-rolled socket protocol always run;
 * the others run when their package is installed (devDependencies), and are
 * skipped with a note when it is not.
 *
 * To add a contender, write a module with `serve` and `connect` (see
 * bench/zeromq-rpc.ts) and add one line to CONTENDERS.
 * @module
 */
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Methods a contender serves: each takes the decoded arguments and returns the result. */
export type Methods = Readonly<Record<string, (args: unknown) => unknown>>

/** One connection of a contender's client. */
export interface RpcClient {
  call(method: string, args: unknown): Promise<unknown>
  close(): Promise<void>
}

/** What a contender's module exports. */
export interface ContenderModule {
  serve(address: string, methods: Methods): Promise<{ close(): Promise<void> }>
  connect(address: string): Promise<RpcClient>
}

/** One contender, as the benchmarks list it. */
export interface Contender {
  /** Short name used on command lines and in peer configs. */
  readonly id: string
  /** How tables and the chart name it. */
  readonly label: string
  /** An address of its kind, made from a unique base name. */
  address(base: string): string
  /** Removes whatever a killed server may have left at `address`. */
  cleanUp(address: string): void
  /** Loads its module; throws when its package is not installed. */
  load(): Promise<ContenderModule>
}

const socketPath = (base: string) => join(tmpdir(), `${base}.sock`)
const removeFile = (path: string) => rmSync(path.replace(/^ipc:\/\//, ''), { force: true })

/** Every contender, in the order tables show them. The first is mqrpc, the second the baseline. */
export const CONTENDERS: readonly Contender[] = [
  {
    id: 'mqrpc',
    label: 'mqrpc typed call',
    address: (base) => `/${base}`,
    cleanUp: () => undefined, // bench/rpc.ts removes queues (it knows the lanes and reply queues)
    load: () => import('./mqrpc-rpc.js'),
  },
  {
    id: 'socket',
    label: 'msgpack over Unix socket (baseline)',
    address: socketPath,
    cleanUp: removeFile,
    load: () => import('./msgpack-socket.js'),
  },
  {
    id: 'zeromq',
    label: 'zeromq DEALER/ROUTER over ipc://',
    address: (base) => `ipc://${socketPath(base)}`,
    cleanUp: removeFile,
    load: () => import('./zeromq-rpc.js'),
  },
  {
    id: 'grpc',
    label: '@grpc/grpc-js over a Unix socket',
    address: socketPath,
    cleanUp: removeFile,
    load: () => import('./grpc-rpc.js'),
  },
]

/** The contender named `id`; throws on an unknown name. */
export function contender(id: string): Contender {
  const found = CONTENDERS.find((c) => c.id === id)
  if (found === undefined) throw new Error(`unknown contender ${id}; known: ${CONTENDERS.map((c) => c.id).join(', ')}`)
  return found
}

/** The contenders whose modules load here, and a note for each that does not. */
export async function availableContenders(): Promise<{ ready: Contender[]; skipped: string[] }> {
  const ready: Contender[] = []
  const skipped: string[] = []
  for (const c of CONTENDERS) {
    try {
      await c.load()
      ready.push(c)
    } catch (error) {
      skipped.push(`${c.label}: skipped, its package does not load here (${(error as Error).message.split('\n')[0]})`)
    }
  }
  return { ready, skipped }
}
