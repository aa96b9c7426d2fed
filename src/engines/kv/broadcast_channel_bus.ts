import type { Bus, BusHandler, BusMessage, GapHandler } from "../../core/bus.ts";
import { type Subscribed, TopicListeners, TopicSubscriptions } from "../topic_subscriptions.ts";

/** What crosses the channel: a numbered batch of one publisher's messages on one topic. */
interface Packet {
  readonly node: string;
  readonly seq: number;
  /**
   * When the packet numbered `seq - 1` was posted (for a re-announcement with no items: when
   * `seq` itself was). A receiver that subscribed before then should have seen that packet.
   */
  readonly prevAt: number;
  readonly items: BusMessage[];
}

interface Subscription extends Subscribed {
  readonly channel: BroadcastChannel;
  /** When this isolate started listening: earlier packets were never ours to receive. */
  readonly since: number;
  /** The last sequence number seen from each publisher. */
  readonly seen: Map<string, number>;
}

interface Outgoing {
  seq: number;
  items: BusMessage[];
  flushing: boolean;
  lastFlush: number;
  /** When the last number is due to be announced again (0: announced for good). */
  nextMark: number;
}

/** Idle time after a burst before the last sequence number is first announced again. */
const FIRST_MARK_MS = 50;
/** How often it is announced again after that... */
const MARK_EVERY_MS = 1000;
/** ...for how long after the last packet (losses older than this are not worth repairing). */
const MARK_FOR_MS = 30_000;

function isPacket(data: unknown): data is Packet {
  if (typeof data !== "object" || data === null) return false;
  const p = data as Record<string, unknown>;
  return typeof p.node === "string" && typeof p.seq === "number" &&
    typeof p.prevAt === "number" && Array.isArray(p.items);
}

/**
 * A bus over `BroadcastChannel`, spanning the isolates of one Deno process (`deno serve
 * --parallel`, Web Workers), not separate processes.
 *
 * - One channel per topic, open only while this isolate subscribes to it, so an isolate with no
 *   member in a room does no per-message work for it beyond Deno's own name filter.
 * - Messages published in the same turn of the event loop travel as one numbered packet: a burst
 *   of N messages costs a handful of channel posts, not N.
 * - Deno's in-process channel drops messages for a receiver that lags by a few hundred posts.
 *   Packets are numbered per publisher and topic; a jump in the numbers, or a re-announced last
 *   number after a burst that never arrived, calls the subscriber's gap handler.
 */
export class BroadcastChannelBus implements Bus {
  readonly #node: string;
  readonly #subscriptions = new TopicSubscriptions<Subscription>(
    (topic) => this.#open(topic),
    (sub) => sub.channel.close(),
  );
  readonly #publishers = new Map<string, BroadcastChannel>();
  readonly #outgoing = new Map<string, Outgoing>();
  /** Topics with a re-announcement due; one timer serves them all. */
  readonly #marking = new Map<string, Outgoing>();
  #markTimer?: ReturnType<typeof setTimeout>;
  #closed = false;

  /**
   * A bus whose channel names start with `namespace` (so several chats can share a process),
   * publishing as `nodeId` (the hub's node id, so that both name this isolate alike).
   */
  constructor(private readonly namespace = "chat", nodeId: string = crypto.randomUUID()) {
    this.#node = nodeId;
  }

  #channelFor(topic: string): BroadcastChannel {
    const subscribed = this.#subscriptions.get(topic)?.channel;
    if (subscribed) return subscribed;
    let channel = this.#publishers.get(topic);
    if (!channel) {
      channel = new BroadcastChannel(`${this.namespace}:${topic}`);
      this.#publishers.set(topic, channel);
    }
    return channel;
  }

  /** Queues a message; everything queued in this turn is posted as one packet. */
  publish(topic: string, message: BusMessage): void {
    if (this.#closed) return;
    let out = this.#outgoing.get(topic);
    if (!out) {
      this.#outgoing.set(
        topic,
        out = { seq: 0, items: [], flushing: false, lastFlush: 0, nextMark: 0 },
      );
    }
    out.items.push(message);
    if (out.flushing) return;
    out.flushing = true;
    queueMicrotask(() => this.#flush(topic, out));
  }

  #flush(topic: string, out: Outgoing): void {
    out.flushing = false;
    if (this.#closed || out.items.length === 0) return;
    out.seq++;
    const now = Date.now();
    this.#post(topic, { node: this.#node, seq: out.seq, prevAt: out.lastFlush, items: out.items });
    out.items = [];
    out.lastFlush = now;
    out.nextMark = now + FIRST_MARK_MS;
    this.#marking.set(topic, out);
    this.#markTimer ??= setTimeout(() => this.#mark(), FIRST_MARK_MS);
  }

  /**
   * Re-announces each topic's last number after a burst, then every second for a while: if the
   * burst's last packets were dropped (the receiver was busy), the receivers see the gap then,
   * rather than at the next message, which may never come. One timer serves every topic.
   */
  #mark(): void {
    this.#markTimer = undefined;
    if (this.#closed) return;
    const now = Date.now();
    for (const [topic, out] of this.#marking) {
      if (now < out.nextMark) continue;
      this.#post(topic, { node: this.#node, seq: out.seq, prevAt: out.lastFlush, items: [] });
      out.nextMark = now + MARK_EVERY_MS;
      if (now - out.lastFlush >= MARK_FOR_MS) this.#marking.delete(topic);
    }
    if (this.#marking.size > 0) this.#markTimer = setTimeout(() => this.#mark(), FIRST_MARK_MS);
  }

  #post(topic: string, packet: Packet): void {
    try {
      this.#channelFor(topic).postMessage(packet);
    } catch {
      // A closed channel during shutdown: nothing to deliver to.
    }
  }

  /** Starts receiving `topic`, opening its channel on the first subscription. */
  subscribe(topic: string, handler: BusHandler, onGap?: GapHandler): () => void {
    return this.#subscriptions.subscribe(topic, handler, onGap);
  }

  /** Opens a topic's channel (its publishing channel, if any, is not needed any more). */
  #open(topic: string): Subscription {
    const channel = new BroadcastChannel(`${this.namespace}:${topic}`);
    const listeners = new TopicListeners();
    const sub = { channel, listeners, seen: new Map(), since: Date.now() };
    channel.onmessage = (event: MessageEvent) => this.#receive(sub, event.data);
    this.#publishers.get(topic)?.close();
    this.#publishers.delete(topic);
    return sub;
  }

  #receive(sub: Subscription, data: unknown): void {
    if (!isPacket(data)) return;
    const mark = data.items.length === 0;
    const last = sub.seen.get(data.node);
    if (last !== undefined && (data.seq < last || (data.seq === last && mark))) return;
    sub.seen.set(data.node, data.seq);
    // Report the gap before delivering the packet that revealed it: the subscriber then knows
    // the last message it got before the loss.
    if (this.#lost(sub, data, last)) {
      sub.listeners.gap(data.node);
    }
    sub.listeners.deliver(data.items, data.node);
  }

  /** Whether packets before this one were lost. */
  #lost(sub: Subscription, packet: Packet, last: number | undefined): boolean {
    const mark = packet.items.length === 0;
    if (last !== undefined) return packet.seq > last + (mark ? 0 : 1);
    // The first packet heard from this publisher. What it sent before we listened was never ours;
    // what it sent after (the channel drops the oldest posts of a lagging receiver) was lost.
    if (mark) return packet.prevAt >= sub.since;
    return packet.seq > 1 && packet.prevAt >= sub.since;
  }

  /** Closes every channel and cancels pending announcements. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#markTimer);
    this.#marking.clear();
    for (const { channel } of this.#subscriptions.values()) channel.close();
    for (const channel of this.#publishers.values()) channel.close();
    this.#subscriptions.clear();
    this.#publishers.clear();
  }
}
