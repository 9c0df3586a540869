/**
 * Queue sizes of the tests, defined once. Plain Node, no vitest: fixtures
 * running in child processes use it too.
 * @module
 */

/**
 * Queue sizes for a test's servers and clients: every test file stays well
 * inside the shared RLIMIT_MSGQUEUE budget, and bodies over 2 KiB are split,
 * so the tests exercise reassembly.
 */
export const SMALL_QUEUES = { maxMessages: 10, messageSize: 2048 } as const
