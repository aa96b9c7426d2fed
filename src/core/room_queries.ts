/**
 * Rooms as clients ask about them: making one, finding one (as a visitor without a socket sees
 * it: a private room exists only for its list), the room list (live for those who watch it),
 * a room's details and members, and its history — every message, a thread, or a search.
 *
 * @module
 */
import { ChatError } from "./errors.ts";
import type { HistoryPage, MemberList, RoomDetails } from "./hub_types.ts";
import type { LocalConnection } from "./local_connection.ts";
import { HISTORY_PAGE, pageLimit } from "./message.ts";
import { type FilteredPage, searchMessages, threadMessages } from "./message_search.ts";
import type { Moderation, Viewer } from "./moderation.ts";
import type { Presence } from "./presence.ts";
import type { RateLimits } from "./rate_limiter.ts";
import type { RoomDirectory } from "./room_directory.ts";
import type { RoomListWatch } from "./room_list_watch.ts";
import type { RoomMembership } from "./room_membership.ts";
import type { Store } from "./store.ts";
import type { Room, RoomsEvent, RoomSummary } from "./types.ts";

/** Room list pages: 100 rooms unless asked, never more than 500 (the contract's limits). */
const ROOMS_DEFAULT = 100;
const ROOMS_MAX = 500;

/** What the queries need. */
export interface RoomQueriesDeps {
  readonly store: Store;
  readonly rooms: RoomDirectory;
  readonly presence: Presence;
  readonly roomList: RoomListWatch;
  readonly moderation: Moderation;
  readonly membership: RoomMembership;
  /** Rooms one client may create (`CHAT_ROOMS_PER_HOUR`). */
  readonly creations: RateLimits;
}

/** A page of a room's history, by any filter. */
export interface MessagesQuery {
  readonly before?: string;
  readonly after?: string;
  readonly limit?: number;
  /** The replies in this message's thread. */
  readonly thread?: string;
  /** Messages whose text contains this. */
  readonly q?: string;
}

/** Rooms, found, made, listed and read. */
export class RoomQueries {
  /** Queries over these parts. */
  constructor(private readonly deps: RoomQueriesDeps) {}

  /** Takes one of a client's room creations, or refuses with `rate_limited`. */
  takeCreation(client: string | undefined): void {
    this.deps.creations.demand(client, "too many new rooms; try again later");
  }

  /**
   * Creates a room, owned by `viewer` when given (a private one needs an owner); rejects with
   * `room_exists` when the name is taken — with the existing room's id (details.id) only when
   * the viewer may see that room.
   */
  async createRoom(
    rawName: string,
    client?: string,
    options: { readonly viewer?: Viewer; readonly private?: boolean } = {},
  ): Promise<Room> {
    const { viewer } = options;
    if (options.private && !viewer) {
      throw new ChatError(
        "invalid_field",
        "a private room needs an owner: give a token or a session",
        {
          field: "private",
        },
      );
    }
    this.takeCreation(client);
    try {
      const room = await this.deps.rooms.create(rawName, {
        owner: viewer?.memberId,
        private: options.private,
      });
      this.deps.roomList.changed();
      return room;
    } catch (error) {
      if (!(error instanceof ChatError) || error.code !== "room_exists") throw error;
      const existing = await this.resolveRoom(String(error.details.id)).catch(() => undefined);
      if (existing && await this.deps.moderation.maySee(existing, viewer)) throw error;
      // A private room's name is taken, but who took it is not told.
      throw new ChatError("room_exists", `a room named '${rawName.trim()}' exists`);
    }
  }

  /**
   * Finds a room by id or name; with `create`, a missing name is created, counted against
   * `client`'s room creations (see `CHAT_ROOMS_PER_HOUR`).
   */
  resolveRoom(ref: string, create = false, client?: string): Promise<Room> {
    return this.deps.rooms.resolve(ref, create, () => this.takeCreation(client));
  }

  /**
   * A room as a visitor without a socket may see it (HTTP, gRPC): `no_such_room` for a private
   * room off the viewer's list; with `writing`, `banned` and `muted` refuse too.
   */
  async visit(ref: string, viewer: Viewer | undefined, writing = false): Promise<Room> {
    return await this.deps.moderation.visit(await this.resolveRoom(ref), viewer, writing);
  }

  /**
   * A page of rooms with their member counts on every node, oldest first: at most `limit`
   * (default 100, max 500) created after the room id `after`; a private room only to its list.
   */
  async listRooms(
    query: { after?: string; limit?: number } = {},
    viewer?: Viewer,
  ): Promise<RoomSummary[]> {
    const limit = pageLimit(query.limit, ROOMS_DEFAULT, ROOMS_MAX);
    const page = await this.deps.rooms.list({ after: query.after, limit });
    const seen = await Promise.all(page.map((room) => this.deps.moderation.maySee(room, viewer)));
    return page.filter((_, i) => seen[i]).map((room) => ({
      id: room.id,
      name: room.name,
      members: this.deps.presence.countOf(room.id),
    }));
  }

  /**
   * The room list for a member that watches it: answered now, and pushed again as a `rooms`
   * event soon after any change (see `room_list_watch.ts`) until it disconnects.
   */
  watchRooms(member: LocalConnection): Promise<RoomsEvent> {
    return this.deps.roomList.watch(member.connection);
  }

  /** A room with the names of its members on every node, as `viewer` may see it. */
  async roomDetails(ref: string, viewer?: Viewer): Promise<RoomDetails> {
    const room = await this.visit(ref, viewer);
    return { ...room, members: this.deps.membership.memberNames(room.id) };
  }

  /**
   * A page of a room's history, oldest first: every message, the replies in one message's
   * `thread`, or those whose text contains `q` (see `message_search.ts`; `next` says where to go
   * on when the scan budget ran out before a page of matches).
   */
  async readMessages(ref: string, query: MessagesQuery, viewer?: Viewer): Promise<FilteredPage> {
    const room = await this.visit(ref, viewer);
    const { before, after, thread, q } = query;
    const limit = pageLimit(query.limit, HISTORY_PAGE.default, HISTORY_PAGE.max);
    const { store } = this.deps;
    if (thread !== undefined && q !== undefined) {
      throw new ChatError("invalid_field", "ask for a thread or a search, not both", {
        field: "q",
      });
    }
    if (thread !== undefined) {
      return await threadMessages(store, room.id, thread, { before, after, limit });
    }
    if (q !== undefined) return await searchMessages(store, room.id, q, { before, after, limit });
    return await store.readMessages(room.id, { before, after, limit });
  }

  /** The members of a room (any room the member may see); in a large room, a page from `offset`. */
  async list(member: LocalConnection, ref?: string, offset = 0): Promise<MemberList> {
    const room = await this.deps.membership.readableRoom(member, ref);
    if (!Number.isInteger(offset) || offset < 0) {
      throw new ChatError("invalid_field", "offset must be a non-negative integer", {
        field: "offset",
      });
    }
    const { members, page } = this.deps.membership.membersOf(room.id, offset);
    return {
      room: room.id,
      members,
      ...(page ? { page: { count: page.count, offset, more: page.more } } : {}),
    };
  }

  /** A page of a room's history before `before` (or the newest), oldest first. */
  async history(
    member: LocalConnection,
    ref: string | undefined,
    before: string | undefined,
    limit: number | undefined,
  ): Promise<HistoryPage> {
    const room = await this.deps.membership.readableRoom(member, ref);
    const page = await this.deps.store.readMessages(room.id, {
      before,
      limit: pageLimit(limit, HISTORY_PAGE.default, HISTORY_PAGE.max),
    });
    return { room: room.id, messages: page.messages, more: page.more };
  }
}
