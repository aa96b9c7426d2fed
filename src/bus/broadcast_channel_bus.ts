import type { Bus, BusHandler, BusMessage } from "../core/bus.ts";

interface Channel {
  readonly channel: BroadcastChannel;
  readonly handlers: Set<BusHandler>;
}

/**
 * A bus over `BroadcastChannel`: one channel per topic, opened while this isolate subscribes to
 * it, so an isolate with no member in a room receives none of that room's messages. It spans the
 * isolates of one Deno process (`deno serve --parallel`, Web Workers), not separate processes.
 * A message crosses to each other isolate once, whatever the number of sockets there.
 */
export class BroadcastChannelBus implements Bus {
  readonly #channels = new Map<string, Channel>();
  readonly #publishers = new Map<string, BroadcastChannel>();

  /** A bus whose channel names start with `namespace` (so several chats can share a process). */
  constructor(private readonly namespace = "chat") {}

  #name(topic: string): string {
    return `${this.namespace}:${topic}`;
  }

  /** Posts to the topic's channel (a publish-only channel if this isolate is not subscribed). */
  publish(topic: string, message: BusMessage): void {
    let channel = this.#channels.get(topic)?.channel ?? this.#publishers.get(topic);
    if (!channel) {
      channel = new BroadcastChannel(this.#name(topic));
      this.#publishers.set(topic, channel);
    }
    channel.postMessage(message);
  }

  /** Starts receiving `topic`, opening its channel on the first subscription. */
  subscribe(topic: string, handler: BusHandler): () => void {
    let entry = this.#channels.get(topic);
    if (!entry) {
      const channel = new BroadcastChannel(this.#name(topic));
      const handlers = new Set<BusHandler>();
      channel.onmessage = (event: MessageEvent<BusMessage>) => {
        for (const h of handlers) h(event.data);
      };
      entry = { channel, handlers };
      this.#channels.set(topic, entry);
      this.#publishers.get(topic)?.close();
      this.#publishers.delete(topic);
    }
    entry.handlers.add(handler);
    const { channel, handlers } = entry;
    return () => {
      handlers.delete(handler);
      if (handlers.size === 0 && this.#channels.get(topic)?.channel === channel) {
        channel.close();
        this.#channels.delete(topic);
      }
    };
  }

  /** Closes every channel. */
  close(): void {
    for (const { channel } of this.#channels.values()) channel.close();
    for (const channel of this.#publishers.values()) channel.close();
    this.#channels.clear();
    this.#publishers.clear();
  }
}
