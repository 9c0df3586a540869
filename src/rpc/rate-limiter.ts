/**
 * A token bucket: `rate` calls per second, bursts up to one second's worth.
 * @module
 */
export class RateLimiter {
  private tokens: number
  private last = Date.now()

  constructor(private readonly rate: number) {
    this.tokens = rate
  }

  /** Takes one token; false when the bucket is empty. */
  take(now = Date.now()): boolean {
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate)
    this.last = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}
