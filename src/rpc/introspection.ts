/**
 * The built-in methods every server answers: `$describe` (the service, its
 * methods and events with their JSON Schemas) and `$stats` (live figures).
 * Their shapes are documented in docs/PROTOCOL.md section 13.
 * @module
 */

import { PROTOCOL_VERSION } from '../protocol/wire.js'
import type { Scheduler } from './scheduler.js'
import type { AnyService } from './service.js'
import type { Session } from './session.js'
import type { ServerStats } from './stats.js'

// Schemas as plain JSON: what msgpack can carry and other languages read.
function jsonSchema(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema))
}

/** The answer to `$describe`. */
export function describeService(service: AnyService, queue: string, urgentLane: string): unknown {
  const methods: Record<string, unknown> = {}
  for (const [name, method] of service.methods) {
    methods[name] = {
      input: jsonSchema(method.input.schema),
      output: method.output === undefined ? null : jsonSchema(method.output.schema),
      priority: method.priority,
      oneWay: method.oneWay,
      // Only when set: answers for other methods stay as they were.
      ...(method.spec.idempotent === true ? { idempotent: true } : {}),
      ...(method.stream === undefined ? {} : { stream: method.stream }),
      ...(method.spec.description === undefined ? {} : { description: method.spec.description }),
    }
  }
  const events: Record<string, unknown> = {}
  for (const [name, checker] of service.events) events[name] = jsonSchema(checker.schema)
  return {
    protocol: PROTOCOL_VERSION,
    name: service.name,
    // Only when the service declares one: older readers see the same answer as before.
    ...(service.version === undefined ? {} : { version: service.version }),
    fingerprint: service.fingerprint,
    queue,
    urgentLane,
    methods,
    events,
  }
}

/** The answer to `$stats`. */
export function serverFigures(
  service: AnyService,
  sessions: Iterable<Session>,
  openSessions: number,
  scheduler: Scheduler,
  stats: ServerStats,
): unknown {
  let inFlight = 0
  for (const session of sessions) inFlight += session.inFlight.size
  return {
    name: service.name,
    sessions: openSessions,
    inFlight,
    running: scheduler.active,
    waiting: scheduler.waiting,
    dropped: { ...stats.dropped },
    methods: stats.snapshot(),
  }
}
