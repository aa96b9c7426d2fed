/**
 * What the Redis engine needs of Redis, whether one server (`CHAT_REDIS_URL`) or a Cluster
 * (`CHAT_REDIS_CLUSTER`): commands routed by the key they touch, scripts by hash, publications
 * (plain pub/sub on one server, sharded pub/sub on a cluster, so a room's events travel only
 * through the shard that owns the room), waiting for replicas, and subscribers. The store, the
 * bus and the name claims are written against this and do not know which one they run on.
 *
 * @module
 */
import type { Logger } from "../../core/types.ts";
import {
  closeRedis,
  openRedis,
  openRedisCluster,
  type RedisClient,
  type RedisClusterClient,
} from "./redis_client.ts";
import { ClusterSubscriber, type RedisSubscriber, SingleSubscriber } from "./redis_subscriber.ts";

/** One Redis or a Redis Cluster, as the engine uses it. */
export interface RedisLink {
  /** Whether this is a cluster (keys of one script share a slot; publications are sharded). */
  readonly cluster: boolean;
  /** The command that publishes on a channel, also inside scripts: `PUBLISH` or `SPUBLISH`. */
  readonly publishCommand: "PUBLISH" | "SPUBLISH";
  /** Sends a command; on a cluster, `key` picks the node (the master of its slot). */
  send(args: readonly string[], key?: string): Promise<unknown>;
  /** Runs a Lua script by its hash (sending its source when the server does not have it). */
  script(source: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /** Publishes on a channel (on a cluster, to the shard that owns the channel's slot). */
  publish(channel: string, payload: string): Promise<unknown>;
  /**
   * Waits until `replicas` replicas have every write this process sent to the node that owns
   * `key` (`WAIT`), at most `timeoutMs`; resolves with how many have.
   */
  waitReplicas(key: string, replicas: number, timeoutMs: number): Promise<number>;
  /** How many replicas each master has connected now (`INFO replication`), by address. */
  replicas(): Promise<Map<string, number>>;
  /** A subscriber on its own connection(s). */
  subscriber(): Promise<RedisSubscriber>;
  /** Closes the connection(s). */
  close(): Promise<void>;
}

/** The SHA-1 of a script, as `EVALSHA` names it. */
async function sha1(source: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(source));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The `connected_slaves` of an `INFO replication` answer. */
function connectedReplicas(info: unknown): number {
  return Number(/connected_slaves:(\d+)/.exec(String(info))?.[1] ?? 0);
}

/** Runs scripts by hash, computing each hash once; `NOSCRIPT` sends the source (which loads it). */
class Scripts {
  readonly #hashes = new Map<string, string>();

  constructor(readonly send: (args: readonly string[], key?: string) => Promise<unknown>) {}

  async run(source: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    let hash = this.#hashes.get(source);
    if (hash === undefined) this.#hashes.set(source, hash = await sha1(source));
    const rest = [String(keys.length), ...keys, ...args];
    try {
      return await this.send(["EVALSHA", hash, ...rest], keys[0]);
    } catch (error) {
      if (!String(error).includes("NOSCRIPT")) throw error;
      return await this.send(["EVAL", source, ...rest], keys[0]);
    }
  }
}

/** One Redis server behind one client. */
export class SingleLink implements RedisLink {
  readonly cluster = false;
  readonly publishCommand = "PUBLISH";
  readonly #client: RedisClient;
  readonly #log?: Logger;
  readonly #scripts: Scripts;

  /** A link over a connected client (closed by {@link close}). */
  constructor(client: RedisClient, log?: Logger) {
    this.#client = client;
    this.#log = log;
    this.#scripts = new Scripts((args) => this.#client.sendCommand([...args]));
  }

  /** Connects to `url` (`redis://host:port/db`). */
  static async open(url: string, log?: Logger, timeoutMs?: number): Promise<SingleLink> {
    return new SingleLink(await openRedis(url, "commands", log, timeoutMs), log);
  }

  /** Sends a command on the one connection. */
  send(args: readonly string[]): Promise<unknown> {
    return this.#client.sendCommand([...args]);
  }

  /** Runs a script by its hash. */
  script(source: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return this.#scripts.run(source, keys, args);
  }

  /** `PUBLISH`. */
  publish(channel: string, payload: string): Promise<unknown> {
    return this.#client.sendCommand(["PUBLISH", channel, payload]);
  }

  /** `WAIT` on the one connection (so it covers every write sent before it). */
  async waitReplicas(_key: string, replicas: number, timeoutMs: number): Promise<number> {
    return Number(
      await this.#client.sendCommand(["WAIT", String(replicas), String(timeoutMs)]),
    );
  }

  /** The server's connected replicas. */
  async replicas(): Promise<Map<string, number>> {
    const info = await this.#client.sendCommand(["INFO", "replication"]);
    return new Map([["redis", connectedReplicas(info)]]);
  }

  /** A subscriber on a second connection. */
  subscriber(): Promise<RedisSubscriber> {
    return SingleSubscriber.open(this.#client, this.#log);
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return closeRedis(this.#client);
  }
}

/** Tries of a command told `TRYAGAIN` or `CLUSTERDOWN`, and the pause between, in ms. */
const TRYAGAIN_ATTEMPTS = 25;
const TRYAGAIN_PAUSE_MS = 20;

/** How often failed commands may make a cluster link read the slots again, at most, in ms. */
const REFRESH_EVERY_MS = 100;

/** A Redis Cluster behind node-redis's cluster client. */
export class ClusterLink implements RedisLink {
  readonly cluster = true;
  readonly publishCommand = "SPUBLISH";
  readonly #cluster: RedisClusterClient;
  readonly #log?: Logger;
  readonly #scripts: Scripts;
  /** Whether an error is an answer from Redis (`ErrorReply`), not a missing node. */
  readonly #answered: (error: unknown) => boolean;
  #refreshedAt = 0;
  #closed = false;

  /** A link over a connected cluster client (closed by {@link close}). */
  constructor(
    cluster: RedisClusterClient,
    log?: Logger,
    answered: (error: unknown) => boolean = () => false,
  ) {
    this.#cluster = cluster;
    this.#log = log;
    this.#answered = answered;
    this.#scripts = new Scripts((args, key) => this.send(args, key));
  }

  /** Connects to a cluster through its seed nodes (`host:port`). */
  static async open(
    seeds: readonly string[],
    log?: Logger,
    timeoutMs?: number,
  ): Promise<ClusterLink> {
    const { ErrorReply } = await import("redis");
    const cluster = await openRedisCluster(seeds, log, timeoutMs);
    return new ClusterLink(cluster, log, (error) => error instanceof ErrorReply);
  }

  /**
   * Sends a command to the master of `key`'s slot (any node without a key). While the slot is
   * being moved, a command on several of its keys may be told `TRYAGAIN` (some keys moved, some
   * not; nothing ran), and while the cluster settles (forming, or a failover under way) any
   * command may be told `CLUSTERDOWN` (nothing ran): it is sent again shortly, a few times.
   */
  async send(args: readonly string[], key?: string): Promise<unknown> {
    for (let attempt = 1;; attempt++) {
      try {
        return await this.#cluster.sendCommand(key, false, [...args]);
      } catch (error) {
        const busy = /^(TRYAGAIN|CLUSTERDOWN)/.test(String((error as Error)?.message));
        if (busy && attempt < TRYAGAIN_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, TRYAGAIN_PAUSE_MS));
          continue;
        }
        this.#unreachable(error);
        throw error;
      }
    }
  }

  /**
   * A command failed without an answer from Redis (its node is away: most likely a master that
   * died): the slots are read again at once, and again on later failures (at most every
   * {@link REFRESH_EVERY_MS}), so that writes go to the promoted replica as soon as it serves,
   * not when node-redis's own reconnection schedule gets there (seconds later, measured).
   */
  #unreachable(error: unknown): void {
    if (this.#closed || this.#answered(error)) return;
    const now = Date.now();
    if (now - this.#refreshedAt < REFRESH_EVERY_MS) return;
    this.#refreshedAt = now;
    this.#cluster._slots.rediscover().catch(() => {});
  }

  /** Runs a script on the master of its first key's slot. */
  script(source: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return this.#scripts.run(source, keys, args);
  }

  /** `SPUBLISH` to the shard of the channel's slot. */
  publish(channel: string, payload: string): Promise<unknown> {
    return this.send(["SPUBLISH", channel, payload], channel);
  }

  /**
   * `WAIT` on the connection to the master of `key` (the one the script went through), not on
   * every shard, as node-redis would route a keyless `WAIT`.
   */
  async waitReplicas(key: string, replicas: number, timeoutMs: number): Promise<number> {
    try {
      const node = await this.#cluster.getNodeClientForKey(key);
      return Number(await node.sendCommand(["WAIT", String(replicas), String(timeoutMs)]));
    } catch (error) {
      this.#unreachable(error);
      throw error;
    }
  }

  /** Each master's connected replicas. */
  async replicas(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    await Promise.all(this.#cluster.masters.map(async (master) => {
      const client = await this.#cluster.nodeClient(master);
      counts.set(
        master.address,
        connectedReplicas(await client.sendCommand(["INFO", "replication"])),
      );
    }));
    return counts;
  }

  /** Sharded subscriptions, one connection per shard. */
  subscriber(): Promise<RedisSubscriber> {
    return Promise.resolve(new ClusterSubscriber(this.#cluster, this.#log));
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    try {
      if (this.#cluster.isOpen) await this.#cluster.close();
    } catch {
      this.#cluster.destroy();
    }
  }
}
