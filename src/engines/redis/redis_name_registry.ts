import type { NameRegistry } from "../../core/name_registry.ts";
import type { Logger } from "../../core/types.ts";
import { RedisKeys } from "./redis_keys.ts";
import type { RedisLink } from "./redis_link.ts";
import { CLAIM_NAME, RELEASE_NAME } from "./redis_scripts.ts";
import { storeFailed } from "../store_errors.ts";

/** Settings of a {@link RedisNameRegistry}. */
export interface RedisNameRegistryOptions {
  /** This node's id: its claims live while its liveness key does. */
  readonly nodeId: string;
  /** How long a node's claims outlive its last sign of life, in ms (the presence timeout). */
  readonly ttlMs: number;
  /** How often the node says it is alive, in ms. */
  readonly heartbeatMs: number;
  readonly keys?: RedisKeys;
  readonly log?: Logger;
}

/**
 * Display names claimed in Redis: a hash from name key to "<member id> <node id>", and per node a
 * liveness key with a time to live that the node renews every heartbeat. A claim by another member
 * stands while its node is alive; a node killed with `-9` stops renewing, and its names are free
 * again after the time to live (the presence timeout), when its members have left everywhere too.
 */
export class RedisNameRegistry implements NameRegistry {
  readonly #link: RedisLink;
  readonly #keys: RedisKeys;
  readonly #options: RedisNameRegistryOptions;
  /** This node's claims, by name key, with how many of its connections hold each. */
  readonly #held = new Map<string, { memberId: string; count: number }>();
  #timer?: ReturnType<typeof setInterval>;

  private constructor(link: RedisLink, options: RedisNameRegistryOptions) {
    this.#link = link;
    this.#keys = options.keys ?? new RedisKeys();
    this.#options = options;
  }

  /** Starts a registry: marks the node alive and keeps it so every heartbeat. */
  static async start(
    link: RedisLink,
    options: RedisNameRegistryOptions,
  ): Promise<RedisNameRegistry> {
    const registry = new RedisNameRegistry(link, options);
    await registry.#beat();
    registry.#timer = setInterval(() => {
      registry.#beat().catch((error) =>
        options.log?.("redis_heartbeat_failed", { error: String(error) })
      );
    }, options.heartbeatMs);
    return registry;
  }

  async #beat(): Promise<void> {
    const key = this.#keys.nodeAlivePrefix + this.#options.nodeId;
    await this.#link.send(["SET", key, "1", "PX", String(this.#options.ttlMs)], key);
  }

  /** Claims a name for a member (a second connection of the same member shares the claim). */
  async claim(key: string, memberId: string): Promise<boolean> {
    const k = this.#keys;
    let claimed: number;
    try {
      claimed = await this.#link.script(CLAIM_NAME, [k.nameClaims], [
        key,
        memberId,
        this.#options.nodeId,
        k.nodeAlivePrefix,
      ]) as number;
    } catch (error) {
      throw storeFailed(error);
    }
    if (claimed !== 1) return false;
    const held = this.#held.get(key);
    if (held?.memberId === memberId) held.count++;
    else this.#held.set(key, { memberId, count: 1 });
    return true;
  }

  /** Releases a claim once the last connection of this node holding it lets it go. */
  release(key: string, memberId: string): void {
    const held = this.#held.get(key);
    if (!held || held.memberId !== memberId) return;
    if (--held.count > 0) return;
    this.#held.delete(key);
    this.#link.script(RELEASE_NAME, [this.#keys.nameClaims], [key, memberId, this.#options.nodeId])
      .catch(() => {}); // Redis away: the claim lapses with this node's liveness key
  }

  /** Releases every claim of this node and stops its heartbeat. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    for (const [key, { memberId }] of this.#held) {
      this.#held.set(key, { memberId, count: 1 });
      this.release(key, memberId);
    }
    const alive = this.#keys.nodeAlivePrefix + this.#options.nodeId;
    await this.#link.send(["DEL", alive], alive).catch(() => {});
  }
}
