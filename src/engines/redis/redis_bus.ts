import type { Bus, BusHandler, BusMessage, GapHandler } from "../../core/bus.ts";
import { type Subscribed, TopicListeners, TopicSubscriptions } from "../topic_subscriptions.ts";
import { logIdOf } from "../../core/message_changes.ts";
import { writerOf } from "../../core/room_feed.ts";
import { roomOfTopic, roomTopic, storedNodeMessage } from "../../core/room_feeds.ts";
import type { ChangeEvent, ChatMessage, Logger, ModerationEvent } from "../../core/types.ts";
import type { RedisLink } from "./redis_link.ts";
import type { RedisSubscriber } from "./redis_subscriber.ts";
import { RedisKeys } from "./redis_keys.ts";
import type { Announce } from "./redis_store.ts";

/** What travels on a channel: the publisher, its number on the topic (if counted), the message. */
interface Envelope {
  readonly from: string;
  readonly n?: number;
  readonly m: BusMessage;
}

interface Subscription extends Subscribed {
  /** The topic's channels (more than one when the topic is spread over a cluster's shards). */
  readonly channels: readonly string[];
  /** The last number seen from each publisher, per channel. */
  readonly seen: Map<string, Map<string, number>>;
}

/** Settings of a {@link RedisBus}. */
export interface RedisBusOptions {
  /** This node's id (the hub's). */
  readonly nodeId: string;
  /** The key layout (its prefix names the channels). */
  readonly keys?: RedisKeys;
  /**
   * How many channels a topic other than a room's is spread over (1 on one Redis). On a Cluster,
   * each node publishes on one of them (picked by its id) and listens to all, so that the nodes'
   * heartbeats and presence do not all go through one shard.
   */
  readonly spread?: number;
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
 * A bus over Redis pub/sub (sharded pub/sub on a Cluster): one channel per topic, one subscriber
 * per node. Pub/sub delivers at most once, in order per connection, and loses what is published
 * while a subscriber is disconnected. So each node numbers what it publishes per topic, and a
 * subscriber that sees a number jump reports a gap; and when the subscriber says a channel may
 * have lost messages (a reconnection, a failover, a moved slot), every handler of its topic is
 * told, so that rooms repair from the store and presence asks for a full sync.
 */
export class RedisBus implements Bus {
  readonly #link: RedisLink;
  readonly #sub: RedisSubscriber;
  readonly #keys: RedisKeys;
  readonly #node: string;
  readonly #log?: Logger;
  readonly #publishedByStore: (topic: string) => boolean;
  readonly #spread: number;
  /** The part of a spread topic this node publishes on. */
  readonly #part: number;
  readonly #subscriptions = new TopicSubscriptions<Subscription>(
    (topic) => this.#open(topic),
    (sub) => {
      for (const channel of sub.channels) {
        this.#topicOfChannel.delete(channel);
        if (!this.#closed) this.#sub.unsubscribe(channel).catch(() => {});
      }
    },
  );
  readonly #topicOfChannel = new Map<string, string>();
  readonly #counters = new Map<string, number>();
  /** Publications not yet answered by Redis. */
  readonly #sending = new Set<Promise<void>>();
  #closed = false;

  private constructor(link: RedisLink, sub: RedisSubscriber, options: RedisBusOptions) {
    this.#link = link;
    this.#sub = sub;
    this.#keys = options.keys ?? new RedisKeys();
    this.#node = options.nodeId;
    this.#log = options.log;
    this.#publishedByStore = options.publishedByStore ?? (() => false);
    this.#spread = Math.max(1, options.spread ?? 1);
    let hash = 0;
    for (const char of this.#node) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
    this.#part = hash % this.#spread;
    sub.onLoss((channels) => this.#lost(channels));
  }

  /** A bus publishing through `link` and subscribing on a subscriber of its own. */
  static async open(link: RedisLink, options: RedisBusOptions): Promise<RedisBus> {
    return new RedisBus(link, await link.subscriber(), options);
  }

  /** The channels of a topic (a room's has one, in the room's slot). */
  #channels(topic: string): string[] {
    if (this.#spread === 1 || roomOfTopic(topic) !== undefined) return [this.#keys.channel(topic)];
    return Array.from({ length: this.#spread }, (_, part) => this.#keys.channel(topic, part));
  }

  /** The channel this node publishes a topic on. */
  #channel(topic: string): string {
    if (this.#spread === 1 || roomOfTopic(topic) !== undefined) return this.#keys.channel(topic);
    return this.#keys.channel(topic, this.#part);
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
    const sent = this.#link.publish(this.#channel(topic), JSON.stringify(envelope))
      .then(() => {}, () => {})
      .finally(() => this.#sending.delete(sent));
    this.#sending.add(sent);
  }

  /** Subscribes to the topic's channel(s) (the first handler of a topic opens them). */
  subscribe(topic: string, handler: BusHandler, onGap?: GapHandler): () => void {
    return this.#subscriptions.subscribe(topic, handler, onGap);
  }

  /** Subscribes a topic's channels on Redis (for its first handler). */
  #open(topic: string): Subscription {
    const channels = this.#channels(topic);
    const opened: Subscription = { listeners: new TopicListeners(), channels, seen: new Map() };
    for (const channel of channels) {
      this.#topicOfChannel.set(channel, topic);
      const seen = new Map<string, number>();
      opened.seen.set(channel, seen);
      this.#sub.subscribe(channel, (payload) => this.#receive(opened, seen, payload))
        .catch((error) => {
          this.#log?.("redis_subscribe_failed", { topic, error: String(error) });
          opened.listeners.gap("*");
        });
    }
    return opened;
  }

  #receive(subscription: Subscription, seen: Map<string, number>, payload: string): void {
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
      const last = seen.get(from);
      seen.set(from, n);
      if (last !== undefined && n > last + 1) {
        subscription.listeners.gap(from);
      }
    }
    subscription.listeners.deliver([m], from);
  }

  /** Channels that may have lost messages, subscribed again: their topics' handlers repair. */
  #lost(channels: readonly string[]): void {
    if (this.#closed) return;
    const topics = new Set<string>();
    for (const channel of channels) {
      const topic = this.#topicOfChannel.get(channel);
      if (topic !== undefined) topics.add(topic);
    }
    this.#log?.("redis_resubscribed", { topics: topics.size });
    for (const topic of topics) {
      const subscription = this.#subscriptions.get(topic);
      if (!subscription) continue;
      for (const channel of channels) subscription.seen.get(channel)?.clear();
      subscription.listeners.gap("*");
    }
  }

  /** Resolves once what was published has been written to Redis. */
  async drain(): Promise<void> {
    await Promise.all(this.#sending);
  }

  /** Stops every subscription and closes the subscriber. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscriptions.clear();
    this.#sub.close().catch(() => {});
  }
}
