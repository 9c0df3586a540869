/**
 * The client's calls between being made and being answered: which are in
 * flight (by call id), which wait for room under the server's maxInFlight,
 * and the ids. No transport here, so it is tested on its own.
 * @module
 */
import type { RpcError } from '../protocol/rpc-error.js'
import { IdTable } from '../util/id-table.js'
import type { PendingCall } from './pending-call.js'

/** Call ids are 32-bit on the wire; 0 means "no call". */
const MAX_CALL_ID = 0xffffffff

export class CallQueue {
  private readonly inFlight = new IdTable<PendingCall>()
  private readonly waiting: PendingCall[] = []
  private lastId = 0
  /** The server's maxInFlight (from WELCOME): calls past it wait here instead of being refused there. */
  maxInFlight = Number.POSITIVE_INFINITY

  /** Calls sent and not yet answered. */
  get inFlightCount(): number {
    return this.inFlight.size
  }

  /** Calls waiting to be sent. */
  get waitingCount(): number {
    return this.waiting.length
  }

  /** Whether `call` may be sent now: one-way calls take no slot. */
  hasRoomFor(call: PendingCall): boolean {
    return call.oneWay || this.inFlight.size < this.maxInFlight
  }

  /** Keeps `call` until it can be sent, after those already waiting. */
  wait(call: PendingCall): void {
    this.waiting.push(call)
  }

  /** Gives `call` a fresh id and, unless it is one-way, counts it in flight. */
  start(call: PendingCall): number {
    this.lastId = this.lastId >= MAX_CALL_ID ? 1 : this.lastId + 1
    call.id = this.lastId
    if (!call.oneWay) this.inFlight.set(call.id, call)
    return call.id
  }

  /** The call in flight with `id`, still counted. */
  get(id: number): PendingCall | undefined {
    return this.inFlight.get(id)
  }

  /** The call in flight with `id`, no longer counted: its answer came, or its send failed. */
  finish(id: number): PendingCall | undefined {
    return this.inFlight.take(id)
  }

  /**
   * Forgets a call that ended early (deadline, abort). Returns true when it
   * was in flight, so the server should be told to stop it.
   */
  abandon(call: PendingCall): boolean {
    const index = this.waiting.indexOf(call)
    if (index !== -1) this.waiting.splice(index, 1)
    return call.id !== 0 && this.inFlight.get(call.id) === call && this.inFlight.delete(call.id)
  }

  /** The oldest waiting call that still wants sending, if there is room for it now. */
  nextReady(): PendingCall | undefined {
    while (this.waiting.length > 0) {
      const call = this.waiting[0] as PendingCall
      if (call.settled) {
        this.waiting.shift()
        continue
      }
      if (!this.hasRoomFor(call)) return undefined
      return this.waiting.shift()
    }
    return undefined
  }

  /** Every waiting call, taken out, in order. */
  takeWaiting(): PendingCall[] {
    return this.waiting.splice(0)
  }

  /** Fails every call in flight with `error` (the session is gone). */
  failInFlight(error: RpcError): void {
    for (const call of this.inFlight.valueList()) call.reject(error)
    this.inFlight.clear()
  }

  /** Fails every call, in flight and waiting. */
  failAll(error: RpcError): void {
    this.failInFlight(error)
    for (const call of this.takeWaiting()) call.reject(error)
  }
}
