/**
 * Whether a process still exists: how a server decides that a silent client
 * is gone for good, and how `mqrpc gc` tells a stale reply queue (its name
 * holds its creator's pid) from a live one.
 * @module
 */
import { readFileSync } from 'node:fs'

/**
 * Whether process `pid` exists (and is not a zombie, which holds no queues).
 * EPERM from kill(0) means it exists under another user.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > 0x3fffffff) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true
  }
}
