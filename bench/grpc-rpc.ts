/**
 * gRPC as a benchmark contender: @grpc/grpc-js (pure JavaScript HTTP/2) over
 * a Unix domain socket, one unary method per bench method, bodies in msgpack
 * (no .proto: a generic service with its own serializers), so the
 * comparison is of the transports and frameworks, not of the encodings.
 * @module
 */
import { rmSync } from 'node:fs'
import * as grpc from '@grpc/grpc-js'
import { Decoder, Encoder } from '@msgpack/msgpack'
import type { Methods, RpcClient } from './contenders.js'

const encoder = new Encoder()
const decoder = new Decoder()
const serialize = (value: unknown): Buffer => {
  const bytes = encoder.encode(value)
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
const deserialize = (bytes: Buffer): unknown => decoder.decode(bytes)
const path = (method: string) => `/bench.Echo/${method}`
// Bodies of the size benchmark go up to 1 MiB each way; gRPC's default cap is 4 MiB received.
const LIMITS = { 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024 }

/** A grpc-js server of `methods` on the Unix socket `address`. */
export function serve(address: string, methods: Methods): Promise<{ close(): Promise<void> }> {
  rmSync(address, { force: true })
  const server = new grpc.Server(LIMITS)
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {}
  const implementation: grpc.UntypedServiceImplementation = {}
  for (const [name, fn] of Object.entries(methods)) {
    definition[name] = {
      path: path(name),
      requestStream: false,
      responseStream: false,
      requestSerialize: serialize,
      requestDeserialize: deserialize,
      responseSerialize: serialize,
      responseDeserialize: deserialize,
    }
    implementation[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, fn(call.request))
  }
  server.addService(definition as grpc.ServiceDefinition, implementation)
  return new Promise((resolve, reject) => {
    server.bindAsync(`unix://${address}`, grpc.ServerCredentials.createInsecure(), (error) => {
      if (error !== null) {
        reject(error)
        return
      }
      resolve({
        close: () =>
          new Promise<void>((done) => {
            server.tryShutdown(() => {
              rmSync(address, { force: true })
              done()
            })
          }),
      })
    })
  })
}

/** A grpc-js client on the Unix socket `address`. */
export async function connect(address: string): Promise<RpcClient> {
  const client = new grpc.Client(`unix://${address}`, grpc.credentials.createInsecure(), LIMITS)
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 10_000, (error) => (error === undefined ? resolve() : reject(error))),
  )
  return {
    call: (method, args) =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(path(method), serialize, deserialize, args, (error, value) =>
          error === null ? resolve(value) : reject(error),
        )
      }),
    close: async () => client.close(),
  }
}
