/**
 * The check every benchmark's stream reader makes: the elements numbered
 * 0 to n - 1 arrive in order, and all of them.
 * @module
 */

/** Reads `elements` to the end; throws unless they are numbered 0 to `n - 1`, in order. */
export async function readInOrder(elements: AsyncIterable<{ readonly i: number }>, n: number): Promise<void> {
  let expected = 0
  for await (const element of elements) {
    if (element.i !== expected) throw new Error(`element ${element.i} where ${expected} was due`)
    expected++
  }
  if (expected !== n) throw new Error(`stream ended after ${expected} of ${n} elements`)
}
