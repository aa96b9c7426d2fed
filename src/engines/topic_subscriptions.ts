/**
 * What every bus keeps the same way: per topic, the handlers subscribed on this node, and the one
 * source (a channel, a watch, a Redis subscription) opened for the first of them and closed after
 * the last.
 *
 * @module
 */
import type { BusHandler, BusMessage, GapHandler } from "../core/bus.ts";

/** One subscriber of a topic. */
interface Listener {
  readonly handler: BusHandler;
  readonly onGap?: GapHandler;
}

/** A topic's subscribers on this node. */
export class TopicListeners {
  readonly #listeners = new Set<Listener>();

  /** How many subscribers the topic has. */
  get size(): number {
    return this.#listeners.size;
  }

  /** Adds a subscriber; returns the function that removes it. */
  add(handler: BusHandler, onGap?: GapHandler): () => void {
    const listener = { handler, onGap };
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Hands each message to every subscriber, as published by `from`. */
  deliver(messages: readonly BusMessage[], from: string): void {
    for (const { handler } of this.#listeners) {
      for (const message of messages) handler(message, from);
    }
  }

  /** Tells every subscriber that messages from `from` (`*`: anyone) may have been lost. */
  gap(from: string): void {
    for (const { onGap } of this.#listeners) onGap?.(from);
  }
}

/** What a bus keeps for a subscribed topic: at least its listeners. */
export interface Subscribed {
  readonly listeners: TopicListeners;
}

/** The subscribed topics of a bus, each opened for its first subscriber, closed after its last. */
export class TopicSubscriptions<S extends Subscribed> {
  readonly #topics = new Map<string, S>();

  /** Topics opened with `open` and closed with `close` (not called by {@link clear}). */
  constructor(
    private readonly open: (topic: string) => S,
    private readonly close: (subscription: S) => void,
  ) {}

  /** Subscribes to `topic` (opening it first if needed); returns the function that stops it. */
  subscribe(topic: string, handler: BusHandler, onGap?: GapHandler): () => void {
    let subscription = this.#topics.get(topic);
    if (!subscription) {
      subscription = this.open(topic);
      this.#topics.set(topic, subscription);
    }
    const owner = subscription;
    const remove = owner.listeners.add(handler, onGap);
    return () => {
      remove();
      if (owner.listeners.size > 0 || this.#topics.get(topic) !== owner) return;
      this.#topics.delete(topic);
      this.close(owner);
    };
  }

  /** What is kept for `topic`, while it has subscribers. */
  get(topic: string): S | undefined {
    return this.#topics.get(topic);
  }

  /** Every subscribed topic's subscription. */
  values(): IterableIterator<S> {
    return this.#topics.values();
  }

  /** Forgets every topic (the bus closes its sources itself). */
  clear(): void {
    this.#topics.clear();
  }
}
