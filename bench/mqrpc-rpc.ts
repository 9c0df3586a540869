/**
 * mqrpc as a benchmark contender: the typed echo service with default
 * options, so every call is validated on the way in and out, as users run it.
 * @module
 */
import { createClient, createServer } from '../src/index.js'
import type { Methods, RpcClient } from './contenders.js'
import { Echo, echoHandlers } from './echo-service.js'

/** Serves the echo service on the queue `address` (the methods are always the bench's own). */
export async function serve(address: string, _methods: Methods): Promise<{ close(): Promise<void> }> {
  const server = await createServer(Echo, echoHandlers, { queue: address })
  server.on('error', (error) => console.error(error.message))
  return server
}

/** A typed client: each call goes through the generated method, as an application's would. */
export async function connect(address: string): Promise<RpcClient> {
  const client = await createClient(Echo, { queue: address })
  const typed = client as unknown as Record<string, (args: unknown) => Promise<unknown>>
  return {
    call: (method, args) => (typed[method] as (args: unknown) => Promise<unknown>)(args),
    close: () => client.close(),
  }
}
