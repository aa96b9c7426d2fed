/**
 * Subscriptions to Redis channels, on one server or sharded over a Cluster, with one promise that
 * makes pub/sub usable for a chat that never loses a stored message: whenever messages of a
 * channel may have been lost (a connection dropped, a master failed over, a slot moved), the
 * subscriber says so — *after* the channel is subscribed again, so that whoever reads the store on
 * hearing it misses nothing published since.
 *
 * @module
 */
import type { Logger } from "../../core/types.ts";
import {
  duplicateRedis,
  openNodeClient,
  type RedisClient,
  type RedisClusterClient,
} from "./redis_client.ts";
import { keySlot } from "./cluster_slots.ts";

/** Receives a message of a channel. */
export type ChannelListener = (payload: string) => void;

/** Subscriptions on their own connection(s). */
export interface RedisSubscriber {
  /** Subscribes to a channel; resolves once Redis has confirmed it. */
  subscribe(channel: string, listener: ChannelListener): Promise<void>;
  /** Stops a subscription. */
  unsubscribe(channel: string): Promise<void>;
  /**
   * Told of channels whose messages may have been lost, once they are subscribed again (a read of
   * the store after this call sees everything the subscription missed).
   */
  onLoss(handler: (channels: readonly string[]) => void): void;
  /** Closes the connection(s). */
  close(): Promise<void>;
}

/** Subscriptions to one server on one connection, which node-redis reconnects and resubscribes. */
export class SingleSubscriber implements RedisSubscriber {
  readonly #client: RedisClient;
  readonly #channels = new Set<string>();
  #onLoss: (channels: readonly string[]) => void = () => {};

  private constructor(client: RedisClient) {
    this.#client = client;
    // Every `ready` after the first is a reconnection, with the subscriptions already restored.
    client.on("ready", () => this.#onLoss([...this.#channels]));
  }

  /** A subscriber on a second connection made from `client`. */
  static async open(client: RedisClient, log?: Logger): Promise<SingleSubscriber> {
    return new SingleSubscriber(await duplicateRedis(client, "subscriber", log));
  }

  /** `SUBSCRIBE`. */
  async subscribe(channel: string, listener: ChannelListener): Promise<void> {
    this.#channels.add(channel);
    await this.#client.subscribe(channel, listener);
  }

  /** `UNSUBSCRIBE`. */
  async unsubscribe(channel: string): Promise<void> {
    this.#channels.delete(channel);
    await this.#client.unsubscribe(channel);
  }

  /** See {@link RedisSubscriber.onLoss}. */
  onLoss(handler: (channels: readonly string[]) => void): void {
    this.#onLoss = handler;
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    this.#channels.clear();
    await this.#client.close().catch(() => this.#client.destroy());
  }
}

/** A shard's subscriber connection. */
interface Shard {
  readonly address: string;
  readonly client: Promise<RedisClient>;
  readonly channels: Set<string>;
}

/** A channel this subscriber holds, and the shard it is subscribed on (none while moving). */
interface Held {
  readonly listener: ChannelListener;
  shard?: string;
  /** Whether it was subscribed before (a re-subscription reports a loss; the first does not). */
  placed: boolean;
}

/** The longest wait between attempts to resubscribe, in ms. */
const MAX_RETRY_MS = 500;

/**
 * Sharded subscriptions over a Redis Cluster (`SSUBSCRIBE`): one connection per master that owns
 * a subscribed channel's slot. The connections do not reconnect by themselves: when one drops (a
 * master died), or Redis says a channel's slot moved (a reshard), the subscriber reads the slots
 * again through the cluster client and subscribes each affected channel on the master that owns
 * it now — retrying with backoff until a replica has taken over — and then reports the loss.
 */
export class ClusterSubscriber implements RedisSubscriber {
  readonly #cluster: RedisClusterClient;
  readonly #log?: Logger;
  readonly #shards = new Map<string, Shard>();
  readonly #held = new Map<string, Held>();
  #onLoss: (channels: readonly string[]) => void = () => {};
  #timer?: ReturnType<typeof setTimeout>;
  #repairing = false;
  #again = false;
  #retryMs = 100;
  #closed = false;

  /** A subscriber over the cluster `cluster` knows. */
  constructor(cluster: RedisClusterClient, log?: Logger) {
    this.#cluster = cluster;
    this.#log = log;
  }

  /** `SSUBSCRIBE` on the master that owns the channel's slot. */
  async subscribe(channel: string, listener: ChannelListener): Promise<void> {
    const held: Held = { listener, placed: false };
    this.#held.set(channel, held);
    try {
      await this.#place(channel, held);
    } catch (error) {
      this.#schedule();
      throw error;
    }
  }

  /** `SUNSUBSCRIBE` where the channel is subscribed. */
  async unsubscribe(channel: string): Promise<void> {
    const held = this.#held.get(channel);
    this.#held.delete(channel);
    if (held?.shard !== undefined) await this.#leave(channel, held.shard);
  }

  /** See {@link RedisSubscriber.onLoss}. */
  onLoss(handler: (channels: readonly string[]) => void): void {
    this.#onLoss = handler;
  }

  /** Closes every shard's connection. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#held.clear();
    for (const shard of [...this.#shards.values()]) await this.#drop(shard);
  }

  /** The address of the master that owns the channel's slot, as the cluster client knows it. */
  #owner(channel: string): string {
    const master = this.#cluster.getSlotMaster(keySlot(channel));
    if (!master) throw new Error(`no master known for ${channel}`);
    return master.address;
  }

  async #place(channel: string, held: Held): Promise<void> {
    const shard = this.#shard(this.#owner(channel));
    const client = await shard.client;
    await client.sSubscribe(channel, (payload: string) => {
      if (this.#held.get(channel) === held) held.listener(payload);
    });
    if (this.#held.get(channel) !== held) {
      // Unsubscribed while this was under way.
      await client.sUnsubscribe(channel).catch(() => {});
      return;
    }
    held.shard = shard.address;
    held.placed = true;
    shard.channels.add(channel);
  }

  async #leave(channel: string, address: string): Promise<void> {
    const shard = this.#shards.get(address);
    if (!shard) return;
    shard.channels.delete(channel);
    if (shard.channels.size === 0) {
      await this.#drop(shard);
      return;
    }
    const client = await shard.client.catch(() => undefined);
    await client?.sUnsubscribe(channel).catch(() => {});
  }

  /** The shard connection to `address`, opened on first use. */
  #shard(address: string): Shard {
    const open = this.#shards.get(address);
    if (open) return open;
    const client = openNodeClient(address);
    const shard: Shard = { address, client, channels: new Set() };
    this.#shards.set(address, shard);
    client.then((connected) => {
      connected.on("error", () => this.#lost(shard));
      connected.on("end", () => this.#lost(shard));
      connected.on("sharded-channel-moved", (channel: string) => this.#moved(shard, channel));
    }, () => this.#lost(shard));
    return shard;
  }

  /** A shard's connection failed: its channels move (or come back) once the slots are known. */
  #lost(shard: Shard): void {
    if (this.#closed || this.#shards.get(shard.address) !== shard) return;
    this.#shards.delete(shard.address);
    for (const channel of shard.channels) {
      const held = this.#held.get(channel);
      if (held?.shard === shard.address) held.shard = undefined;
    }
    shard.client.then((client) => client.destroy(), () => {});
    this.#schedule(0);
  }

  /** Redis unsubscribed a channel whose slot left this shard. */
  #moved(shard: Shard, channel: string): void {
    shard.channels.delete(channel);
    const held = this.#held.get(channel);
    if (held?.shard === shard.address) held.shard = undefined;
    this.#schedule(0);
  }

  async #drop(shard: Shard): Promise<void> {
    if (this.#shards.get(shard.address) === shard) this.#shards.delete(shard.address);
    const client = await shard.client.catch(() => undefined);
    if (client) await client.close().catch(() => client.destroy());
  }

  #schedule(delay = this.#retryMs): void {
    if (this.#closed) return;
    if (this.#repairing) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#repair();
    }, delay);
  }

  /** Reads the slots again and subscribes every channel that has no shard on its owner. */
  async #repair(): Promise<void> {
    this.#repairing = true;
    this.#again = false;
    const lost: string[] = [];
    let failed = false;
    try {
      await this.#cluster._slots.rediscover().catch(() => {});
      for (const [channel, held] of [...this.#held]) {
        let owner: string;
        try {
          owner = this.#owner(channel);
        } catch {
          failed = true;
          continue;
        }
        if (held.shard === owner) continue;
        if (held.shard !== undefined) await this.#leave(channel, held.shard);
        held.shard = undefined;
        const before = held.placed;
        try {
          await this.#place(channel, held);
          if (before) lost.push(channel);
        } catch {
          failed = true;
        }
      }
    } finally {
      this.#repairing = false;
    }
    if (lost.length > 0) {
      this.#log?.("redis_resubscribed", { channels: lost.length });
      this.#onLoss(lost);
    }
    if (failed) {
      this.#retryMs = Math.min(MAX_RETRY_MS, this.#retryMs * 2);
      this.#schedule();
    } else {
      this.#retryMs = 100;
      if (this.#again) this.#schedule(0);
    }
  }
}
