/**
 * Putting bodies back together from frames, within bounds: the total size
 * of one body, how many partial bodies one peer may hold open, and how long
 * a partial body may wait for its next chunk. A peer that breaks a bound
 * loses that body, not the session.
 * @module
 */
import type { Frame } from './frame.js'

/** Bounds on reassembly, per peer. */
export type ReassemblyLimits = Readonly<{
  /** Largest body in bytes. Defaults to 16 MiB. */
  maxBodyBytes?: number
  /** Partial bodies held at once. Defaults to 16. */
  maxPartials?: number
  /** How long a partial body may wait for its next chunk, in ms. Defaults to 10000. */
  partialTimeoutMs?: number
}>

/** Why a body was dropped. */
export class ReassemblyError extends Error {
  override readonly name = 'ReassemblyError'
  constructor(
    message: string,
    readonly reason: 'too-large' | 'too-many-partials' | 'out-of-order' | 'timeout',
    readonly callId: number,
    readonly type: number,
  ) {
    super(message)
  }
}

const EMPTY = new Uint8Array(0)

// How many dropped bodies are remembered, so their later chunks are ignored.
const DROPPED_MEMORY = 64

interface Partial {
  readonly bodyLength: number
  // Grown by doubling as chunks come, up to bodyLength: memory follows what
  // a peer has sent (at most twice it), not what its header claims it will
  // send; a few allocations per body rather than one per chunk, and the
  // last growth leaves exactly the body, with no joining copy.
  bytes: Uint8Array
  received: number
  lastChunkAt: number
}

/** `partial.bytes`, grown (if need be) to hold `more` bytes past what was received. */
function roomFor(partial: Partial, more: number): Uint8Array {
  const needed = partial.received + more
  if (needed <= partial.bytes.length) return partial.bytes
  const grown = new Uint8Array(Math.min(partial.bodyLength, Math.max(needed, partial.bytes.length * 2)))
  grown.set(partial.bytes.subarray(0, partial.received))
  partial.bytes = grown
  return grown
}

export class Reassembler {
  readonly maxBodyBytes: number
  readonly maxPartials: number
  readonly partialTimeoutMs: number
  private readonly partials = new Map<number, Partial>()
  private readonly dropped = new Set<number>()

  constructor(limits: ReassemblyLimits = {}) {
    this.maxBodyBytes = limits.maxBodyBytes ?? 16 * 1024 * 1024
    this.maxPartials = limits.maxPartials ?? 16
    this.partialTimeoutMs = limits.partialTimeoutMs ?? 10_000
  }

  /** Partial bodies held now. */
  get pending(): number {
    return this.partials.size
  }

  /**
   * Takes one frame. Returns the whole body when this frame completes it;
   * undefined while more chunks are due. A body that came in one frame is
   * that frame's chunk, a view of the received message, valid only until
   * the message's handler returns: decode it before then (decodeBody keeps
   * nothing of it). One put together from chunks is the caller's to keep.
   * Throws ReassemblyError when a bound is broken; that body is dropped.
   * `now` stamps a partial body for sweep(); by default the clock, read only
   * when there is a partial body (a whole one, nearly every call, needs none).
   */
  accept(frame: Frame, now?: number): Uint8Array | undefined {
    const { offset, callId, type } = frame
    // Calls and events are numbered apart, so the key holds the type too.
    const key = type * 0x1_0000_0000 + callId
    // The rest of a body already dropped is dropped quietly: one error per
    // body, not one per frame.
    if (this.dropped.size > 0) {
      if (offset > 0 && this.dropped.has(key)) return undefined
      this.dropped.delete(key)
    }
    try {
      return this.take(key, frame, now)
    } catch (error) {
      this.remember(key)
      throw error
    }
  }

  private remember(key: number): void {
    this.dropped.add(key)
    if (this.dropped.size > DROPPED_MEMORY) {
      const oldest = this.dropped.values().next().value as number
      this.dropped.delete(oldest)
    }
  }

  private take(key: number, frame: Frame, now: number | undefined): Uint8Array | undefined {
    const { bodyLength, offset, chunk, callId, type } = frame
    if (bodyLength > this.maxBodyBytes) {
      this.partials.delete(key)
      throw new ReassemblyError(
        `body of ${bodyLength} bytes exceeds the limit of ${this.maxBodyBytes} bytes (maxBodyBytes)`,
        'too-large',
        callId,
        type,
      )
    }
    const chunkLength = chunk.length
    if (offset === 0 && chunkLength === bodyLength) {
      // The common case, a whole body in one frame: no map to touch unless
      // a partial body of this key was left (a sender that restarted it).
      if (this.partials.size > 0) this.partials.delete(key)
      // Not copied: decoded at once (decodeBody keeps nothing of it).
      return chunk
    }
    const chunkAt = now ?? Date.now()
    let partial = this.partials.get(key)
    if (offset === 0) {
      if (partial === undefined && this.partials.size >= this.maxPartials) {
        throw new ReassemblyError(
          `more than ${this.maxPartials} partial bodies in flight (maxPartials)`,
          'too-many-partials',
          callId,
          type,
        )
      }
      partial = { bodyLength, bytes: EMPTY, received: 0, lastChunkAt: chunkAt }
      this.partials.set(key, partial)
    } else if (partial === undefined || partial.received !== offset || partial.bodyLength !== bodyLength) {
      this.partials.delete(key)
      throw new ReassemblyError(
        `chunk at offset ${offset} of a ${bodyLength}-byte body does not continue what was received`,
        'out-of-order',
        callId,
        type,
      )
    }
    roomFor(partial, chunkLength).set(chunk, partial.received)
    partial.received += chunkLength
    partial.lastChunkAt = chunkAt
    if (partial.received < bodyLength) return undefined
    this.partials.delete(key)
    return partial.bytes
  }

  /** Drops partial bodies that waited too long; returns what was dropped. */
  sweep(now = Date.now()): ReassemblyError[] {
    const dropped: ReassemblyError[] = []
    for (const [key, partial] of this.partials) {
      if (now - partial.lastChunkAt <= this.partialTimeoutMs) continue
      this.partials.delete(key)
      this.remember(key)
      const callId = key % 0x1_0000_0000
      const type = Math.floor(key / 0x1_0000_0000)
      dropped.push(
        new ReassemblyError(
          `partial body waited more than ${this.partialTimeoutMs} ms for its next chunk (partialTimeoutMs)`,
          'timeout',
          callId,
          type,
        ),
      )
    }
    return dropped
  }

  /** Forgets everything held. */
  clear(): void {
    this.partials.clear()
    this.dropped.clear()
  }
}
