/**
 * Queues that stopped wanting to read stop watching their descriptor a
 * little later, all together. A receive that settles is usually followed at
 * once by the next (a reply, a ping-pong), and stopping and restarting the
 * poll costs two epoll_ctl calls. Deferring by a `setImmediate` per settled
 * receive cost more than that: Node runs each loop turn's immediates through
 * a callback scope of their own, about 4,500 instructions per message in a
 * ping-pong (callgrind). One timer for every queue costs that once per
 * UNWATCH_DELAY_MS however many messages pass.
 *
 * A queue left watching with nobody reading is woken at most once by a
 * message (it then stops at once, and the message stays queued); until the
 * timer fires it holds its descriptor and keeps the event loop alive, so a
 * dropped queue is collected, and a process with nothing else to do exits,
 * that much later.
 * @module
 */

/** How long a queue may go on watching after its last receive settled. */
export const UNWATCH_DELAY_MS = 10

const due = new Set<() => void>()
let timer: NodeJS.Timeout | undefined

/** Calls `apply` within UNWATCH_DELAY_MS (once, however often it is asked before then). */
export function unwatchLater(apply: () => void): void {
  due.add(apply)
  if (timer !== undefined) return
  timer = setTimeout(applyDue, UNWATCH_DELAY_MS)
  // The watch itself keeps the loop alive while it lasts; the timer must not add to that.
  timer.unref()
}

function applyDue(): void {
  timer = undefined
  const now = [...due]
  due.clear()
  for (const apply of now) apply()
}
