/** A message that crosses isolates; structured-cloneable plain data. */
export type BusMessage = Record<string, unknown>;

/** Handles a message published by another node; `from` identifies that publisher on the bus. */
export type BusHandler = (message: BusMessage, from: string) => void;

/** Told that messages of a topic from `node` were lost in transit (the bus saw a gap). */
export type GapHandler = (node: string) => void;

/**
 * How isolates talk. A message published on a topic reaches every *other* node subscribed to the
 * topic at most once, in the order published by that node. A bus that can lose messages (as
 * `BroadcastChannel` does when a receiver lags) must detect the loss and call the gap handler, so
 * that the hub can repair from the store or ask for a fresh presence sync.
 *
 * Publication by commit: on the KV bus and on Redis, a room's stored events (`room:<id>` topics)
 * are announced by the store's commit itself — KV watchers see the room's head move, Redis's
 * append script publishes each entry (or, with `CHAT_REDIS_WAIT_REPLICAS`, the store does once
 * replicas have it) — so `publish` on a room topic does nothing there, and a subscriber hears
 * exactly what was committed, never what a failed commit would have announced. On
 * `BroadcastChannel` and the memory bus the hub publishes each stored event after its commit.
 * Either way a room's subscriber gets stored events at most once each, and reports a gap when it
 * may have missed one, only once it is listening again (so that a read of the store then misses
 * nothing).
 *
 * Implementations: `engines/memory/memory_bus.ts`, `engines/kv/broadcast_channel_bus.ts`,
 * `engines/kv/kv_bus.ts`, `engines/redis/redis_bus.ts`.
 */
export interface Bus {
  /** Sends to every other node subscribed to `topic`. */
  publish(topic: string, message: BusMessage): void;
  /** Starts receiving `topic`; returns the function that stops it. */
  subscribe(topic: string, handler: BusHandler, onGap?: GapHandler): () => void;
  /**
   * Resolves once everything published so far has left this node (a bus that publishes
   * asynchronously, such as the KV bus, implements it; the others hand messages off at once).
   */
  drain?(): Promise<void>;
  /** Stops every subscription. */
  close(): void;
}
