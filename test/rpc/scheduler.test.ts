/**
 * The server's scheduler on its own: urgent calls first, slots kept for
 * urgent calls, round-robin over owners so one session's backlog cannot
 * push the others back, the urgent lane read between bulk calls, and
 * idle() for close().
 */
import { describe, expect, it } from 'vitest'
import { BULK_STARTS_PER_RUN, OWNER_TURN, Scheduler, type Task } from '../../src/rpc/scheduler.js'
import { busy } from '../helpers/wait.js'

/** A task that runs until the test ends it, and records when it started. */
class Job implements Task {
  private finish: (() => void) | undefined
  started = false

  constructor(
    readonly name: string,
    readonly owner: unknown,
    readonly urgent: boolean,
    private readonly order: string[],
  ) {}

  run(): Promise<void> {
    this.started = true
    this.order.push(this.name)
    return new Promise((resolve) => {
      this.finish = resolve
    })
  }

  /** Ends the task and lets the event loop turn (see {@link turns}). */
  async end(): Promise<void> {
    this.finish?.()
    await turns()
  }
}

/** Submits jobs by name and runs them to the end one slot at a time, for tests of the order. */
function byNames(scheduler: Scheduler, order: string[], job: (name: string, owner: unknown) => Job) {
  const byName = new Map<string, Job>()
  return {
    submit(name: string, owner: string) {
      const j = job(name, owner)
      byName.set(name, j)
      scheduler.submit(j)
    },
    end: (name: string) => byName.get(name)?.end(),
    async drain() {
      while (order.length < byName.size) await byName.get(order.at(-1) as string)?.end()
    },
  }
}

function setup(options: Partial<{ concurrency: number; urgentReserve: number; pollLanes: () => void }> = {}) {
  const order: string[] = []
  const scheduler = new Scheduler({ concurrency: 1, urgentReserve: 0, pollLanes: () => undefined, ...options })
  const job = (name: string, owner: unknown = 'a', urgent = false) => new Job(name, owner, urgent, order)
  return { scheduler, order, job }
}

/**
 * Lets the event loop turn twice: bulk starts past the scheduler's time
 * budget (a first start that JIT or a loaded machine made slow) go on after
 * it has let the loop turn.
 */
async function turns(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setImmediate(resolve))
}

describe('Scheduler', () => {
  it('runs what fits and the rest as slots free', async () => {
    const { scheduler, order, job } = setup({ concurrency: 2 })
    const jobs = ['1', '2', '3'].map((name) => job(name))
    for (const j of jobs) scheduler.submit(j)
    await turns()
    expect(order).toEqual(['1', '2'])
    expect(scheduler.active).toBe(2)
    expect(scheduler.waiting).toBe(1)
    await jobs[0]?.end()
    expect(order).toEqual(['1', '2', '3'])
  })

  it('starts waiting urgent calls before waiting bulk calls', async () => {
    const { scheduler, order, job } = setup()
    const running = job('bulk-running')
    scheduler.submit(running)
    scheduler.submit(job('bulk-1'))
    scheduler.submit(job('bulk-2'))
    scheduler.submit(job('urgent-1', 'b', true))
    await running.end()
    expect(order).toEqual(['bulk-running', 'urgent-1'])
  })

  it('keeps urgentReserve slots that bulk calls cannot take', async () => {
    const { scheduler, order, job } = setup({ concurrency: 3, urgentReserve: 1 })
    for (const name of ['b1', 'b2', 'b3']) scheduler.submit(job(name))
    await turns()
    expect(order).toEqual(['b1', 'b2'])
    scheduler.submit(job('u1', 'a', true))
    expect(order).toEqual(['b1', 'b2', 'u1'])
    // Every slot is taken now: a second urgent call waits like the bulk one.
    scheduler.submit(job('u2', 'a', true))
    expect(scheduler.waiting).toBe(2)
  })

  it('takes bulk calls round-robin over owners, in each owner’s order', async () => {
    const { scheduler, order, job } = setup()
    const { submit, drain } = byNames(scheduler, order, job)
    for (const name of ['a0', 'a1', 'a2', 'a3']) submit(name, 'a')
    for (const name of ['b1', 'b2']) submit(name, 'b')
    submit('c1', 'c')
    // One slot: end whatever runs, and the next in line starts. Each owner
    // that had nothing waiting is served once first, then the backlogs in turn.
    await drain()
    expect(order).toEqual(['a0', 'a1', 'b1', 'c1', 'a2', 'a3', 'b2'])
  })

  it('serves an owner whose line emptied, or that was forgotten, as a new owner when it calls again', async () => {
    const { scheduler, order, job } = setup()
    const { submit, drain } = byNames(scheduler, order, job)
    // a and b each wait for nothing, then come back: each is new again, and
    // goes before c's backlog; b after forget() too.
    submit('c0', 'c')
    submit('a1', 'a')
    submit('b1', 'b')
    for (const name of ['c1', 'c2', 'c3']) submit(name, 'c')
    await drain()
    scheduler.forget('b')
    submit('x0', 'x')
    for (const name of ['c4', 'c5']) submit(name, 'c')
    submit('a2', 'a')
    submit('b2', 'b')
    await drain()
    expect(order).toEqual(['c0', 'a1', 'b1', 'c1', 'c2', 'c3', 'x0', 'c4', 'a2', 'b2', 'c5'])
  })

  it('gives an owner with a backlog a turn of OWNER_TURN calls, then the next owner', async () => {
    const { scheduler, order, job } = setup()
    const { submit, drain } = byNames(scheduler, order, job)
    const names = (owner: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${owner}${from + i}`)
    const calls = OWNER_TURN + 4
    for (const name of names('a', 0, calls)) submit(name, 'a')
    for (const name of names('b', 0, calls)) submit(name, 'b')
    await drain()
    expect(order).toEqual([
      'a0', // started on submit
      'a1', // a and b had nothing waiting when their first call came: one call each first
      'b0',
      ...names('a', 2, 2 + OWNER_TURN),
      ...names('b', 1, 1 + OWNER_TURN),
      ...names('a', 2 + OWNER_TURN, calls),
      ...names('b', 1 + OWNER_TURN, calls),
    ])
  })

  it('reads the urgent lane before starting a bulk call, and runs what it finds first', async () => {
    const order: string[] = []
    let lane: Task[] = []
    const scheduler: Scheduler = new Scheduler({
      concurrency: 1,
      urgentReserve: 0,
      pollLanes: () => {
        for (const task of lane.splice(0)) scheduler.submit(task)
      },
    })
    const running = new Job('bulk-running', 'a', false, order)
    scheduler.submit(running)
    scheduler.submit(new Job('bulk-next', 'a', false, order))
    // Arrives in the lane while the bulk call runs; nobody submits it but the poll.
    lane = [new Job('urgent', 'b', true, order)]
    await new Promise((resolve) => setTimeout(resolve, 2))
    await running.end()
    expect(order).toEqual(['bulk-running', 'urgent'])
  })

  it('idle() resolves at once when nothing runs, else once everything ran', async () => {
    const { scheduler, job } = setup()
    await scheduler.idle()
    const one = job('1')
    const two = job('2')
    scheduler.submit(one)
    scheduler.submit(two)
    let idle = false
    void scheduler.idle().then(() => {
      idle = true
    })
    await one.end()
    expect(idle).toBe(false)
    await two.end()
    expect(idle).toBe(true)
  })

  it('a task that rejects frees its slot like one that resolves', async () => {
    const { scheduler, order, job } = setup()
    scheduler.submit({ urgent: false, owner: 'x', run: () => Promise.reject(new Error('handler crashed')) })
    scheduler.submit(job('after'))
    await turns()
    expect(order).toEqual(['after'])
  })
})

describe('Scheduler fairness and pacing', () => {
  /** A task that takes `ms` of CPU and has finished when run() returns, as a synchronous handler's call does. */
  const busyTask = (name: string, order: string[], ms: number): Task => ({
    urgent: false,
    owner: name,
    run: () => {
      order.push(name)
      busy(ms)
      return undefined
    },
  })

  it('lets the loop turn between calls handed over in one stretch, even when each finds it idle', async () => {
    // As the server hands over the calls of one message: each arrives after
    // the one before has finished, so the scheduler is idle at each submit.
    const order: string[] = []
    let polls = 0
    const scheduler = new Scheduler({ concurrency: 1, urgentReserve: 0, pollLanes: () => polls++ })
    for (const name of ['m1', 'm2', 'm3']) scheduler.submit(busyTask(name, order, 3))
    // Past the budget after the first: the rest wait for the loop to turn
    // (replies leave, the lanes are read) rather than run in one stretch.
    expect(order).toEqual(['m1'])
    await turns()
    await turns()
    expect(order).toEqual(['m1', 'm2', 'm3'])
    expect(polls).toBeGreaterThan(0)
    // Once the loop has moved on, a lone call on the idle server starts at once, reading no lane.
    const pollsBefore = polls
    scheduler.submit(busyTask('lone', order, 3))
    expect(order).toEqual(['m1', 'm2', 'm3', 'lone'])
    expect(polls).toBe(pollsBefore)
  })

  it('serves an owner that had nothing waiting before the owners with a backlog', async () => {
    const { scheduler, order, job } = setup()
    const { submit, end, drain } = byNames(scheduler, order, job)
    for (const name of ['a0', 'a1', 'a2', 'a3', 'a4']) submit(name, 'a')
    await end('a0')
    // a1 runs; a has a backlog. A polite owner arrives with one call.
    submit('p1', 'polite')
    await drain()
    expect(order).toEqual(['a0', 'a1', 'p1', 'a2', 'a3', 'a4'])
  })

  /** Async tasks that log their start and, one promise job later, their reply. */
  const replyingTask = (events: string[], name: string, owner: string): Task => ({
    urgent: false,
    owner,
    run: async () => {
      events.push(`start ${name}`)
      await Promise.resolve()
      events.push(`reply ${name}`)
    },
  })

  it("lets a new owner's reply leave before the backlog of other owners starts", async () => {
    const events: string[] = []
    const scheduler = new Scheduler({ concurrency: 100, urgentReserve: 0, pollLanes: () => undefined })
    // One run starts; the rest of a's calls wait for the promise jobs, and then a polite owner calls.
    for (let i = 0; i < BULK_STARTS_PER_RUN + 4; i++) scheduler.submit(replyingTask(events, `a${i}`, 'a'))
    scheduler.submit(replyingTask(events, 'p', 'polite'))
    await scheduler.idle()
    const afterPolite = events.slice(events.indexOf('start p') + 1)
    expect(afterPolite[0]).toBe('reply p')
  })

  it("starts an owner's own backlog in whole runs, not one call per run", async () => {
    const events: string[] = []
    const scheduler = new Scheduler({ concurrency: 100, urgentReserve: 0, pollLanes: () => undefined })
    // One run starts; four calls wait for the promise jobs, all of the same
    // owner, which is new again when the first of them waits. No other owner
    // waits, so its four go in one run and their replies leave together.
    const last = BULK_STARTS_PER_RUN + 3
    for (let i = 0; i <= last; i++) scheduler.submit(replyingTask(events, `a${i}`, 'a'))
    await scheduler.idle()
    expect(events.indexOf(`start a${last}`)).toBeLessThan(events.indexOf(`reply a${BULK_STARTS_PER_RUN}`))
  })

  it('says whose calls the run after the promise jobs starts with (their replies can wait to be packed)', async () => {
    const events: string[] = []
    const scheduler = new Scheduler({ concurrency: 100, urgentReserve: 0, pollLanes: () => undefined })
    const next = () => ['a', 'b'].filter((owner) => scheduler.nextRunStarts(owner))
    const first = BULK_STARTS_PER_RUN
    for (let i = 0; i < first; i++) scheduler.submit(replyingTask(events, `a${i}`, 'a'))
    // One run started; a's next two wait for the jobs, then start.
    let atReply: string[] = []
    scheduler.submit({
      urgent: false,
      owner: 'a',
      run: async () => {
        await Promise.resolve()
        atReply = next()
      },
    })
    scheduler.submit(replyingTask(events, `a${first + 1}`, 'a'))
    expect(next()).toEqual(['a'])
    // b calls. a's line is still first (it began to wait first); its call
    // runs alone, since b waits, and by its reply the next run begins with b's.
    scheduler.submit(replyingTask(events, 'b0', 'b'))
    expect(next()).toEqual(['a'])
    await scheduler.idle()
    expect(atReply).toEqual(['b'])
    expect(next()).toEqual([])
  })

  it('lets the jobs of started calls run between starts, so their replies do not wait for every start', async () => {
    const events: string[] = []
    const scheduler = new Scheduler({ concurrency: 100, urgentReserve: 0, pollLanes: () => undefined })
    // More calls than one run starts, each submitted in the same synchronous turn.
    const calls = BULK_STARTS_PER_RUN + 4
    for (let i = 0; i < calls; i++) scheduler.submit(replyingTask(events, `${i}`, `o${i}`))
    await scheduler.idle()
    expect(events.filter((e) => e.startsWith('start'))).toHaveLength(calls)
    expect(events.indexOf('reply 0')).toBeLessThan(events.indexOf(`start ${calls - 1}`))
  })
})

describe('Scheduler and urgent replies', () => {
  it("lets an urgent call's reply leave before the next bulk call starts", async () => {
    const events: string[] = []
    const scheduler = new Scheduler({ concurrency: 100, urgentReserve: 2, pollLanes: () => undefined })
    const task = (name: string, urgent: boolean, arriving?: () => void) => ({
      urgent,
      owner: 'x',
      run: async () => {
        events.push(`start ${name}`)
        arriving?.()
        await Promise.resolve()
        events.push(`reply ${name}`)
      },
    })
    // A backlog of bulk calls; while the 20th starts (in the second run), a lane read finds an urgent call.
    for (let i = 0; i < 40; i++) {
      scheduler.submit(task(`b${i}`, false, i === 20 ? () => scheduler.submit(task('u', true)) : undefined))
    }
    await scheduler.idle()
    const bulkStartedAfter = events.slice(events.indexOf('start u') + 1, events.indexOf('reply u'))
    expect(bulkStartedAfter.filter((e) => e.startsWith('start'))).toEqual([])
  })
})
