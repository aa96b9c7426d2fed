import type { Bus } from "./bus.ts";
import { parseRoomMessage, type RoomNodeMessage } from "./node_messages.ts";
import { type FeedEntry, RoomFeed } from "./room_feed.ts";
import type { Store } from "./store.ts";
import type { Logger, Outbound } from "./types.ts";

/** What the feeds are built from. */
export interface RoomFeedsDeps {
  readonly bus: Bus;
  readonly store: Store;
  /** Delivers an entry of a room to this node's members. */
  readonly deliver: (room: string, entry: FeedEntry) => void;
  /** The wire's serialiser: a stored event crosses nodes as text, serialised once. */
  readonly encode: (out: Outbound) => string;
  /** How long an early event waits for a missing one before the store is read. */
  readonly graceMs: number;
  readonly log?: Logger;
}

/** Counters of the feeds. */
export interface FeedsStats {
  /** Rooms whose bus topic this node listens to. */
  readonly subscribedRooms: string[];
  /** Stored events received from other nodes. */
  readonly roomMessagesReceived: number;
  /** Bus messages on room topics that did not parse (dropped). */
  readonly roomMessagesDropped: number;
  /** Reads of the store that filled gaps. */
  readonly gapRepairs: number;
  /** Events delivered by those reads. */
  readonly messagesRepaired: number;
}

const ROOM_TOPIC = "room:";
/** What a node tells the others of a stored event of a room (its text serialised once). */
export function storedNodeMessage(
  room: string,
  entry: { readonly seq: number; readonly id: string; readonly memberId: string },
  text: string,
): RoomNodeMessage {
  return { t: "stored", room, seq: entry.seq, id: entry.id, memberId: entry.memberId, text };
}

/** The bus topic of a room's stored events. */
export const roomTopic = (room: string): string => `${ROOM_TOPIC}${room}`;

/** The room whose bus topic this is, if it is a room's (`room:<id>`). */
export function roomOfTopic(topic: string): string | undefined {
  return topic.startsWith(ROOM_TOPIC) ? topic.slice(ROOM_TOPIC.length) : undefined;
}

/**
 * The rooms this node listens to: one {@link RoomFeed} and one bus topic per room that has a
 * member here, opened with the first and closed with the last, so a node does no work for rooms
 * it has nobody in. Events this node stores are published on the room's topic.
 */
export class RoomFeeds {
  readonly #deps: RoomFeedsDeps;
  readonly #feeds = new Map<string, { feed: RoomFeed; unsubscribe: () => void }>();
  /** Authors (member ids) of this node with writes not yet committed, and how many. */
  readonly #writing = new Map<string, number>();
  #received = 0;
  #dropped = 0;
  #repairs = 0;
  #repaired = 0;

  /** Feeds over the given bus and store. */
  constructor(deps: RoomFeedsDeps) {
    this.#deps = deps;
  }

  /** The room's feed, opening it (and its topic) if this node had none. */
  open(room: string): RoomFeed {
    const open = this.#feeds.get(room);
    if (open) return open.feed;
    const { bus, store, graceMs, log } = this.#deps;
    const feed = new RoomFeed({
      room,
      store,
      graceMs,
      log,
      awaitsAck: (memberId) => this.#writing.has(memberId),
      deliver: (entry) => this.#deps.deliver(room, entry),
    });
    const unsubscribe = bus.subscribe(
      roomTopic(room),
      (raw) => {
        const parsed = parseRoomMessage(raw);
        if (!parsed || parsed.room !== room) {
          this.#dropped++;
          return;
        }
        this.#received++;
        const { seq, id, memberId, text } = parsed;
        feed.offer({ seq, id, memberId, out: { text, seq, id } });
      },
      () => feed.gap(),
    );
    this.#feeds.set(room, { feed, unsubscribe });
    return feed;
  }

  /**
   * An author of this node begins a write: until it ends, events of that author that reach a
   * feed from the store or another node wait for the author's acknowledgement, so that its
   * connection sees its own message in its place.
   */
  beginWrite(authorId: string): void {
    this.#writing.set(authorId, (this.#writing.get(authorId) ?? 0) + 1);
  }

  /**
   * The write begun by {@link beginWrite} ended (committed or not). After the author's last,
   * the feeds of `rooms()` (where its events may have waited) go on.
   */
  endWrite(authorId: string, rooms: () => Iterable<string>): void {
    const left = (this.#writing.get(authorId) ?? 1) - 1;
    if (left > 0) {
      this.#writing.set(authorId, left);
      return;
    }
    this.#writing.delete(authorId);
    for (const room of rooms()) this.#feeds.get(room)?.feed.drain();
  }

  /** The room's feed, if open. */
  get(room: string): RoomFeed | undefined {
    return this.#feeds.get(room)?.feed;
  }

  /** Closes the room's feed and its topic. */
  close(room: string): void {
    const open = this.#feeds.get(room);
    if (!open) return;
    this.#feeds.delete(room);
    open.unsubscribe();
    open.feed.close();
    this.#repairs += open.feed.stats.repairs;
    this.#repaired += open.feed.stats.repaired;
  }

  /** Tells other nodes of an event this node stored (its text is the one local members get). */
  publish(entry: FeedEntry, room: string): void {
    const { seq, id, memberId, out } = entry;
    const message = storedNodeMessage(room, { seq, id, memberId }, this.#deps.encode(out));
    this.#deps.bus.publish(roomTopic(room), message);
  }

  /** Closes every feed. */
  closeAll(): void {
    for (const room of [...this.#feeds.keys()]) this.close(room);
  }

  /** Counters. */
  stats(): FeedsStats {
    let repairs = this.#repairs;
    let repaired = this.#repaired;
    for (const { feed } of this.#feeds.values()) {
      repairs += feed.stats.repairs;
      repaired += feed.stats.repaired;
    }
    return {
      subscribedRooms: [...this.#feeds.keys()],
      roomMessagesReceived: this.#received,
      roomMessagesDropped: this.#dropped,
      gapRepairs: repairs,
      messagesRepaired: repaired,
    };
  }
}
