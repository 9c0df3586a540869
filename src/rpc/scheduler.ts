/**
 * Which call runs next. Urgent calls run first and have concurrency kept for
 * them. Between bulk calls (before one starts, after one ends) the urgent
 * lane is read, and bulk starts take at most a millisecond of one turn of
 * the event loop, so an urgent call waits at most for the bulk handler
 * already running, never for the bulk backlog (docs/ARCHITECTURE.md, "Lanes").
 * Waiting bulk calls are taken round-robin over their sessions, so one
 * client's backlog cannot push the others back.
 * @module
 */

/** Synchronous time bulk starts may take in one turn of the event loop before it is let turn. */
const BULK_TURN_BUDGET_MS = 1
/**
 * How often, at most, the urgent lane is read between bulk calls. Reading
 * costs a syscall; with fast handlers, once per call would be most of the
 * cost, while an urgent call only needs to be seen within a fraction of a
 * millisecond.
 */
const URGENT_POLL_INTERVAL_MS = 0.2

export interface Task {
  readonly urgent: boolean
  /** Whose call it is (a session): bulk calls are taken round-robin over owners. */
  readonly owner: unknown
  run(): Promise<void>
}

/** Options of {@link Scheduler}. */
export type SchedulerOptions = Readonly<{
  /** Handlers running at once. */
  concurrency: number
  /** Of those, how many only urgent calls may use. */
  urgentReserve: number
  /** Reads the urgent lane now, synchronously, submitting what it finds. */
  pollUrgent: () => void
}>

export class Scheduler {
  private running = 0
  private readonly urgentBacklog: Task[] = []
  /** Owners with bulk calls waiting, in round-robin order (a Map keeps insertion order). */
  private readonly bulkBacklog = new Map<unknown, Task[]>()
  private bulkWaiting = 0
  private idleWaiters: (() => void)[] = []
  private starting = false
  private turnStartedAt = -1
  private lastUrgentPoll = -1

  constructor(private readonly options: SchedulerOptions) {}

  /** Calls running now. */
  get active(): number {
    return this.running
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.urgentBacklog.length + this.bulkWaiting
  }

  submit(task: Task): void {
    if (task.urgent) {
      this.urgentBacklog.push(task)
    } else {
      const queue = this.bulkBacklog.get(task.owner)
      if (queue === undefined) this.bulkBacklog.set(task.owner, [task])
      else queue.push(task)
      this.bulkWaiting++
    }
    this.startWhatFits()
  }

  /** Resolves once nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.running + this.waiting === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** The next bulk call: the first owner's oldest, after which that owner goes to the back. */
  private nextBulk(): Task | undefined {
    const first = this.bulkBacklog.entries().next()
    if (first.done === true) return undefined
    const [owner, tasks] = first.value
    const task = tasks.shift() as Task
    this.bulkBacklog.delete(owner)
    if (tasks.length > 0) this.bulkBacklog.set(owner, tasks)
    this.bulkWaiting--
    return task
  }

  private bulkLimit(): number {
    return Math.max(1, this.options.concurrency - this.options.urgentReserve)
  }

  private startWhatFits(): void {
    // Re-entrancy guard: pollUrgent submits, which would recurse here.
    if (this.starting) return
    this.starting = true
    try {
      for (;;) {
        const urgent = this.urgentBacklog.shift()
        if (urgent !== undefined) {
          if (this.running >= this.options.concurrency) {
            this.urgentBacklog.unshift(urgent)
            return
          }
          this.start(urgent)
          continue
        }
        if (this.bulkWaiting === 0 || this.running >= this.bulkLimit()) return
        this.pollUrgent()
        if (this.urgentBacklog.length > 0) continue
        // Bulk handlers that run long before they yield hold the event loop;
        // past a budget per turn, let the loop turn (urgent replies leave,
        // the urgent lane is read) before starting more.
        const now = performance.now()
        if (this.turnStartedAt < 0) {
          this.turnStartedAt = now
          setImmediate(() => {
            this.turnStartedAt = -1
            this.startWhatFits()
          })
        } else if (now - this.turnStartedAt > BULK_TURN_BUDGET_MS) {
          return
        }
        this.start(this.nextBulk() as Task)
      }
    } finally {
      this.starting = false
    }
  }

  private pollUrgent(): void {
    const now = performance.now()
    if (now - this.lastUrgentPoll < URGENT_POLL_INTERVAL_MS) return
    this.lastUrgentPoll = now
    this.options.pollUrgent()
  }

  private start(task: Task): void {
    this.running++
    let finished = false
    const done = () => {
      if (finished) return
      finished = true
      this.running--
      if (!task.urgent && !this.starting) this.pollUrgent()
      this.startWhatFits()
      if (this.running + this.waiting === 0) for (const resolve of this.idleWaiters.splice(0)) resolve()
    }
    task.run().then(done, done)
  }
}
