/**
 * NATS "micro" discovery (ADR-32) for one listening instance: answers
 * `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS`, each for all services, by
 * name (`$SRV.INFO.calc`) and by name and id (`$SRV.INFO.calc.<id>`), with
 * the `io.nats.micro.v1` JSON shapes, so that `nats micro ls` and friends
 * list mqrpc services beside native ones.
 *
 * An mqrpc service has no subject per method: every method is served on the
 * service's request lane, so each method is listed as an endpoint with that
 * subject and the instances' queue group.
 * @module
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node'
import type { ServiceAdvert } from '../transport.js'

/** The `io.nats.micro.v1` response types. */
export const MICRO_TYPES = {
  ping: 'io.nats.micro.v1.ping_response',
  info: 'io.nats.micro.v1.info_response',
  stats: 'io.nats.micro.v1.stats_response',
} as const

/** What every response starts with. */
export type MicroIdentity = {
  type: string
  name: string
  id: string
  version: string
  metadata: Record<string, string>
}

export type MicroEndpointInfo = {
  name: string
  subject: string
  queue_group: string
  metadata: Record<string, string>
}

export type MicroInfoResponse = MicroIdentity & { description: string; endpoints: MicroEndpointInfo[] }

export type MicroEndpointStats = {
  name: string
  subject: string
  queue_group: string
  num_requests: number
  num_errors: number
  last_error: string
  /** Nanoseconds, in total. */
  processing_time: number
  /** Nanoseconds per request. */
  average_processing_time: number
}

export type MicroStatsResponse = MicroIdentity & { started: string; endpoints: MicroEndpointStats[] }

/** What the discovery responder needs to know about the instance. */
export type DiscoveryFacts = Readonly<{
  /** The service's micro name (letters, digits, `-`, `_`). */
  name: string
  /** This instance's id (unique per instance). */
  id: string
  /** The subject every endpoint is served on. */
  subject: string
  queueGroup: string
  /** Extra metadata of the transport, merged under the advert's. */
  metadata: Readonly<Record<string, string>>
  advert: ServiceAdvert | undefined
  started: Date
}>

const MICRO_NAME = /^[A-Za-z0-9_-]+$/
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/

/** The name the service is discovered by: the advert's when it is a valid micro name, else the address's. */
export function microName(advert: ServiceAdvert | undefined, fallback: string): string {
  return advert !== undefined && MICRO_NAME.test(advert.name) ? advert.name : fallback
}

function identity(type: string, facts: DiscoveryFacts): MicroIdentity {
  const version = facts.advert?.version
  return {
    type,
    name: facts.name,
    id: facts.id,
    version: version !== undefined && SEMVER.test(version) ? version : '0.0.0',
    metadata: { ...facts.metadata, ...(facts.advert?.metadata ?? {}) },
  }
}

/** The `$SRV.PING` answer. */
export function pingResponse(facts: DiscoveryFacts): MicroIdentity {
  return identity(MICRO_TYPES.ping, facts)
}

/** The `$SRV.INFO` answer. */
export function infoResponse(facts: DiscoveryFacts): MicroInfoResponse {
  return {
    ...identity(MICRO_TYPES.info, facts),
    description: facts.advert?.description ?? '',
    endpoints: (facts.advert?.endpoints ?? []).map((name) => ({
      name,
      subject: facts.subject,
      queue_group: facts.queueGroup,
      metadata: {},
    })),
  }
}

/** The `$SRV.STATS` answer; figures are read from the advert now. */
export function statsResponse(facts: DiscoveryFacts): MicroStatsResponse {
  let figures: ReturnType<NonNullable<ServiceAdvert['stats']>> = {}
  try {
    figures = facts.advert?.stats?.() ?? {}
  } catch {
    // A failing figure source must not silence discovery.
  }
  return {
    ...identity(MICRO_TYPES.stats, facts),
    started: facts.started.toISOString(),
    endpoints: (facts.advert?.endpoints ?? []).map((name) => {
      const figure = figures[name]
      const requests = figure?.requests ?? 0
      const nanos = Math.round((figure?.processingTimeMs ?? 0) * 1e6)
      return {
        name,
        subject: facts.subject,
        queue_group: facts.queueGroup,
        num_requests: requests,
        num_errors: figure?.errors ?? 0,
        last_error: '',
        processing_time: nanos,
        average_processing_time: requests === 0 ? 0 : Math.round(nanos / requests),
      }
    }),
  }
}

/** The nine subjects one instance answers on. */
export function discoverySubjects(name: string, id: string): string[] {
  const subjects: string[] = []
  for (const verb of ['PING', 'INFO', 'STATS'])
    subjects.push(`$SRV.${verb}`, `$SRV.${verb}.${name}`, `$SRV.${verb}.${name}.${id}`)
  return subjects
}

/** A running responder. */
export interface Discovery {
  /** The subscriptions, to be checked after a flush. */
  readonly subscriptions: readonly Subscription[]
  /** Stops answering. */
  close(): void
}

/** Answers discovery requests for one instance on `nc` until closed. */
export function serveDiscovery(nc: NatsConnection, facts: DiscoveryFacts, onError: (error: Error) => void): Discovery {
  const answer = (verb: string, msg: Msg) => {
    if (msg.reply === undefined || msg.reply === '') return
    const body = verb === 'PING' ? pingResponse(facts) : verb === 'INFO' ? infoResponse(facts) : statsResponse(facts)
    try {
      msg.respond(JSON.stringify(body))
    } catch (error) {
      onError(error as Error)
    }
  }
  const subscriptions = discoverySubjects(facts.name, facts.id).map((subject) => {
    const verb = subject.split('.')[1] as string
    return nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error !== null) onError(error)
        else answer(verb, msg)
      },
    })
  })
  return {
    subscriptions,
    close() {
      for (const subscription of subscriptions) subscription.unsubscribe()
    },
  }
}
