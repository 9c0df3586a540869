/**
 * Names the JIT code in a callgrind profile of a Node process: callgrind
 * knows V8's generated code only by address (`???:0x...`), and Node writes
 * where each function's code lies to `/tmp/perf-PID.map` when run with
 * `--perf-basic-prof`. Joins the two and prints the largest items, self
 * instructions per call.
 *
 *   node --import tsx bench/callgrind-names.ts CALLGRIND_FILE PERF_MAP CALLS [TOP]
 *
 * `bench/instructions.ts --profile DIR` leaves both files in DIR.
 * @module
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

interface CodeRange {
  readonly start: number
  readonly end: number
  readonly name: string
}

/** The perf map's ranges, sorted by start. */
function readPerfMap(path: string): CodeRange[] {
  const ranges: CodeRange[] = []
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const [start, size, ...name] = line.split(' ')
    if (start === undefined || size === undefined || name.length === 0) continue
    const from = Number.parseInt(start, 16)
    ranges.push({ start: from, end: from + Number.parseInt(size, 16), name: name.join(' ') })
  }
  return ranges.sort((a, b) => a.start - b.start)
}

/** The range holding `address`, by binary search. */
function rangeOf(ranges: readonly CodeRange[], address: number): CodeRange | undefined {
  let low = 0
  let high = ranges.length - 1
  while (low <= high) {
    const middle = (low + high) >>> 1
    const range = ranges[middle] as CodeRange
    if (address < range.start) high = middle - 1
    else if (address >= range.end) low = middle + 1
    else return range
  }
  return undefined
}

/** Self instructions per function, JIT code named by the perf map, largest first. */
export function namedCosts(callgrindFile: string, perfMap: string): { total: number; costs: [string, number][] } {
  const ranges = readPerfMap(perfMap)
  const annotated = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', callgrindFile], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  })
  const costs = new Map<string, number>()
  let total = 0
  for (const line of annotated.split('\n')) {
    const match = /^\s*([\d,]+)\s+\([\s\d.]+%\)\s+(.*)$/.exec(line)
    if (match === null) continue
    const instructions = Number((match[1] as string).replaceAll(',', ''))
    const where = match[2] as string
    if (where.includes('PROGRAM TOTALS')) {
      total = instructions
      continue
    }
    const jit = /^\?\?\?:0x([0-9a-f]+)/.exec(where)
    const name = jit
      ? (rangeOf(ranges, Number.parseInt(jit[1] as string, 16))?.name ?? 'JIT code not in the map')
      : where.replace(/\s*\[.*\]$/, '').replace(/^[^:]*:/, '')
    costs.set(name, (costs.get(name) ?? 0) + instructions)
  }
  return { total, costs: [...costs].sort((a, b) => b[1] - a[1]) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, map, calls, top = '40'] = process.argv.slice(2)
  if (file === undefined || map === undefined || calls === undefined) {
    console.error('usage: callgrind-names.ts CALLGRIND_FILE PERF_MAP CALLS [TOP]')
    process.exit(2)
  }
  const { total, costs } = namedCosts(file, map)
  const perCall = (n: number) => Math.round(n / Number(calls))
  console.log(`${perCall(total)} instructions per call in all; self instructions per call:`)
  for (const [name, instructions] of costs.slice(0, Number(top))) {
    console.log(
      `${String(perCall(instructions)).padStart(8)}  ${((100 * instructions) / total).toFixed(1).padStart(5)}%  ${name}`,
    )
  }
}
