/**
 * Which call runs next. Urgent calls run first and have concurrency kept for
 * them. Between bulk calls (before one starts, after one ends) the lanes
 * are read, and bulk starts take at most about a millisecond before the
 * event loop is let turn, so an urgent call waits at most for the bulk handler
 * already running, never for the bulk backlog (docs/ARCHITECTURE.md, "Lanes").
 * Waiting bulk calls are taken round-robin over their sessions, a turn of
 * up to a run of calls each, so one client's backlog cannot push the others
 * back, and a session that had nothing waiting goes before those with a
 * backlog (fq_codel's "new flows first"): a client with one call at a time
 * is served next, not after a turn of every flooding session. Bulk calls
 * start in runs, with the promise jobs of those started in between, so
 * that the replies of fast handlers leave while more calls start instead
 * of after them all.
 * @module
 */

import { performance } from '../util/clock.js'
import { queuePromiseJob } from '../util/promise-job.js'
import { LineList, OwnerLine } from './owner-lines.js'

/** Time bulk starts may take, from the first since the scheduler was idle or last yielded, before the event loop is let turn. */
const BULK_TURN_BUDGET_MS = 1
/**
 * Bulk calls started in one synchronous run before the rest wait for the
 * promise jobs queued so far (handlers finishing, replies being written).
 * Their replies are packed into one message per client, so a larger run
 * costs fewer system calls; a new owner's call (a client that was not
 * waiting) ends its run at once when other owners' calls wait, so that
 * its reply does not wait for their backlog. With 16, a run's small
 * replies (about 100 bytes each) filled one 1 KiB reply message and half
 * of a second; with 20 they fill two:
 * 0.122 sends per call instead of 0.139 with 64 in flight on one CPU, the
 * server's CPU per call 6% less, and 4 clients pinned 7% to 25% more
 * calls/s (bench/analysis.md, the tenth session). 30 saved little more.
 */
export const BULK_STARTS_PER_RUN = 20
/**
 * Calls an owner with a backlog starts in a row before the next owner's
 * turn. One call per turn would be fairest, but each owner's replies then
 * leave a few at a time, one message and one wake-up of its client each;
 * whole runs keep them packed. A client with nothing waiting is served
 * before any turn (new owners first), so it never waits for one.
 */
export const OWNER_TURN = BULK_STARTS_PER_RUN
/**
 * How often, at most, the lanes are read between bulk calls. A read that
 * finds nothing costs a system call (about a microsecond), so once per call
 * would be a large share of a fast call's cost; but the time a polite
 * client's call or an urgent call sits unseen behind a flood is this
 * interval, and at 0.1 ms it was most of the polite client's round trip
 * (bench/fairness.ts). At 0.03 ms the reads cost a few percent of a server
 * kept busy by fast calls, within the noise of the throughput benchmark.
 */
const LANE_POLL_INTERVAL_MS = 0.03

export interface Task {
  readonly urgent: boolean
  /** Whose call it is (a session): bulk calls are taken round-robin over owners. */
  readonly owner: unknown
  /** Starts the task: returns a promise if it is still running, nothing if it has already finished. */
  run(): Promise<void> | undefined
}

/** Options of {@link Scheduler}. */
export type SchedulerOptions = Readonly<{
  /** Handlers running at once. */
  concurrency: number
  /** Of those, how many only urgent calls may use. */
  urgentReserve: number
  /**
   * Reads the lanes now, synchronously, submitting what they hold: the
   * urgent lane, so urgent calls never wait for the bulk backlog, and the
   * request lane, so a call that just arrived joins the round-robin without
   * waiting for the event loop to turn.
   */
  pollLanes: () => void
}>

export class Scheduler {
  private running = 0
  private readonly urgentBacklog: Task[] = []
  /**
   * The line of each owner until it is forgotten, kept while it has nothing
   * waiting (and then in neither list below): deleting an owner's entry
   * each time its line emptied made V8 remake the Map's table, one call at
   * a time a delete and a set per call (bench/analysis.md, the twelfth session).
   */
  private readonly lines = new Map<unknown, OwnerLine<Task>>()
  /** Owners whose bulk calls began to wait when they had none waiting: served first, one call each. */
  private readonly newOwners = new LineList<Task>()
  /** Owners with a backlog, in round-robin order. */
  private readonly oldOwners = new LineList<Task>()
  private bulkWaiting = 0
  /** Calls the first old owner has started in its current turn. */
  private turnTaken = 0
  private idleWaiters: (() => void)[] = []
  private starting = false
  private continuing = false
  private yielding = false
  /** Bulk calls started since the promise jobs last ran (reset by continueAfterJobs). */
  private bulkSinceJobs = 0
  private turnStartedAt = -1
  /** A promise job will end the turn if the scheduler is still idle then (see finished()). */
  private turnEndQueued = false
  private lastLanePoll = -1

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
      let line = this.lines.get(task.owner)
      if (line === undefined) {
        line = new OwnerLine(task.owner)
        this.lines.set(task.owner, line)
      }
      // A line with nothing waiting is in neither list: its owner is new again.
      if (line.size === 0) this.newOwners.push(line)
      line.push(task)
      this.bulkWaiting++
    }
    this.startWhatFits()
  }

  /**
   * Whether the run of starts that follows the promise jobs queued so far
   * begins with calls of `owner`: its replies written now will have company
   * in a moment (the server's frame writer keeps a partly filled message
   * for them). Not when another owner's turn comes first: the replies would
   * wait for that run and still leave alone.
   */
  nextRunStarts(owner: unknown): boolean {
    return this.continuing && (this.newOwners.first ?? this.oldOwners.first)?.owner === owner
  }

  /** `owner` is gone (its session ended): its line goes too; calls of it still waiting are served as before. */
  forget(owner: unknown): void {
    this.lines.delete(owner)
  }

  /** Resolves once nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.running + this.waiting === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /**
   * The next bulk call: a new owner's, else the oldest of the owner whose
   * turn it is. An old owner's turn lasts {@link OWNER_TURN} calls (or until
   * it has none waiting), then it goes to the back.
   */
  private nextBulk(): Task | undefined {
    const fresh = this.newOwners.first
    if (fresh !== undefined) {
      this.newOwners.shift()
      this.bulkWaiting--
      const task = fresh.take()
      if (fresh.size > 0) this.oldOwners.push(fresh)
      return task
    }
    const line = this.oldOwners.first
    if (line === undefined) return undefined
    this.bulkWaiting--
    const task = line.take()
    this.turnTaken++
    if (line.size === 0) {
      this.oldOwners.shift()
      this.turnTaken = 0
    } else if (this.turnTaken >= OWNER_TURN) {
      this.turnTaken = 0
      // An owner alone among the old ones is already at the back.
      if (this.oldOwners.several) this.oldOwners.push(this.oldOwners.shift())
    }
    return task
  }

  private bulkLimit(): number {
    return Math.max(1, this.options.concurrency - this.options.urgentReserve)
  }

  /** `now`: the clock read just before, when the caller has one (each read is a few percent of a fast call). */
  private startWhatFits(now = -1): void {
    // Re-entrancy guard: pollLanes submits, which would recurse here.
    if (this.starting) return
    this.starting = true
    try {
      for (; ; now = -1) {
        const urgent = this.urgentBacklog.shift()
        if (urgent !== undefined) {
          if (this.running >= this.options.concurrency) {
            this.urgentBacklog.unshift(urgent)
            return
          }
          this.start(urgent)
          // Like a new session's call, an urgent call's reply goes before the next bulk start (which may hold the loop).
          if (this.urgentBacklog.length === 0 && this.bulkWaiting > 0) this.bulkSinceJobs = BULK_STARTS_PER_RUN
          continue
        }
        if (this.bulkWaiting === 0 || this.running >= this.bulkLimit()) return
        if (now < 0) now = performance.now()
        // A lone call on an idle server has nothing to let ahead of it: no read (two system calls) for it.
        if (this.running > 0 || this.bulkWaiting > 1) this.pollLanes(now)
        if (this.urgentBacklog.length > 0) continue
        // Bulk handlers that run long before they yield hold the event loop;
        // past a budget, let the loop turn (urgent replies leave, the lanes
        // are read) before starting more. The budget runs from the first
        // start after the scheduler last yielded or was idle at the end of
        // a job, so that a lone call costs no setImmediate (and no extra
        // turn of the loop).
        if (this.turnStartedAt < 0) {
          this.turnStartedAt = now
        } else if (now - this.turnStartedAt > BULK_TURN_BUDGET_MS) {
          this.yieldTurn()
          return
        }
        // Counted across submits too: a read that submits many calls at once
        // must not start them all before the first one's reply can leave.
        if (this.bulkSinceJobs >= BULK_STARTS_PER_RUN) {
          this.continueAfterJobs()
          return
        }
        const newOwner = this.newOwners.first
        const task = this.nextBulk() as Task
        // Its reply goes before the backlog of other owners starts (when
        // there is one); its own later calls may follow in the same run.
        const othersWaiting = newOwner !== undefined && this.bulkWaiting > newOwner.size
        this.bulkSinceJobs = othersWaiting ? BULK_STARTS_PER_RUN : this.bulkSinceJobs + 1
        this.start(task)
      }
    } finally {
      this.starting = false
    }
  }

  private yieldTurn(): void {
    if (this.yielding) return
    this.yielding = true
    setImmediate(() => {
      this.yielding = false
      this.turnStartedAt = -1
      this.startWhatFits()
    })
  }

  private continueAfterJobs(): void {
    if (this.continuing) return
    this.continuing = true
    queuePromiseJob(() => {
      this.continuing = false
      this.bulkSinceJobs = 0
      this.startWhatFits()
    })
  }

  /** Reads the lanes unless they were read less than an interval ago. */
  private pollLanes(now: number): void {
    if (now - this.lastLanePoll < LANE_POLL_INTERVAL_MS) return
    this.lastLanePoll = now
    this.options.pollLanes()
  }

  private start(task: Task): void {
    this.running++
    const running = task.run()
    if (running === undefined) {
      this.finished(task)
      return
    }
    this.finishLater(running, task)
  }

  // Apart from start(), whose every call would otherwise pay for this closure's context.
  private finishLater(running: Promise<void>, task: Task): void {
    const finished = () => this.finished(task)
    running.then(finished, finished)
  }

  private finished(task: Task): void {
    this.running--
    let now = -1
    if (!task.urgent && !this.starting && this.running + this.bulkWaiting > 0) {
      now = performance.now()
      this.pollLanes(now)
    }
    this.startWhatFits(now)
    if (this.running + this.waiting === 0) {
      // Not at once: the server hands over the calls of a message (and the
      // messages of a read) one by one, so idle here may be the moment
      // between two of them. Ending the turn now let each start as a lone
      // call on an idle server: a message of seventeen 20 ms calls ran in
      // one stretch of 350 ms, no reply leaving, the urgent lane unread.
      // Once the current job is done, the server has handed over all it read.
      if (!this.turnEndQueued) {
        this.turnEndQueued = true
        queuePromiseJob(this.endIdleTurn)
      }
      if (this.idleWaiters.length > 0) {
        // Swapped, not spliced: splice(0) made an array each time a lone call went idle.
        const waiters = this.idleWaiters
        this.idleWaiters = []
        for (const resolve of waiters) resolve()
      }
    }
  }

  private readonly endIdleTurn = (): void => {
    this.turnEndQueued = false
    if (this.running + this.waiting === 0) this.turnStartedAt = -1
  }
}
