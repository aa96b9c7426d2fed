/**
 * Read state: where each member (an identity: a token's subject or a session) stopped reading in
 * each room. A `read` moves the position forward only; it is stored, then told to every
 * connection of the member on every node. Many `read`s in a row (a client scrolling) cost at most
 * two writes: while one is stored, later ones only raise the position the next write takes.
 *
 * @module
 */
import type { Store } from "./store.ts";
import type { LocalConnection } from "./local_connection.ts";
import type { Outbound, ReadEvent, Room } from "./types.ts";

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

/** What read state needs: where positions live, and how to tell all of a member's connections. */
export interface ReadPositionsDeps {
  readonly store: Store;
  /** Hands an event to every connection of a member on every node, but `skip`. */
  readonly tell: (memberId: string, out: Outbound, skip?: string) => void;
  /** A room the member may read (`room_forbidden` for a private room off its list). */
  readonly readableRoom: (member: LocalConnection, ref: string) => Promise<Room>;
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
   * The `read` command: moves the member's read position in a room it may read (never back),
   * told to its other connections on every node; resolves with the `read` event (the position
   * after).
   */
  async read(member: LocalConnection, ref: string, id: string): Promise<ReadEvent> {
    const room = await this.deps.readableRoom(member, ref);
    return await this.mark(member.memberId, room.id, id, member.id);
  }

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
      this.deps.tell(memberId, { event }, skip);
      return event;
    } finally {
      // No await between the loop's last check and here: no `read` can be left unstored.
      this.#pending.delete(key);
    }
  }

  /**
   * The member's read state in a room: its position and how many messages (not deleted) came
   * after it, counted by reading at most {@link UNREAD_CAP} of them. `stored` is the room's last
   * `seq` as this node knows it: 0 (nothing ever stored there) spares the counting.
   */
  async of(memberId: string, room: string, stored?: number): Promise<ReadState> {
    const { store } = this.deps;
    const readUpTo = await store.readPosition(memberId, room);
    if (stored === 0) return readUpTo === undefined ? { unread: 0 } : { readUpTo, unread: 0 };
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
