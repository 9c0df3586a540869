/**
 * The NATS transport's outbound side: a publish to a subject, checked
 * against the broker's max_payload. No back-pressure (see nats-transport.ts):
 * a publish goes into the client's outbound buffer.
 * @module
 */
import type { NatsConnection } from '@nats-io/transport-node'
import type { Outbound, OutboundSendOptions } from '../transport.js'
import { NatsTransportError, natsError } from './nats-error.js'

/** nats-server's default `max_payload`, used until the server has said its own. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024

/** Where this side writes: a subject (fixed, or a client lane's current target). */
export class NatsOutbound implements Outbound {
  readonly waitingSends = 0
  private closed = false

  constructor(
    private readonly nc: NatsConnection,
    readonly address: string,
    private readonly target: () => string,
    private readonly reply: string | undefined,
    private readonly beforeSend?: (data: Uint8Array) => void,
  ) {}

  get messageSize(): number {
    return this.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD
  }

  private publish(data: Uint8Array): void {
    if (this.closed) throw new NatsTransportError('UNAVAILABLE', `${this.address} is closed`, { subject: this.address })
    if (this.nc.isClosed()) {
      throw new NatsTransportError('UNAVAILABLE', `the NATS connection is closed; cannot send to ${this.address}`, {
        subject: this.address,
      })
    }
    const size = this.messageSize
    if (data.byteLength > size) {
      throw new NatsTransportError(
        'RESOURCE_EXHAUSTED',
        `a message of ${data.byteLength} bytes does not fit the broker's max_payload of ${size} bytes (${this.address})`,
        { subject: this.address },
      )
    }
    this.beforeSend?.(data)
    const subject = this.target()
    try {
      this.nc.publish(subject, data, this.reply === undefined ? undefined : { reply: this.reply })
    } catch (error) {
      throw natsError(`publishing to ${subject}`, error, subject)
    }
  }

  trySend(data: Uint8Array, _priority: number): boolean {
    this.publish(data)
    return true
  }

  send(data: Uint8Array, _options?: OutboundSendOptions): Promise<void> {
    try {
      this.publish(data)
      return Promise.resolve()
    } catch (error) {
      return Promise.reject(error)
    }
  }

  async close(): Promise<void> {
    this.closed = true
  }
}
