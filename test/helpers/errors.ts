/**
 * Small assertions shared by the tests.
 * @module
 */
import { readFileSync } from 'node:fs'
import { MqError, RpcError } from '../../src/index.js'

/**
 * The MqError that `fn` throws or that its promise rejects with. Accepts
 * both, so a test can check an error's content whichever way it surfaces.
 */
export async function mqErrorOf(fn: () => unknown): Promise<MqError> {
  try {
    await fn()
  } catch (error) {
    if (error instanceof MqError) return error
    throw new Error(`expected an MqError, got ${String(error)}`, { cause: error })
  }
  throw new Error('expected an MqError, but nothing was thrown')
}

/**
 * The RpcError that `call` (a promise, or a function returning one or
 * throwing) ends with: for checking a failed call's code and message.
 */
export async function rpcErrorOf(call: Promise<unknown> | (() => unknown)): Promise<RpcError> {
  try {
    await (typeof call === 'function' ? call() : call)
  } catch (error) {
    if (error instanceof RpcError) return error
    throw new Error(`expected an RpcError, got ${String(error)}`, { cause: error })
  }
  throw new Error('expected the call to fail with an RpcError, but it succeeded')
}

/** A message carrying `seq` as a uint32 LE at offset 0, `size` bytes long. */
export function seqMessage(seq: number, size = 8): Buffer {
  const data = Buffer.alloc(size)
  data.writeUInt32LE(seq, 0)
  return data
}

/** Whether this process has CAP_SYS_RESOURCE (which lifts msg_max and msgsize_max). */
export function hasCapSysResource(): boolean {
  try {
    const status = readFileSync('/proc/self/status', 'utf8')
    const line = status.split('\n').find((l) => l.startsWith('CapEff:'))
    if (line === undefined) return false
    const CAP_SYS_RESOURCE = 24n
    return ((BigInt(`0x${line.slice('CapEff:'.length).trim()}`) >> CAP_SYS_RESOURCE) & 1n) === 1n
  } catch {
    return false
  }
}
