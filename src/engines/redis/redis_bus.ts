import type { Bus, BusHandler, BusMessage, GapHandler } from "../../core/bus.ts";
import { logIdOf } from "../../core/message_changes.ts";
import { writerOf } from "../../core/room_feed.ts";
import { roomTopic, storedNodeMessage } from "../../core/room_feeds.ts";
import type { ChangeEvent, ChatMessage, Logger, ModerationEvent } from "../../core/types.ts";
import { duplicateRedis, type RedisClient } from "./redis_client.ts";
import { RedisKeys } from "./redis_keys.ts";
import type { Announce } from "./redis_store.ts";

/** What travels on a channel: the publisher, its number on the topic (if counted), the message. */
interface Envelope {
  readonly from: string;
  readonly n?: number;
  readonly m: BusMessage;
}

interface Subscription {
  readonly handlers: Set<{ handler: BusHandler; onGap?: GapHandler }>;
  /** The last number seen from each publisher. */
  readonly seen: Map<string, number>;
}

/** Settings of a {@link RedisBus}. */
export interface RedisBusOptions {
  /** This node's id (the hub's). */
  readonly nodeId: string;
  /** The key layout (its prefix names the channels). */
  readonly keys?: RedisKeys;
  /** Structured log lines. */
  readonly log?: Logger;
  /**
   * Topics whose messages the store publishes itself, in the script that commits them (rooms'
   * events, with the Redis store): publishing them here would send them twice.
   */
  readonly publishedByStore?: (topic: string) => boolean;
}

function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== "object" || value === null) return false;
  const e = value as Record<string, unknown>;
  return typeof e.from === "string" && typeof e.m === "object" && e.m !== null &&
    (e.n === undefined || typeof e.n === "number");
}

/**
 * A bus over Redis pub/sub: one channel per topic, one subscriber connection per node. Pub/sub
 * delivers at most once, in order per connection, and loses what is published while a subscriber
 * is disconnected. So each node numbers what it publishes per topic, and a subscriber that sees a
 * number jump reports a gap; and when the subscriber connection comes back (node-redis resubscribes
 * before it says `ready`), every subscription reports a gap, so that rooms repair from the store
 * and presence asks for a full sync.
 */
export class RedisBus implements Bus {
  readonly #pub: RedisClient;
  readonly #sub: RedisClient;
  readonly #keys: RedisKeys;
  readonly #node: string;
  readonly #log?: Logger;
  readonly #publishedByStore: (topic: string) => boolean;
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #counters = new Map<string, number>();
  #closed = false;

  private constructor(pub: RedisClient, sub: RedisClient, options: RedisBusOptions) {
    this.#pub = pub;
    this.#sub = sub;
    this.#keys = options.keys ?? new RedisKeys();
    this.#node = options.nodeId;
    this.#log = options.log;
    this.#publishedByStore = options.publishedByStore ?? (() => false);
    // Every `ready` after the first is a reconnection, with the subscriptions restored.
    sub.on("ready", () => this.#reconnected());
  }

  /** A bus publishing on `client` and subscribing on a second connection made from it. */
  static async open(client: RedisClient, options: RedisBusOptions): Promise<RedisBus> {
    const sub = await duplicateRedis(client, "subscriber", options.log);
    return new RedisBus(client, sub, options);
  }

  /**
   * How the Redis store announces a committed entry of a room so that this bus's subscribers read
   * it as a stored event from this node (the envelope and topic the hub's feeds expect).
   */
  announcer(): Announce {
    return {
      channel: (room) => this.#keys.channel(roomTopic(room)),
      payload: (room: string, entry: ChatMessage | ChangeEvent | ModerationEvent, text: string) => {
        const message = storedNodeMessage(
          room,
          { seq: entry.seq, id: logIdOf(entry), memberId: writerOf(entry) },
          text,
        );
        const envelope: Envelope = { from: this.#node, m: message };
        return JSON.stringify(envelope);
      },
    };
  }

  /** Publishes to the topic's channel (numbered, so that a loss is seen). */
  publish(topic: string, message: BusMessage): void {
    if (this.#closed || this.#publishedByStore(topic)) return;
    const n = (this.#counters.get(topic) ?? 0) + 1;
    this.#counters.set(topic, n);
    const envelope: Envelope = { from: this.#node, n, m: message };
    // A failed publish is lost: subscribers see the number jump at the next one.
    this.#pub.publish(this.#keys.channel(topic), JSON.stringify(envelope)).catch(() => {});
  }

  /** Subscribes to the topic's channel (the first handler of a topic opens it). */
  subscribe(topic: string, handler: BusHandler, onGap?: GapHandler): () => void {
    let subscription = this.#subscriptions.get(topic);
    if (!subscription) {
      const opened: Subscription = { handlers: new Set(), seen: new Map() };
      subscription = opened;
      this.#subscriptions.set(topic, opened);
      this.#sub.subscribe(this.#keys.channel(topic), (payload) => this.#receive(opened, payload))
        .catch((error) => {
          this.#log?.("redis_subscribe_failed", { topic, error: String(error) });
          for (const { onGap } of opened.handlers) onGap?.("*");
        });
    }
    const entry = { handler, onGap };
    subscription.handlers.add(entry);
    const owner = subscription;
    return () => {
      owner.handlers.delete(entry);
      if (owner.handlers.size > 0 || this.#subscriptions.get(topic) !== owner) return;
      this.#subscriptions.delete(topic);
      if (!this.#closed) this.#sub.unsubscribe(this.#keys.channel(topic)).catch(() => {});
    };
  }

  #receive(subscription: Subscription, payload: string): void {
    if (this.#closed) return;
    let envelope: unknown;
    try {
      envelope = JSON.parse(payload);
    } catch {
      return;
    }
    if (!isEnvelope(envelope) || envelope.from === this.#node) return;
    const { from, n, m } = envelope;
    if (n !== undefined) {
      const last = subscription.seen.get(from);
      subscription.seen.set(from, n);
      if (last !== undefined && n > last + 1) {
        for (const { onGap } of subscription.handlers) onGap?.(from);
      }
    }
    for (const { handler } of subscription.handlers) handler(m, from);
  }

  #reconnected(): void {
    if (this.#closed) return;
    this.#log?.("redis_resubscribed", { topics: this.#subscriptions.size });
    for (const subscription of this.#subscriptions.values()) {
      subscription.seen.clear();
      for (const { onGap } of subscription.handlers) onGap?.("*");
    }
  }

  /** Resolves once what was published has been written to Redis. */
  async drain(): Promise<void> {
    if (this.#pub.isReady) await this.#pub.ping().catch(() => {});
  }

  /** Stops every subscription and closes the subscriber connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscriptions.clear();
    this.#sub.close().catch(() => this.#sub.destroy());
  }
}
