import { ChatError } from "../core/errors.ts";
import { RateLimiter } from "../core/rate_limiter.ts";
import type { Clock } from "../core/types.ts";

/** Limiters kept at most; full (idle) ones are forgotten first when there are more. */
const MAX_TRACKED = 10_000;

/**
 * One token bucket per client for writes that come without a socket (HTTP posts, room creation,
 * seed 003's `/chat`, Connect, gRPC), at the socket's own rate: a client is its token's subject
 * when tokens are on, else its address. Refused with `rate_limited` and the seconds to wait.
 */
export class ClientLimits {
  readonly #limiters = new Map<string, RateLimiter>();

  /** Limits of `perSecond` sustained with `burst` at once, per client. */
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: Clock = Date.now,
  ) {}

  /** Takes a token for `client`, or throws `rate_limited` with `retryAfterSeconds`. */
  take(client: string | undefined): void {
    if (client === undefined) return; // no peer known (an embedder's app.request): nothing to key
    let limiter = this.#limiters.get(client);
    if (!limiter) {
      if (this.#limiters.size >= MAX_TRACKED) this.#forgetIdle();
      limiter = new RateLimiter(this.perSecond, this.burst, this.clock);
      this.#limiters.set(client, limiter);
    }
    if (limiter.take()) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(limiter.waitMs() / 1000));
    throw new ChatError("rate_limited", "too many requests; slow down", { retryAfterSeconds });
  }

  /** Drops limiters that are full again, and the oldest half if that is not enough. */
  #forgetIdle(): void {
    for (const [client, limiter] of this.#limiters) {
      if (limiter.isFull()) this.#limiters.delete(client);
    }
    if (this.#limiters.size < MAX_TRACKED) return;
    let drop = this.#limiters.size / 2;
    for (const client of this.#limiters.keys()) {
      if (drop-- <= 0) break;
      this.#limiters.delete(client);
    }
  }
}
