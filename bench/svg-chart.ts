/**
 * docs/benchmarks.svg, drawn by hand from one run: for each contender and
 * placement, the p50 round trip of one call at a time (left, shorter is
 * better) and calls/s with 32 in flight (right, longer is better), as
 * horizontal bars with their figures written on them. Plain SVG with its
 * own white background, so it reads the same on any page.
 * @module
 */
import type { ContenderRun } from './results.js'
import { fmt } from './summary.js'

const COLORS: Readonly<Record<string, string>> = {
  mqrpc: '#2f6fdf',
  socket: '#7a7a7a',
  zeromq: '#d9822b',
  grpc: '#3a9d5d',
  nats: '#9b59b6',
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

interface Panel {
  /** Two short lines: a panel is 300 px wide. */
  readonly title: readonly [string, string]
  readonly x: number
  readonly width: number
  readonly value: (run: ContenderRun) => number
  readonly label: (value: number) => string
}

/** The chart as SVG text. */
export function chartSvg(runs: readonly ContenderRun[], subtitle: string): string {
  const labelWidth = 300
  const panelWidth = 300
  const gap = 80
  const rowHeight = 22
  const groupGap = 14
  const top = 84
  const placements = [...new Set(runs.map((r) => r.cpus))]
  const panels: Panel[] = [
    {
      title: ['p50 round trip, one call at a time', '64 B echo, microseconds: shorter is better'],
      x: labelWidth,
      width: panelWidth,
      value: (r) => r.latency.median_us,
      label: (v) => `${fmt(v)} us`,
    },
    {
      title: ['calls per second, 32 in flight', 'one client process: longer is better'],
      x: labelWidth + panelWidth + gap,
      width: panelWidth,
      value: (r) => r.throughput.find((t) => t.inFlight === 32)?.calls_per_s ?? 0,
      label: (v) => fmt(v, 0),
    },
  ]
  const rows = placements.reduce((n, p) => n + runs.filter((r) => r.cpus === p).length, 0)
  const height = top + rows * rowHeight + placements.length * (groupGap + 18) + 20
  const width = labelWidth + 2 * panelWidth + gap + 90
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="bold" fill="#222">mqrpc and other local RPC, one run</text>`,
    `<text x="12" y="40" fill="#555">${escapeXml(subtitle)}</text>`,
  ]
  for (const panel of panels) {
    out.push(`<text x="${panel.x}" y="${top - 26}" font-weight="bold" fill="#333">${escapeXml(panel.title[0])}</text>`)
    out.push(`<text x="${panel.x}" y="${top - 11}" fill="#555">${escapeXml(panel.title[1])}</text>`)
  }
  let y = top
  for (const placement of placements) {
    out.push(
      `<text x="12" y="${y + 12}" font-weight="bold" fill="#333">${escapeXml(placement === 'any' ? 'unpinned (any CPU)' : placement)}</text>`,
    )
    y += 18
    const group = runs.filter((r) => r.cpus === placement)
    for (const run of group) {
      out.push(`<text x="24" y="${y + 15}" fill="#222">${escapeXml(run.label)}</text>`)
      for (const panel of panels) {
        const max = Math.max(...runs.map(panel.value).filter(Number.isFinite), 1)
        const value = panel.value(run)
        const length = Number.isFinite(value) ? Math.max(1, (value / max) * panel.width) : 0
        const color = COLORS[run.contender] ?? '#555'
        out.push(`<rect x="${panel.x}" y="${y + 3}" width="${length.toFixed(1)}" height="${rowHeight - 6}" fill="${color}"/>`)
        out.push(
          `<text x="${(panel.x + length + 4).toFixed(1)}" y="${y + 15}" fill="#222">${escapeXml(panel.label(value))}</text>`,
        )
      }
      y += rowHeight
    }
    y += groupGap
  }
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
