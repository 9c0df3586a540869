/**
 * `mqrpc ls --nats URL`: the services on a NATS broker, as they answer
 * NATS micro discovery (`$SRV.PING`, ADR-32): every mqrpc server instance,
 * and any other NATS micro service, once per instance. Loaded only with
 * `--nats`, so that `mqrpc ls` on queues never loads the NATS client.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { natsStatusOf } from '../transport/nats/index.js'
import { CliFailure } from './args.js'
import { Exit } from './cli.js'
import { type NatsOptionValues, natsServer, natsTransportOf } from './nats-options.js'
import { printJson, table } from './output.js'

/** One `$SRV.PING` answer. */
export interface PingAnswer {
  readonly name: string
  readonly id: string
  readonly version: string
  readonly metadata: Readonly<Record<string, string>>
}

function readPing(value: unknown): PingAnswer | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Record<string, unknown>
  if (typeof v.name !== 'string' || typeof v.id !== 'string') return undefined
  const metadata: Record<string, string> = {}
  if (typeof v.metadata === 'object' && v.metadata !== null) {
    for (const [key, text] of Object.entries(v.metadata)) if (typeof text === 'string') metadata[key] = text
  }
  return { name: v.name, id: v.id, version: typeof v.version === 'string' ? v.version : '', metadata }
}

/** Pings `$SRV.PING` and collects the answers that arrive within `waitMs`, sorted by name and id. */
export async function pingServices(values: NatsOptionValues, waitMs: number): Promise<PingAnswer[]> {
  const transport = await natsTransportOf(values)
  if (transport === undefined) throw new Error('pingServices needs --nats')
  try {
    const nc = await transport.connection()
    const inbox = `${transport.inboxPrefix}.${randomBytes(12).toString('hex')}`
    const answers: PingAnswer[] = []
    const subscription = nc.subscribe(inbox, {
      callback: (error, msg) => {
        if (error !== null) return
        try {
          const answer = readPing(msg.json())
          if (answer !== undefined) answers.push(answer)
        } catch {
          // Not JSON: not a micro service.
        }
      },
    })
    await nc.flush()
    nc.publish('$SRV.PING', new Uint8Array(0), { reply: inbox })
    // Every instance answers once; there is no end-of-answers marker, only time.
    await sleep(waitMs)
    subscription.unsubscribe()
    return answers.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
  } catch (error) {
    if (error instanceof CliFailure) throw error
    const status = natsStatusOf(error)
    throw new CliFailure(
      (error as Error).message,
      status === 'UNAVAILABLE' || status === undefined ? Exit.UNAVAILABLE : Exit.FAILURE,
      { code: status ?? 'UNAVAILABLE' },
    )
  } finally {
    await transport.close()
  }
}

/** Prints the services on the broker; the body of `mqrpc ls --nats URL`. */
export async function listNatsServices(values: NatsOptionValues, waitMs: number, json: boolean): Promise<number> {
  const answers = await pingServices(values, waitMs)
  // Never print the credentials a URL may carry.
  const broker = natsServer(values.nats ?? '').servers
  if (json) {
    printJson({ broker, services: answers })
    return Exit.OK
  }
  if (answers.length === 0) {
    console.log(`no service answered $SRV.PING on ${broker} within ${waitMs} ms`)
    return Exit.OK
  }
  const rows = answers.map((answer) => [
    answer.name,
    answer.version || '-',
    answer.id,
    answer.metadata['mqrpc.transport'] === undefined ? 'nats micro' : 'mqrpc',
    answer.metadata.fingerprint ?? '-',
  ])
  for (const line of table(['SERVICE', 'VERSION', 'INSTANCE', 'KIND', 'FINGERPRINT'], rows)) console.log(line)
  return Exit.OK
}
