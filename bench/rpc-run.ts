/**
 * One configuration of the RPC benchmarks: a fresh address, the processes
 * spawned for it, and the clean-up that leaves nothing behind (queues,
 * socket files, reply queues of killed clients), even on Ctrl-C.
 * @module
 */
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { MessageQueue } from '../src/index.js'
import type { PeerName } from './bundle.js'
import type { Contender } from './contenders.js'
import { commandRuns, Proc } from './proc.js'

/** Where processes run: a label and the command that wraps them (`taskset -c 0`, or nothing). */
export type Placement = readonly [label: string, wrapper: readonly string[]]

/** Unpinned, and pinned to CPU 0 when taskset exists (not in quick mode). */
export function placements(quick: boolean): Placement[] {
  const list: Placement[] = [['any', []]]
  if (quick) return list
  if (commandRuns('taskset', ['-c', '0', 'true'])) list.push(['pinned to CPU 0', ['taskset', '-c', '0']])
  else console.log('(taskset not found: pinned runs skipped)')
  return list
}

let serial = 0

/** The processes and names of one configuration, cleaned up together. */
export class Run {
  private static readonly active = new Set<Run>()
  private static hooked = false
  readonly address: string
  readonly procs: Proc[] = []

  /** On SIGINT or SIGTERM, stops the runs in progress and removes what they made before exiting. */
  static cleanUpOnSignals(): void {
    if (Run.hooked) return
    Run.hooked = true
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        console.log(`\n${signal}: stopping the benchmark processes and removing their queues`)
        void Promise.all([...Run.active].map((run) => run.close())).finally(() => process.exit(130))
      })
    }
  }

  constructor(readonly contender: Pick<Contender, 'id' | 'address' | 'cleanUp'>) {
    serial += 1
    this.address = contender.address(`mqrpc-bench-${process.pid}-${serial}`)
    Run.active.add(this)
  }

  /** Spawns a role of bench/rpc-peer.ts (or of another peer `script`) for this run. */
  spawn(role: string, config: unknown, wrapper: readonly string[], script?: PeerName, nodeFlags?: readonly string[]): Proc {
    const proc = new Proc(role, config, wrapper, script, nodeFlags)
    this.procs.push(proc)
    return proc
  }

  /**
   * Stops every process (SIGTERM, then SIGKILL), then removes what a killed
   * one may have left: the server's queues or socket, and reply queues named
   * for our children's pids (visible where /dev/mqueue is mounted).
   */
  async close(): Promise<void> {
    Run.active.delete(this)
    await Promise.all(this.procs.map((proc) => proc.stop()))
    this.contender.cleanUp(this.address)
    if (this.contender.id !== 'mqrpc') return
    for (const name of [this.address, `${this.address}.urgent`]) {
      try {
        MessageQueue.unlink(name)
      } catch {
        // Removed by the server's close(), as it should be.
      }
    }
    if (!existsSync('/dev/mqueue')) return
    const pids = new Set(this.procs.map((proc) => proc.child.pid))
    for (const file of readdirSync('/dev/mqueue')) {
      const pid = /^mqrpc\.(?:reply|probe)\.(\d+)\./.exec(file)?.[1]
      if (pid !== undefined && pids.has(Number(pid))) rmSync(join('/dev/mqueue', file), { force: true })
    }
  }
}
