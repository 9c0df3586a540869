/** The NATS transport's pure parts: subjects, inbox users, pinning marks, error statuses. No broker. */
import { errors } from '@nats-io/transport-node'
import { describe, expect, it } from 'vitest'
import { NatsTransportError, natsStatusOf } from '../../src/transport/nats/nats-error.js'
import {
  inboxUser,
  pinningMark,
  readPinningMark,
  ServiceSubjects,
  serviceAddressProblem,
  subjectProblem,
} from '../../src/transport/nats/subjects.js'

describe('NATS subjects', () => {
  it('derives a service’s subjects from its address', () => {
    const s = new ServiceSubjects('mqrpc', '/calc')
    expect([s.service, s.requests, s.urgent, s.queueGroup]).toEqual(['calc', 'mqrpc.calc', 'mqrpc.calc.urgent', 'mqrpc.calc'])
    expect([s.instanceRequests('i1'), s.instanceUrgent('i1')]).toEqual(['mqrpc.calc.i1', 'mqrpc.calc.i1.urgent'])
    expect(serviceAddressProblem('calc')).toBeUndefined()
    expect(serviceAddressProblem('/calc-2_x')).toBeUndefined()
    expect(serviceAddressProblem('a.b')).toMatch(/letters/)
    expect(serviceAddressProblem('urgent')).toMatch(/reserved/)
    expect(subjectProblem('a..b', 'x')).toMatch(/empty token/)
    expect(subjectProblem('a.>', 'x')).toMatch(/wildcard/)
    expect(subjectProblem('a b', 'x')).toMatch(/white space/)
  })

  it('reads the user of an inbox prefix', () => {
    expect(inboxUser('_INBOX.alice.abc', '_INBOX')).toBe('alice')
    expect(inboxUser('_INBOX.alice.abc.def', '_INBOX')).toBe('alice')
    expect(inboxUser('_INBOX.abc', '_INBOX')).toBeUndefined()
    expect(inboxUser('_INBOXES.alice.abc', '_INBOX')).toBeUndefined()
    expect(inboxUser('r.alice.abc', 'r')).toBe('alice')
  })

  it('writes and reads pinning marks', () => {
    expect(readPinningMark(pinningMark('abc', '01'))).toEqual({ instanceId: 'abc', linkId: '01' })
    expect(readPinningMark(undefined)).toBeUndefined()
    expect(readPinningMark('_INBOX.x.y')).toBeUndefined()
    expect(readPinningMark('urgent.x')).toBeUndefined()
  })

  it('maps nats.js errors to statuses', () => {
    expect(natsStatusOf(new errors.NoRespondersError('s'))).toBe('UNAVAILABLE')
    expect(natsStatusOf(new errors.RequestError('x', { cause: new errors.NoRespondersError('s') }))).toBe('UNAVAILABLE')
    expect(natsStatusOf(new errors.RequestError('x', { cause: new errors.TimeoutError() }))).toBe('DEADLINE_EXCEEDED')
    expect(natsStatusOf(new errors.ClosedConnectionError())).toBe('UNAVAILABLE')
    expect(natsStatusOf(new errors.TimeoutError())).toBe('DEADLINE_EXCEEDED')
    expect(natsStatusOf(new errors.PermissionViolationError('no', 'subscription', 'a.b'))).toBe('PERMISSION_DENIED')
    expect(natsStatusOf(new errors.AuthorizationError('no'))).toBe('PERMISSION_DENIED')
    expect(natsStatusOf(errors.InvalidArgumentError.format('payload', 'max_payload size exceeded'))).toBe('RESOURCE_EXHAUSTED')
    expect(natsStatusOf(new NatsTransportError('NOT_FOUND', 'x'))).toBe('NOT_FOUND')
    expect(natsStatusOf(new Error('other'))).toBeUndefined()
    expect(natsStatusOf('not an error')).toBeUndefined()
  })
})
