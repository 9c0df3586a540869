/**
 * Queues a function to run once the current job is done, as
 * `queueMicrotask` does, for less: Node's `queueMicrotask` makes an
 * AsyncResource (a new async id, a bound function) on every call, which
 * counted a few hundred instructions per call on the hot path. A promise
 * job runs in the same queue, in the same order, in the caller's async
 * context. A function that throws becomes an unhandled rejection, which
 * Node's default treats as an uncaught exception; the callers catch their
 * own errors.
 * @module
 */

const settled = Promise.resolve()

export function queuePromiseJob(job: () => void): void {
  void settled.then(job)
}
