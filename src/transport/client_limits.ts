import { ChatError } from "../core/errors.ts";
import { RateLimits } from "../core/rate_limiter.ts";
import type { Clock } from "../core/types.ts";

/**
 * One token bucket per client for writes that come without a socket (HTTP posts, room creation,
 * seed 003's `/chat`, Connect, gRPC), at the socket's own rate: a client is its token's subject
 * when tokens are on, else its address. Refused with `rate_limited` and the seconds to wait.
 */
export class ClientLimits {
  readonly #limits: RateLimits;

  /** Limits of `perSecond` sustained with `burst` at once, per client. */
  constructor(perSecond: number, burst: number, clock: Clock = Date.now) {
    this.#limits = new RateLimits(perSecond, burst, clock);
  }

  /** Takes a token for `client`, or throws `rate_limited` with `retryAfterSeconds`. */
  take(client: string | undefined): void {
    if (client === undefined) return; // no peer known (an embedder's app.request): nothing to key
    const waitMs = this.#limits.take(client);
    if (waitMs === 0) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
    throw new ChatError("rate_limited", "too many requests; slow down", { retryAfterSeconds });
  }
}
