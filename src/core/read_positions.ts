/**
 * Read state: where each member (an identity: a token's subject or a session) stopped reading in
 * each room. A `read` moves the position forward only; it is stored, then told to every
 * connection of the member on every node. Many `read`s in a row (a client scrolling) cost at most
 * two writes: while one is stored, later ones only raise the position the next write takes.
 *
 * @module
 */
import type { Bus } from "./bus.ts";
import type { LocalRooms } from "./local_rooms.ts";
import { NOTICES_TOPIC } from "./member_messages.ts";
import type { ReadNodeMessage } from "./node_messages.ts";
import type { Store } from "./store.ts";
import type { Outbound, ReadEvent } from "./types.ts";

/** Unread messages are counted up to this many (the contract's cap). */
export const UNREAD_CAP = 1000;

/** Messages read per step while counting. */
const COUNT_STEP = 200;

/** What a member's read state in a room looks like when it joins. */
export interface ReadState {
  /** The id of the last message it read, if it ever said. */
  readonly readUpTo?: string;
  /** Messages after it (all retained ones without a position), at most {@link UNREAD_CAP}. */
  readonly unread: number;
}

/** What read state needs: where positions live, how other nodes hear, this node's members. */
export interface ReadPositionsDeps {
  readonly store: Store;
  readonly bus: Bus;
  readonly locals: LocalRooms;
  /** Serialises an event once, for the bus. */
  readonly encode: (out: Outbound) => string;
}

/** A position being stored: the highest one asked meanwhile, and when it is all done. */
interface Pending {
  wanted: string;
  done: Promise<ReadEvent>;
}

/** Members' read positions, stored and told to all their connections. */
export class ReadPositions {
  readonly #pending = new Map<string, Pending>();

  /** Read state over this store, bus and node. */
  constructor(private readonly deps: ReadPositionsDeps) {}

  /**
   * Moves the member's read position in `room` to the message `id` (never back) and tells its
   * other connections here and on every node (`skip`: the asking connection, which gets the
   * returned event as its answer). Resolves with the position after.
   */
  mark(memberId: string, room: string, id: string, skip?: string): Promise<ReadEvent> {
    const key = `${memberId}\u0000${room}`;
    const pending = this.#pending.get(key);
    if (pending) {
      if (id > pending.wanted) pending.wanted = id;
      return pending.done;
    }
    const fresh = { wanted: id } as Pending;
    this.#pending.set(key, fresh);
    fresh.done = this.#store(memberId, room, key, fresh, skip);
    return fresh.done;
  }

  async #store(
    memberId: string,
    room: string,
    key: string,
    pending: Pending,
    skip?: string,
  ): Promise<ReadEvent> {
    try {
      let stored = "";
      while (stored < pending.wanted) {
        stored = await this.deps.store.markRead(memberId, room, pending.wanted);
      }
      const event: ReadEvent = { event: "read", room, id: stored };
      const out: Outbound = { event };
      this.#deliver(memberId, skip, out);
      const message: ReadNodeMessage = { t: "read", member: memberId, text: this.deps.encode(out) };
      this.deps.bus.publish(NOTICES_TOPIC, message);
      return event;
    } finally {
      // No await between the loop's last check and here: no `read` can be left unstored.
      this.#pending.delete(key);
    }
  }

  /** A `read` another node stored: handed to this node's connections of the member. */
  fromNode(message: ReadNodeMessage): void {
    this.#deliver(message.member, undefined, { text: message.text });
  }

  #deliver(memberId: string, skip: string | undefined, out: Outbound): void {
    for (const device of this.deps.locals.devicesOf(memberId)) {
      if (device.id !== skip) device.connection.send(out);
    }
  }

  /**
   * The member's read state in a room: its position and how many messages (not deleted) came
   * after it, counted by reading at most {@link UNREAD_CAP} of them.
   */
  async of(memberId: string, room: string): Promise<ReadState> {
    const { store } = this.deps;
    const readUpTo = await store.readPosition(memberId, room);
    let unread = 0;
    let cursor = readUpTo;
    for (let read = 0; read < UNREAD_CAP;) {
      const limit = Math.min(COUNT_STEP, UNREAD_CAP - read);
      // After the position, oldest first; without one, from the newest back.
      const page = await store.readMessages(
        room,
        readUpTo === undefined ? { before: cursor, limit } : { after: cursor, limit },
      );
      read += page.messages.length;
      unread += page.messages.filter((m) => !("deleted" in m && m.deleted)).length;
      if (!page.more || page.messages.length === 0) break;
      cursor = readUpTo === undefined
        ? page.messages[0].id
        : page.messages[page.messages.length - 1].id;
    }
    return readUpTo === undefined ? { unread } : { readUpTo, unread };
  }
}
