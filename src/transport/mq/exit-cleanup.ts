/**
 * Reply queues of clients still open when the process exits (a forgotten
 * close(), a process.exit()) are removed on the way out, so that they do not
 * wait for a server's reaping or `mqrpc gc`. `exit` handlers must be
 * synchronous, and mq_unlink is. Nothing can help a SIGKILL: that is what
 * reaping and `mqrpc gc` are for.
 * @module
 */
import { MessageQueue } from './message-queue.js'

const names = new Set<string>()
let installed = false

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

/** Removes the queue `name` if the process exits before {@link forget} is called for it. */
export function removeOnExit(name: string): void {
  if (!installed) {
    installed = true
    process.once('exit', removeAll)
  }
  names.add(name)
}

/** The queue was removed by its owner; nothing to do at exit. */
export function forget(name: string): void {
  names.delete(name)
}
