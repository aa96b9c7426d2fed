import { serialize } from "node:v8";
import type { Bus, BusHandler, BusMessage, GapHandler } from "../../core/bus.ts";
import { type Subscribed, TopicListeners, TopicSubscriptions } from "../topic_subscriptions.ts";
import type { Logger } from "../../core/types.ts";
import { retryBusy } from "./kv_busy.ts";

/** One publisher's messages of one turn on one topic, as one entry of the topic's log. */
interface Packet {
  readonly node: string;
  readonly items: BusMessage[];
}

/**
 * One message too large for a KV value, cut into consecutive entries of its JSON text: piece `i`
 * of `pieces`, from one publisher, in order (a publisher's appends to a topic never interleave).
 */
interface Piece {
  readonly node: string;
  readonly piece: number;
  readonly pieces: number;
  readonly text: string;
}

/** An entry of a topic's log. */
type Entry = Packet | Piece;

/** A message being put together from its pieces, per publisher. */
interface Assembly {
  next: number;
  readonly parts: string[];
}

interface Outgoing {
  items: BusMessage[];
  flushing: boolean;
  /** Appends of this topic go one at a time, in order. */
  chain: Promise<void>;
  /** The head this node last wrote or read, with the versionstamp to check it against. */
  head?: { n: number; versionstamp: string | null };
}

interface Subscription extends Subscribed {
  /** The last log entry handed out (undefined until the watch first answers). */
  cursor?: number;
  /** The newest head the watch reported. */
  seen: number;
  reading: boolean;
  /** Messages arriving in pieces, by publisher. */
  readonly assembling: Map<string, Assembly>;
  readonly stop: () => void;
}

/** Settings of a {@link KvBus}. */
export interface KvBusOptions {
  /** Prefix of the bus's keys, so that several chats can share one database. */
  readonly namespace?: string;
  /** This node's id (the hub's), carried by every packet. */
  readonly nodeId?: string;
  /** How long log entries are kept; a subscriber that lags longer sees a gap. @default 300_000 */
  readonly retainMs?: number;
  /** Failed appends and reads are logged here. */
  readonly log?: Logger;
  /**
   * For topics whose events the store already holds (a room's topic, when the store is Deno KV on
   * the same database): the store's key that changes with each of them. Such a topic gets no
   * log of its own: publishing is a no-op (the store's commit was the publication), and a
   * subscriber watches that key and is told of every change as a gap, so that it reads the new
   * events from the store by `seq`. One write per message instead of two.
   */
  readonly watchedKey?: (topic: string) => Deno.KvKey | undefined;
}

/**
 * A Deno KV value is at most 64 KiB of its V8 serialisation (a string of Latin-1 characters takes
 * a byte each, any other string two: 40,000 CJK characters are 80,000 bytes). Entries are measured
 * the same way, with room left for the packet's own fields.
 */
const MAX_ENTRY_BYTES = 60 * 1024;
/** Characters of JSON per piece of a message larger than an entry (two bytes each at worst). */
const PIECE_CHARS = MAX_ENTRY_BYTES / 2 - 512;
const MAX_CONFLICTS = 64;
/** `Deno.Kv.list` reads this many entries a round trip. */
const LIST_BATCH = 500;

/**
 * A bus over Deno KV alone: every node that opens the same database is on it (the instances of a
 * Deno Deploy deployment, or the isolates of one process sharing a file). Each topic is a log:
 * a head key (the number of entries) and numbered entries that expire after `retainMs`.
 * Publishing appends the turn's messages as one entry and moves the head in one atomic commit
 * checked against the head (a lost race is retried). Subscribing watches the topic's head (one
 * key per `kv.watch`, inside Deno KV's limit of 10) and, whenever it moves, reads the entries
 * after the last one handed out: a watch reports only the latest value, so ranges are read by
 * number and nothing in between is skipped. An entry that expired before it was read, and the
 * moment a subscription goes live (what was published while it started is not delivered),
 * are reported to the gap handler, so that the subscriber repairs from its store.
 */
export class KvBus implements Bus {
  readonly #kv: Deno.Kv;
  readonly #node: string;
  readonly #ns: string;
  readonly #retainMs: number;
  readonly #log?: Logger;
  readonly #watchedKey: (topic: string) => Deno.KvKey | undefined;
  readonly #outgoing = new Map<string, Outgoing>();
  readonly #subscriptions = new TopicSubscriptions<Subscription>(
    (topic) => {
      const key = this.#watchedKey(topic);
      return key ? this.#watchKey(topic, key) : this.#watch(topic);
    },
    (sub) => sub.stop(),
  );
  #closed = false;

  /** A bus on an open KV handle (which the caller owns and closes after the bus). */
  constructor(kv: Deno.Kv, options: KvBusOptions = {}) {
    this.#kv = kv;
    this.#node = options.nodeId ?? crypto.randomUUID();
    this.#ns = options.namespace ?? "bus";
    this.#retainMs = options.retainMs ?? 300_000;
    this.#log = options.log;
    this.#watchedKey = options.watchedKey ?? (() => undefined);
  }

  #headKey(topic: string): Deno.KvKey {
    return [this.#ns, topic, "head"];
  }

  #entryKey(topic: string, n: number): Deno.KvKey {
    return [this.#ns, topic, "log", n];
  }

  /** Queues a message; everything queued in this turn is appended as one entry (or a few). */
  publish(topic: string, message: BusMessage): void {
    if (this.#closed || this.#watchedKey(topic)) return;
    let out = this.#outgoing.get(topic);
    if (!out) {
      this.#outgoing.set(topic, out = { items: [], flushing: false, chain: Promise.resolve() });
    }
    out.items.push(message);
    if (out.flushing) return;
    out.flushing = true;
    const current = out;
    queueMicrotask(() => {
      current.flushing = false;
      const items = current.items;
      current.items = [];
      for (const packet of this.#packets(items)) {
        current.chain = current.chain
          .then(() => this.#append(topic, current, packet))
          .catch((error) => this.#log?.("kv_bus_publish_failed", { topic, error: String(error) }));
      }
    });
  }

  /**
   * Splits a turn's messages into entries that fit in a KV value, measured in bytes of their V8
   * serialisation (what KV limits); a message larger than one entry goes in pieces.
   */
  #packets(items: BusMessage[]): Entry[] {
    const entries: Entry[] = [];
    let batch: BusMessage[] = [];
    let bytes = 0;
    const flush = () => {
      if (batch.length > 0) entries.push({ node: this.#node, items: batch });
      batch = [];
      bytes = 0;
    };
    for (const item of items) {
      const size = serialize(item).length;
      if (size > MAX_ENTRY_BYTES) {
        flush();
        entries.push(...this.#pieces(item));
        continue;
      }
      if (bytes + size > MAX_ENTRY_BYTES) flush();
      batch.push(item);
      bytes += size;
    }
    flush();
    return entries;
  }

  /** A message's JSON text cut into pieces that each fit in an entry. */
  #pieces(item: BusMessage): Piece[] {
    const text = JSON.stringify(item);
    const pieces = Math.ceil(text.length / PIECE_CHARS);
    return Array.from({ length: pieces }, (_, piece) => ({
      node: this.#node,
      piece,
      pieces,
      text: text.slice(piece * PIECE_CHARS, (piece + 1) * PIECE_CHARS),
    }));
  }

  async #append(topic: string, out: Outgoing, packet: Entry): Promise<void> {
    const headKey = this.#headKey(topic);
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
      if (!out.head) {
        const entry = await retryBusy(() => this.#kv.get<number>(headKey));
        out.head = { n: entry.value ?? 0, versionstamp: entry.versionstamp };
      }
      const n = out.head.n + 1;
      const versionstamp = out.head.versionstamp;
      // A file shared by isolates is locked while another writes: wait for it (as the store does).
      const result = await retryBusy(() =>
        this.#kv.atomic()
          .check({ key: headKey, versionstamp })
          .set(this.#entryKey(topic, n), packet, { expireIn: this.#retainMs })
          .set(headKey, n)
          .commit()
      );
      if (result.ok) {
        out.head = { n, versionstamp: result.versionstamp };
        return;
      }
      out.head = undefined; // another node appended: read the head again
    }
    throw new Error(`the head of ${topic} kept moving (${MAX_CONFLICTS} attempts)`);
  }

  /** Starts receiving `topic`: watches its head and reads what is appended after now. */
  subscribe(topic: string, handler: BusHandler, onGap?: GapHandler): () => void {
    return this.#subscriptions.subscribe(topic, handler, onGap);
  }

  /** Follows the topic's own log: each new head is read by range from the cursor. */
  #watch(topic: string): Subscription {
    return this.#watching(topic, this.#headKey(topic), (sub, value) => {
      const head = typeof value === "number" ? value : 0;
      if (sub.cursor === undefined) {
        // Live from here: what was appended while the watch started is not ours to deliver,
        // so say so, and the subscriber repairs from its store if it cares.
        sub.cursor = head;
        sub.seen = head;
        this.#gap(sub);
        return;
      }
      if (head > sub.seen) sub.seen = head;
      this.#catchUp(topic, sub);
    });
  }

  /** Watches a store's key: each change (the first answer included) is told as a gap. */
  #watchKey(topic: string, key: Deno.KvKey): Subscription {
    return this.#watching(topic, key, (sub) => this.#gap(sub));
  }

  /** A subscription that calls `onValue` with each value a watch of `key` reports, until stopped. */
  #watching(
    topic: string,
    key: Deno.KvKey,
    onValue: (sub: Subscription, value: unknown) => void,
  ): Subscription {
    const reader = this.#kv.watch([key]).getReader();
    let stopped = false;
    const sub: Subscription = {
      listeners: new TopicListeners(),
      seen: 0,
      reading: false,
      assembling: new Map(),
      stop: () => {
        stopped = true;
        reader.cancel().catch(() => {});
      },
    };
    (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || stopped) return;
        onValue(sub, value[0].value);
      }
    })().catch((error) => {
      if (!stopped && !this.#closed) {
        this.#log?.("kv_bus_watch_failed", { topic, error: String(error) });
      }
    });
    return sub;
  }

  /** Reads and hands out the entries between the cursor and the newest head seen, once. */
  async #catchUp(topic: string, sub: Subscription): Promise<void> {
    if (sub.reading) return;
    sub.reading = true;
    try {
      while (sub.cursor !== undefined && sub.cursor < sub.seen && !this.#closed) {
        const from = sub.cursor + 1;
        const to = sub.seen;
        let expected = from;
        const selector = { start: this.#entryKey(topic, from), end: this.#entryKey(topic, to + 1) };
        for await (const entry of this.#kv.list<Entry>(selector, { batchSize: LIST_BATCH })) {
          const n = Number(entry.key[entry.key.length - 1]);
          if (n !== expected) this.#gap(sub); // expired before it was read
          expected = n + 1;
          this.#deliver(sub, entry.value);
        }
        if (expected !== to + 1) this.#gap(sub);
        sub.cursor = to;
      }
    } catch (error) {
      this.#log?.("kv_bus_read_failed", { topic, error: String(error) });
      this.#gap(sub);
    } finally {
      sub.reading = false;
    }
  }

  #deliver(sub: Subscription, entry: Entry): void {
    if (entry.node === this.#node) return;
    const items = "items" in entry ? entry.items : this.#assemble(sub, entry);
    sub.listeners.deliver(items, entry.node);
  }

  /** Adds a piece; returns the whole message once its last piece is in (a missing piece: a gap). */
  #assemble(sub: Subscription, piece: Piece): BusMessage[] {
    let assembly = sub.assembling.get(piece.node);
    if (piece.piece === 0) sub.assembling.set(piece.node, assembly = { next: 0, parts: [] });
    if (!assembly || assembly.next !== piece.piece) {
      sub.assembling.delete(piece.node);
      this.#gap(sub);
      return [];
    }
    assembly.parts.push(piece.text);
    assembly.next++;
    if (assembly.next < piece.pieces) return [];
    sub.assembling.delete(piece.node);
    return [JSON.parse(assembly.parts.join("")) as BusMessage];
  }

  #gap(sub: Subscription): void {
    sub.listeners.gap("*");
  }

  /** Resolves once everything published so far is appended (or has failed and been logged). */
  async drain(): Promise<void> {
    await Promise.resolve(); // let this turn's queued packets join their topic's chain
    await Promise.all([...this.#outgoing.values()].map((out) => out.chain));
  }

  /** Stops every watch and refuses new messages; call {@link drain} first to finish appends. */
  close(): void {
    this.#closed = true;
    for (const sub of this.#subscriptions.values()) sub.stop();
    this.#subscriptions.clear();
  }
}
