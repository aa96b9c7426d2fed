import type { Clock } from "../../core/types.ts";
import type { RedisLink } from "./redis_link.ts";

/** How long an append waits for replicas unless told, in ms. */
export const WAIT_TIMEOUT_MS = 1000;

/**
 * How long a room's writes are refused at once after its replicas did not confirm one, in ms
 * (each refused write would otherwise wait the whole `WAIT` timeout to fail).
 */
const UNDER_REPLICATED_MS = 1000;

/**
 * `CHAT_REDIS_WAIT_REPLICAS`: an append is acknowledged only once `wanted` replicas have it
 * (`WAIT` on the connection that ran its script). What a shortfall means: the batch fails — it is
 * not acknowledged — though it is in the room's log on the master, so it is still announced
 * (readers stay level with history; a sender retrying with its idempotency key gets the stored
 * message back); and for the next second the room's writes are refused at once, unstored, before
 * one is tried again (a shard without replicas, after a failover, costs a fast refusal).
 */
export class Replicas {
  readonly #link: RedisLink;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  /** Rooms whose replicas fell short on the last write, and until when writes are refused. */
  readonly #short = new Map<string, number>();

  /** Waits for `wanted` replicas (0: never waits) at most `timeoutMs` per append. */
  constructor(
    link: RedisLink,
    readonly wanted: number,
    clock: Clock,
    timeoutMs = WAIT_TIMEOUT_MS,
  ) {
    this.#link = link;
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
  }

  /** Throws (nothing stored) while the room's replicas fell short a moment ago. */
  admit(room: string): void {
    const until = this.#short.get(room);
    if (until === undefined || this.#clock() >= until) return;
    throw new Error(
      `not stored: the room's shard had fewer than ${this.wanted} replicas a moment ago`,
    );
  }

  /**
   * After a room's script ran on the node of `key`: waits for the replicas, announces the batch
   * (`payloads` on `channel`), and throws if they fell short.
   */
  async confirm(room: string, key: string, channel: string | undefined, payloads: string[]) {
    const confirmed = await this.#link.waitReplicas(key, this.wanted, this.#timeoutMs);
    if (channel !== undefined) {
      for (const payload of payloads) this.#link.publish(channel, payload).catch(() => {});
    }
    if (confirmed >= this.wanted) {
      this.#short.delete(room);
      return;
    }
    this.#short.set(room, this.#clock() + UNDER_REPLICATED_MS);
    throw new Error(
      `stored, but ${confirmed} of ${this.wanted} replicas confirmed it within ${this.#timeoutMs} ms (not acknowledged)`,
    );
  }
}
