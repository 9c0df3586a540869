/**
 * The calc service: the API, defined once, that the server implements and
 * the client calls.
 */
import { Type } from 'typebox'
import { Binary, defineService } from '../../src/index.js'

export const Calc = defineService('calc', {
  methods: {
    add: {
      input: Type.Object({ a: Type.Number(), b: Type.Number() }),
      output: Type.Number(),
      description: 'Adds two numbers.',
    },
    divide: {
      input: Type.Object({ a: Type.Number(), b: Type.Number() }),
      output: Type.Number(),
      description: 'Divides a by b; dividing by zero is INVALID_ARGUMENT.',
    },
    checksum: {
      input: Type.Object({ data: Binary() }),
      output: Type.Object({ bytes: Type.Integer(), sum: Type.Integer() }),
      description: 'Sums the bytes of a binary blob.',
    },
    log: {
      input: Type.Object({ line: Type.String() }),
      oneWay: true,
      description: 'Logs a line on the server; no reply.',
    },
    stop: {
      input: Type.Object({}),
      output: Type.Null(),
      priority: 'urgent',
      description: 'Stops the server, ahead of any bulk work.',
    },
  },
  events: {
    tick: Type.Object({ n: Type.Integer() }),
  },
})
