/**
 * mqrpc's server memory: RSS sampled over a long run of calls (it should
 * stay flat: nothing per call may be kept), then with idle sessions open
 * (what each session costs, and that heartbeats alone do not grow it).
 * @module
 */
import { readFileSync } from 'node:fs'
import { contender } from './contenders.js'
import type { RssResult } from './results.js'
import { Run } from './rpc-run.js'
import { sleep } from './summary.js'

/** Resident set size of process `pid` in bytes, from /proc. */
function rssOf(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = /^VmRSS:\s+(\d+)/m.exec(status)?.[1]
  return Number(kb) * 1024
}

/** Runs `calls` echo calls against one server, then holds `sessions` idle sessions for `idleSeconds`. */
export async function rssRun(calls: number, sessions: number, idleSeconds: number): Promise<RssResult> {
  const run = new Run(contender('mqrpc'))
  try {
    const server = run.spawn('server', { contender: 'mqrpc', address: run.address, sessions: sessions + 8 }, [])
    await server.waitFor('ready')
    const soak = run.spawn('soak', { contender: 'mqrpc', address: run.address, calls, inFlight: 64, samples: 10 }, [])
    const { samples } = await soak.result<{ samples: [number, number][] }>(600_000)
    await sleep(200)
    const rssBeforeIdle = rssOf(server.child.pid)
    const idlers = run.spawn('idlers', { address: run.address, sessions }, [])
    await idlers.waitFor('open', 60_000)
    const rssWithIdle = rssOf(server.child.pid)
    await sleep(idleSeconds * 1000)
    const rssAfterIdleHeartbeats = rssOf(server.child.pid)
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`
    console.log(
      `  server RSS ${mib(samples[0]?.[1] ?? 0)} after ${samples[0]?.[0]} calls, ${mib(samples.at(-1)?.[1] ?? 0)} after ` +
        `${samples.at(-1)?.[0]}; ${mib(rssBeforeIdle)} before ${sessions} idle sessions, ${mib(rssWithIdle)} with them, ` +
        `${mib(rssAfterIdleHeartbeats)} after ${idleSeconds} s of their heartbeats`,
    )
    return { calls, samples, idleSessions: sessions, rssBeforeIdle, rssWithIdle, rssAfterIdleHeartbeats }
  } finally {
    await run.close()
  }
}
