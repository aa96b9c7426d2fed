import { ChatError } from "./errors.ts";
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

/** Limiters kept at most by {@link RateLimits}; full (idle) ones are forgotten first. */
const MAX_TRACKED = 10_000;

/**
 * A token bucket per key (a client, a recipient, a room), made on first use and forgotten once
 * idle, so that the table stays bounded however many keys pass.
 */
export class RateLimits {
  readonly #limiters = new Map<string, RateLimiter>();

  /** Buckets of `burst` tokens refilled at `perSecond`, one per key. */
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {}

  /** Takes a token for `key`: 0 when taken, else the milliseconds until one is free. */
  take(key: string): number {
    let limiter = this.#limiters.get(key);
    if (!limiter) {
      if (this.#limiters.size >= MAX_TRACKED) this.#forgetIdle();
      limiter = new RateLimiter(this.perSecond, this.burst, this.clock);
      this.#limiters.set(key, limiter);
    }
    return limiter.take() ? 0 : Math.max(1, limiter.waitMs());
  }

  /**
   * Takes a token for `key`, or refuses with `rate_limited` (`message`, and the seconds to wait
   * as `retryAfterSeconds`). No key (nobody known to limit, such as an embedder's own call): no
   * limit.
   */
  demand(key: string | undefined, message: string): void {
    if (key === undefined) return;
    const waitMs = this.take(key);
    if (waitMs === 0) return;
    throw new ChatError("rate_limited", message, {
      retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
    });
  }

  /** Drops limiters that are full again, and the oldest half if that is not enough. */
  #forgetIdle(): void {
    for (const [key, limiter] of this.#limiters) {
      if (limiter.isFull()) this.#limiters.delete(key);
    }
    if (this.#limiters.size < MAX_TRACKED) return;
    let drop = this.#limiters.size / 2;
    for (const key of this.#limiters.keys()) {
      if (drop-- <= 0) break;
      this.#limiters.delete(key);
    }
  }
}
