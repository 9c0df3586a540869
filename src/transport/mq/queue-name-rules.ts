/**
 * Queue names: the kernel's rules, checked before any syscall so that the
 * error can say what is wrong instead of a bare EINVAL.
 * @module
 */

/** The kernel's NAME_MAX for a queue name, without the leading slash. */
export const QUEUE_NAME_MAX = 255

/** Returns why `name` is not a valid queue name, or undefined when it is. */
export function queueNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `a queue name must be a string, got ${typeof name}`
  if (!name.startsWith('/')) return `queue name ${JSON.stringify(name)} must start with "/" (e.g. "/calc")`
  if (name.length === 1) return 'queue name "/" is empty: give a name after the slash (e.g. "/calc")'
  if (name.indexOf('/', 1) !== -1) {
    return `queue name ${JSON.stringify(name)} holds a "/" after the first character; names are "/" followed by one word with no other "/"`
  }
  if (name.includes('\0')) return `queue name ${JSON.stringify(name)} holds a NUL byte`
  if (Buffer.byteLength(name) - 1 > QUEUE_NAME_MAX) {
    return `queue name is ${Buffer.byteLength(name) - 1} bytes after the "/"; the kernel allows at most ${QUEUE_NAME_MAX}`
  }
  return undefined
}
