import type { Clock } from "./types.ts";

/**
 * A token bucket: `burst` tokens at most, refilled at `perSecond`. Each accepted action takes one
 * token; with none left the action is refused, and refusals cost nothing.
 */
export class RateLimiter {
  #tokens: number;
  #last: number;

  /** Starts full, at `clock()`. */
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.#tokens = burst;
    this.#last = clock();
  }

  /** Takes a token if one is left; returns whether the action may go ahead. */
  take(): boolean {
    const now = this.clock();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.perSecond) / 1000);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is next available (0 when one is now). */
  waitMs(): number {
    const elapsed = Math.max(0, this.clock() - this.#last);
    const tokens = Math.min(this.burst, this.#tokens + (elapsed * this.perSecond) / 1000);
    return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) * 1000) / this.perSecond);
  }

  /** Whether the bucket is full again (a limiter nobody used for a while can be forgotten). */
  isFull(): boolean {
    const elapsed = Math.max(0, this.clock() - this.#last);
    return this.#tokens + (elapsed * this.perSecond) / 1000 >= this.burst;
  }
}
