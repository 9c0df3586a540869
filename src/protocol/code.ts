/**
 * Status codes, numbered as gRPC numbers them, so that a code means the same
 * thing to anyone who knows gRPC, in any language.
 * @module
 */

export enum Code {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** The code's name, e.g. `codeName(Code.NOT_FOUND) === 'NOT_FOUND'`; unknown numbers read as UNKNOWN. */
export function codeName(code: number): string {
  return Code[code] ?? 'UNKNOWN'
}

/** Whether `value` is one of the defined codes. */
export function isCode(value: unknown): value is Code {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 16
}
