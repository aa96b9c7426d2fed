/** A message that crosses isolates; structured-cloneable plain data. */
export type BusMessage = Record<string, unknown>;

/** Handles a message published by another node. */
export type BusHandler = (message: BusMessage) => void;

/**
 * How isolates talk. A message published on a topic reaches every *other* node subscribed to the
 * topic, once, in the order published by that node. Implementations: `bus/memory_bus.ts`,
 * `bus/broadcast_channel_bus.ts`.
 */
export interface Bus {
  /** Sends to every other node subscribed to `topic`. */
  publish(topic: string, message: BusMessage): void;
  /** Starts receiving `topic`; returns the function that stops it. */
  subscribe(topic: string, handler: BusHandler): () => void;
  /** Stops every subscription. */
  close(): void;
}
