/**
 * Which call runs next. Urgent calls run first and have concurrency kept for
 * them; before each bulk call starts, the urgent lane is read, so an urgent
 * call waits at most for the bulk handler already running, never for the
 * bulk backlog (DESIGN.md section 6).
 * @module
 */

export interface Task {
  readonly urgent: boolean
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
  private readonly bulkBacklog: Task[] = []
  private starting = false

  constructor(private readonly options: SchedulerOptions) {}

  /** Calls running now. */
  get active(): number {
    return this.running
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.urgentBacklog.length + this.bulkBacklog.length
  }

  submit(task: Task): void {
    ;(task.urgent ? this.urgentBacklog : this.bulkBacklog).push(task)
    this.startWhatFits()
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
        if (this.bulkBacklog.length === 0 || this.running >= this.bulkLimit()) return
        this.options.pollUrgent()
        if (this.urgentBacklog.length > 0) continue
        this.start(this.bulkBacklog.shift() as Task)
      }
    } finally {
      this.starting = false
    }
  }

  private start(task: Task): void {
    this.running++
    let finished = false
    const done = () => {
      if (finished) return
      finished = true
      this.running--
      this.startWhatFits()
    }
    task.run().then(done, done)
  }
}
