/**
 * Queues a process made and has not removed yet (a client's reply queue, a
 * server's request queue and urgent lane) are removed when the process ends
 * without closing them: on a normal exit (a forgotten close(), a
 * process.exit()) and on SIGINT, SIGTERM and SIGHUP (and the other signals
 * that kill a process by default), so that they do not wait for a server's
 * reaping or `mqrpc gc`.
 *
 * Built on `signal-exit`, which changes nothing in how the process reacts to
 * a signal: when the application has no handler of its own for it, the
 * queues are removed and the signal is raised again, so the process still
 * dies by that signal; when the application handles the signal itself,
 * nothing happens then, and the queues are removed when the process exits
 * (if they were not closed by then). The removal is synchronous (mq_unlink),
 * as exit hooks must be. Nothing can help a SIGKILL: that is what reaping and
 * `mqrpc gc` are for.
 *
 * `signal-exit` decides whether the application handles a signal by
 * counting the signal's listeners when it arrives, after the listeners
 * before its own have run: a `process.once` handler added before its hook
 * has removed itself by then, and would be taken for no handler at all (the
 * process would die by the signal after running it). So the hook is
 * installed when this module is loaded (when mqrpc is imported), before the
 * application's own code adds its handlers, and stays: with no queue to
 * remove it does nothing, and the process reacts to signals as it would
 * without it.
 * @module
 */
import { onExit } from 'signal-exit'
import { MessageQueue } from './message-queue.js'

const names = new Set<string>()

function removeAll(): void {
  for (const name of names) {
    try {
      MessageQueue.unlink(name)
    } catch {
      // Gone already.
    }
  }
  names.clear()
}

onExit(removeAll)

/**
 * Removes the queue `name` if the process ends (exits, or dies of SIGINT,
 * SIGTERM or SIGHUP that it does not handle itself) before {@link forget} is
 * called for it. For every queue the process creates and owns: a client's
 * reply queue, a server's request queue and urgent lane.
 */
export function removeOnExit(name: string): void {
  names.add(name)
}

/**
 * The queue `name` was removed by its owner (or is no longer ours): nothing
 * to do at exit. Call it as the queue is unlinked, not later: a queue name
 * given up may be taken by another process at once (a new server on the
 * same name), and must not be removed under it at exit.
 */
export function forget(name: string): void {
  names.delete(name)
}
