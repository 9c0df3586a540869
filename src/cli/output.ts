/**
 * How the verbs print: values as JSON (binary as `{"$binary": base64}`),
 * aligned tables, byte counts, owners and modes.
 * @module
 */
import { readFileSync } from 'node:fs'

/**
 * A JSON-safe copy of a value from the wire: a Uint8Array becomes
 * `{"$binary": "<base64>"}`, a bigint a number (or a string when it does
 * not fit a double exactly), a Map an object, undefined null.
 */
export function toJsonValue(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return { $binary: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  if (value === undefined) return null
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toJsonValue(v)]))
  if (Array.isArray(value)) return value.map(toJsonValue)
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v)]))
  }
  return value
}

/**
 * The reverse for input typed on the command line: every object that is
 * exactly `{"$binary": "<base64>"}` becomes a Uint8Array.
 */
export function fromJsonValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJsonValue)
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value)
    const binary = (value as Record<string, unknown>).$binary
    if (keys.length === 1 && typeof binary === 'string') return new Uint8Array(Buffer.from(binary, 'base64'))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromJsonValue(v)]))
  }
  return value
}

/** JSON text of a wire value; one line unless `indent` is given. */
export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(toJsonValue(value), null, indent)
}

/** Prints one JSON line on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${jsonText(value)}\n`)
}

/** Lines of an aligned table; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)]
}

/** `819200` as `819,200 bytes (800 KiB)`. */
export function bytesText(bytes: number): string {
  const plain = `${bytes.toLocaleString('en-US')} bytes`
  if (bytes < 1024) return plain
  const units = ['KiB', 'MiB', 'GiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${plain} (${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]})`
}

/** A mode as four octal digits, like `ls -l` users expect from chmod: `0622`. */
export function modeText(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`
}

function namesFrom(file: string): Map<number, string> {
  const names = new Map<number, string>()
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [name, , id] = line.split(':')
      if (name !== undefined && id !== undefined && /^\d+$/.test(id) && !names.has(Number(id))) names.set(Number(id), name)
    }
  } catch {
    // No such file (a minimal container): numbers it is.
  }
  return names
}

let users: Map<number, string> | undefined
let groups: Map<number, string> | undefined

/** The user's name from /etc/passwd, else the number. */
export function userName(uid: number): string {
  users ??= namesFrom('/etc/passwd')
  return users.get(uid) ?? String(uid)
}

/** The group's name from /etc/group, else the number. */
export function groupName(gid: number): string {
  groups ??= namesFrom('/etc/group')
  return groups.get(gid) ?? String(gid)
}
