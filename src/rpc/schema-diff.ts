/**
 * Where two versions of a service disagree, in words: which methods or
 * events exist on one side only, and which fields of a schema differ. Used
 * when a server refuses a client whose schema fingerprint is not its own.
 * @module
 */

type Json = unknown

function isRecord(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Paths (JSON-pointer-like) at which two schemas differ, with both values. */
function differences(a: Json, b: Json, path: string, out: string[], limit: number): void {
  if (out.length >= limit) return
  if (isRecord(a) && isRecord(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      differences(a[key], b[key], `${path}/${key}`, out, limit)
    }
    return
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return
  const show = (value: Json) => (value === undefined ? 'absent' : JSON.stringify(value))
  out.push(`${path || '/'}: client ${show(a)}, server ${show(b)}`)
}

/** Lines describing how `client` and `server` shapes (see serviceShape) differ. */
export function diffServiceShapes(client: Json, server: Json, limit = 20): string[] {
  const lines: string[] = []
  const c = isRecord(client) ? client : {}
  const s = isRecord(server) ? server : {}
  for (const kind of ['methods', 'events'] as const) {
    const mine = isRecord(c[kind]) ? (c[kind] as Record<string, Json>) : {}
    const theirs = isRecord(s[kind]) ? (s[kind] as Record<string, Json>) : {}
    const noun = kind === 'methods' ? 'method' : 'event'
    for (const name of Object.keys(mine).sort()) {
      if (!(name in theirs)) lines.push(`${noun} '${name}' exists only in the client`)
    }
    for (const name of Object.keys(theirs).sort()) {
      if (!(name in mine)) {
        lines.push(`${noun} '${name}' exists only on the server`)
        continue
      }
      const fields: string[] = []
      differences(mine[name], theirs[name], '', fields, limit)
      for (const field of fields) lines.push(`${noun} '${name}' differs at ${field}`)
    }
  }
  return lines.slice(0, limit)
}
