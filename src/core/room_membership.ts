/**
 * Room membership: joining (with the `since` replay that makes a resume gap-free and
 * duplicate-free), leaving, following a room without joining it (Server-Sent Events), the
 * member lists, and telling this node's members of joins and leaves made here or on other nodes.
 *
 * @module
 */
import { ChatError } from "./errors.ts";
import type { JoinResult } from "./hub_types.ts";
import { LocalConnection } from "./local_connection.ts";
import type { LocalRooms } from "./local_rooms.ts";
import { logIdOf } from "./message_changes.ts";
import { nameKey, roomAllowed } from "./names.ts";
import type { Presence, RoomChange } from "./presence.ts";
import type { PresenceDiffs } from "./presence_diffs.ts";
import type { PresenceSync } from "./presence_sync.ts";
import type { RoomDirectory } from "./room_directory.ts";
import { storedEntry } from "./room_feed.ts";
import type { RoomFeeds } from "./room_feeds.ts";
import type { RoomListWatch } from "./room_list_watch.ts";
import type { Moderation, Viewer } from "./moderation.ts";
import type { ReadPositions } from "./read_positions.ts";
import type { Store } from "./store.ts";
import type { Clock, Connection, IdSource, Logger, Room } from "./types.ts";

const REPLAY_PAGE = 200;
/** A replay waits for the socket to drain after about this much text. */
const REPLAY_PACE_BYTES = 64 * 1024;

/** What membership needs: rooms, feeds, presence and this node's members. */
export interface RoomMembershipDeps {
  readonly store: Store;
  readonly rooms: RoomDirectory;
  readonly feeds: RoomFeeds;
  readonly locals: LocalRooms;
  readonly presence: Presence;
  readonly sync: PresenceSync;
  readonly diffs: PresenceDiffs;
  readonly roomList: RoomListWatch;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly settings: {
    readonly maxRoomsPerConnection: number;
    readonly ratePerSecond: number;
    readonly rateBurst: number;
    /** Rooms above this many members are large (presence diffs, paged member lists). */
    readonly largeRoom: number;
    /** Messages one `since` replay may send before it gives up and says `recovered: false`. */
    readonly maxReplay: number;
  };
  /** A room by id or name (`no_such_room` when there is none). */
  readonly resolveRoom: (ref: string) => Promise<Room>;
  /** Takes one of a client's room creations, or refuses with `rate_limited`. */
  readonly takeCreation: (client: string | undefined) => void;
  /** Who may enter, see and write in rooms. */
  readonly moderation: Moderation;
  /** Where members stopped reading (the `joined` answer says). */
  readonly reads: ReadPositions;
  /** A room as a visitor may see it (`no_such_room` for a private room off its list). */
  readonly visit: (ref: string, viewer: Viewer | undefined) => Promise<Room>;
  /** Structured log lines. */
  readonly log?: Logger;
}

/** Who is in which room, here and (through presence) on every node. */
export class RoomMembership {
  /** Membership over these parts. */
  constructor(private readonly deps: RoomMembershipDeps) {}

  /**
   * Puts a member in a room (creating a room named `ref` if none exists). Events of the room are
   * held from this moment until `flush`, which the caller calls after answering with `joined`:
   * with `since`, `flush` first sends every stored event after that id, then the held events
   * minus those the replay sent, so that the member sees no gap and no duplicate.
   */
  async join(
    member: LocalConnection,
    ref: string,
    since?: string,
    options: { readonly private?: boolean } = {},
  ): Promise<JoinResult> {
    const joined = await this.#join(member, ref, since, options.private === true);
    try {
      const read = await this.deps.reads.of(member.memberId, joined.room.id, joined.seq);
      return { ...joined, read };
    } catch (error) {
      // In the room all the same: the answer goes without the read state.
      this.deps.log?.("read_state_failed", { room: joined.room.id, error: String(error) });
      return joined;
    }
  }

  async #join(
    member: LocalConnection,
    ref: string,
    since: string | undefined,
    secret: boolean,
  ): Promise<JoinResult> {
    const room = await this.#joinableRoom(member, ref, secret);
    if (member.rooms.has(room.id)) {
      const seq = this.#seqOf(room.id);
      const role = this.deps.moderation.roleIn(room, member);
      return { room, ...this.membersOf(room.id), seq, role, flush: () => Promise.resolve() };
    }
    const role = await this.deps.moderation.admit(room, member);
    if (member.rooms.size >= this.deps.settings.maxRoomsPerConnection) {
      throw new ChatError(
        "too_many_rooms",
        `a connection may be in at most ${this.deps.settings.maxRoomsPerConnection} rooms`,
      );
    }
    this.#takeMembership(member);
    member.closeGate(room.id);
    try {
      const seq = await this.#enterRoom(member, room);
      const members = this.membersOf(room.id);
      if (since === undefined) {
        return {
          room,
          ...members,
          seq,
          role,
          flush: () => Promise.resolve(member.openGate(room.id)),
        };
      }
      const { recovered, flush } = await this.#replay(member, room.id, since);
      return { room, ...members, seq, role, recovered, flush };
    } catch (error) {
      member.openGate(room.id);
      throw error;
    }
  }

  /** Joins and leaves are rate-limited: a toggling socket would flood a room with events. */
  #takeMembership(member: LocalConnection): void {
    if (!member.membership.take()) {
      throw new ChatError("rate_limited", "too many joins and leaves; slow down");
    }
  }

  #seqOf(room: string): number {
    return this.deps.feeds.get(room)?.position.seq ?? 0;
  }

  /** The room to join, refusing (before creating anything) rooms the member may not join. */
  async #joinableRoom(member: LocalConnection, ref: string, secret: boolean): Promise<Room> {
    const allowed = member.allowedRooms;
    // One client (whatever its number of sockets) creates rooms at a bounded pace: it cannot fill
    // the room cap for everyone.
    const creating = () => this.deps.takeCreation(member.client ?? member.memberId);
    // Whoever makes a room owns it (and a private one starts with its owner alone on its list).
    const made = { owner: member.memberId, private: secret };
    if (!allowed) return await this.deps.rooms.resolve(ref, true, creating, made);
    const trimmed = ref.trim();
    const named = allowed.has(nameKey(trimmed)) || allowed.has(trimmed.toUpperCase());
    const room = await this.deps.rooms.resolve(ref, named, creating, made).catch((error) => {
      if (error instanceof ChatError && error.code === "rate_limited") throw error;
      return undefined;
    });
    if (room && roomAllowed(allowed, room)) return room;
    throw new ChatError("room_forbidden", `your token does not allow room '${trimmed}'`);
  }

  /**
   * Prepares a `since` replay: whether retention kept everything after `since`, and the `flush`
   * that sends it. Only the first page is read here; `flush` reads the rest page by page, waiting
   * for the socket to drain between pages and stopping if the member leaves. A backlog over
   * `maxReplay` is not replayed at all: `recovered` is false and the client reloads history (as
   * Centrifugo does), so one join never reads or sends more than that. The gate then opens at the
   * floor, the last `seq` the member has (this node's feed may be behind it if the member came from
   * a faster node: events up to it are not sent again).
   */
  async #replay(
    member: LocalConnection,
    room: string,
    since: string,
  ): Promise<{ recovered: boolean; flush: JoinResult["flush"] }> {
    const store = this.deps.store;
    // The head before the read: if nothing follows `since`, `since` is at most this far.
    const before = await store.head(room);
    const first = await store.readLog(room, { after: since, limit: REPLAY_PAGE });
    // Read after the messages: a trim racing the read can only make this answer more cautious.
    const trimmed = await store.trimmedThrough(room);
    const recovered = trimmed === undefined || trimmed <= since;
    const cap = this.deps.settings.maxReplay;
    if (first.entries.length > 0) {
      const now = (await store.head(room)).seq;
      if (now - first.entries[0].seq + 1 > cap) {
        // Too long a backlog: none of it is sent, the member goes on from the head.
        return { recovered: false, flush: () => Promise.resolve(member.openGate(room, now)) };
      }
    }
    const flush = async (drained?: () => Promise<void>) => {
      let floor = before.seq;
      try {
        let unpaced = 0;
        for (let page = first;;) {
          for (const entry of page.entries) {
            member.replay(storedEntry(entry).out);
            floor = entry.seq;
            // About every 64 KiB of text, let the socket catch up.
            unpaced += (entry.event === "broadcast" || entry.event === "edited"
              ? entry.message?.length ?? 0
              : 0) + 200;
            if (unpaced >= REPLAY_PACE_BYTES && drained) {
              unpaced = 0;
              await drained();
              if (!member.rooms.has(room)) {
                return; // left, or gone: stop sending
              }
            }
          }
          if (!page.more || page.entries.length === 0) break;
          if (!member.rooms.has(room)) return; // left, or gone: stop reading
          const after = logIdOf(page.entries[page.entries.length - 1]);
          page = await store.readLog(room, { after, limit: REPLAY_PAGE });
        }
      } finally {
        if (member.rooms.has(room)) member.openGate(room, floor);
      }
    };
    return { recovered, flush };
  }

  /** Takes a member out of a room, telling the others. */
  async leave(member: LocalConnection, ref: string): Promise<{ room: string }> {
    const room = await this.roomOf(member, ref);
    this.#takeMembership(member);
    this.leaveRoom(member, room.id);
    return { room: room.id };
  }

  /**
   * Follows a room without being a member of it (Server-Sent Events): the room's stored events
   * and its joins and leaves go to `connection`, from `since` (exactly as a `join` with `since`
   * replays). Call `flush` after sending what `result` describes, and `stop` when done.
   */
  async observe(
    ref: string,
    connection: Connection,
    since?: string,
    viewer?: Viewer,
  ): Promise<JoinResult & { stop(): void }> {
    const room = await this.deps.visit(ref, viewer);
    const { ratePerSecond: perSecond, rateBurst: burst } = this.deps.settings;
    const id = this.deps.ids();
    const observer = new LocalConnection(id, "", "", connection, {
      perSecond,
      burst,
      clock: this.deps.clock,
    });
    observer.closeGate(room.id);
    this.deps.locals.enter(observer, room.id);
    const feed = this.deps.feeds.open(room.id);
    const after = feed.started ? feed.position.seq : undefined;
    const stop = () => {
      observer.rooms.delete(room.id);
      observer.openGate(room.id);
      if (this.deps.locals.exit(observer, room.id)) this.deps.feeds.close(room.id);
    };
    try {
      await feed.ready;
      const seq = after ?? feed.startSeq;
      const { members } = this.membersOf(room.id);
      if (since === undefined) {
        return {
          room,
          members,
          seq,
          flush: () => Promise.resolve(observer.openGate(room.id)),
          stop,
        };
      }
      observer.rooms.set(room.id, room); // for the replay: it stops when this is gone
      const { recovered, flush } = await this.#replay(observer, room.id, since);
      return { room, members, seq, recovered, flush, stop };
    } catch (error) {
      stop();
      throw error;
    }
  }

  /** The names of a room's members on every node. */
  memberNames(room: string): string[] {
    return this.deps.presence.membersOf(room).map((m) => m.name);
  }

  /**
   * The member names of a room: all of them in a small room; in a large one a page of at most
   * `largeRoom` names from `offset`, with the count (so that a join never lists 1,000 names).
   */
  membersOf(room: string, offset = 0): Pick<JoinResult, "members" | "page"> {
    const large = this.deps.settings.largeRoom;
    const count = this.deps.presence.countOf(room);
    if (count <= large && offset === 0) return { members: this.memberNames(room) };
    const members = this.deps.presence.memberPage(room, offset, large).map((m) => m.name);
    return { members, page: { count, more: offset + members.length < count } };
  }

  /**
   * One of the member's rooms, by id or name (its only room when `ref` is absent), or why not:
   * `not_in_room`, `no_such_room`, or `missing_field` while in several rooms.
   */
  roomOf(member: LocalConnection, ref?: string): Room | Promise<never> {
    if (ref === undefined) return this.#onlyRoom(member);
    return this.#memberRoom(member, ref) ?? this.#notInRoom(member, ref);
  }

  /** A room the member may read: one of its own (its only one when `ref` is absent), or any. */
  async readableRoom(member: LocalConnection, ref?: string): Promise<Room> {
    if (ref === undefined) return this.#onlyRoom(member);
    const joined = this.#memberRoom(member, ref);
    if (joined) return joined;
    const room = await this.deps.resolveRoom(ref);
    if (!await this.deps.moderation.maySee(room, member)) {
      throw new ChatError("room_forbidden", "this room is private");
    }
    return room;
  }

  /** The member's only room (`not_in_room` in none, `missing_field` in several). */
  #onlyRoom(member: LocalConnection): Room {
    if (member.rooms.size === 1) return member.rooms.values().next().value!;
    if (member.rooms.size === 0) throw new ChatError("not_in_room", "join a room first");
    throw new ChatError("missing_field", "room is required while in several rooms", {
      field: "room",
    });
  }

  /** One of the member's rooms, by id or name. */
  #memberRoom(member: LocalConnection, ref: string): Room | undefined {
    const trimmed = ref.trim();
    const byId = member.rooms.get(trimmed.toUpperCase());
    if (byId) return byId;
    const key = nameKey(trimmed);
    for (const room of member.rooms.values()) if (nameKey(room.name) === key) return room;
    return undefined;
  }

  /** Rejects with `not_in_room` for an existing room, `no_such_room` otherwise. */
  /**
   * Why a member cannot act in a room it is not in: `banned` while a ban holds (a banned member
   * is told so, not asked to join), `room_forbidden` for a private room off its list, else
   * `not_in_room`.
   */
  async #notInRoom(member: LocalConnection, ref: string): Promise<never> {
    const room = await this.deps.resolveRoom(ref);
    await this.deps.moderation.admit(room, member, false);
    throw new ChatError("not_in_room", `not in room '${room.name}'; join it first`);
  }

  /**
   * Puts the member in the room here and everywhere. Resolves, once the room's feed is ready, with
   * the `seq` after which the member receives the room's events.
   */
  async #enterRoom(member: LocalConnection, room: Room): Promise<number> {
    member.rooms.set(room.id, room);
    this.deps.locals.enter(member, room.id);
    const feed = this.deps.feeds.open(room.id);
    // From now on the feed hands this member everything after its position (held at the gate).
    const after = feed.started ? feed.position.seq : undefined;
    this.#announceChanges(this.deps.presence.join(member.id, room.id), member);
    this.deps.sync.announce({ t: "join", id: member.id, room: room.id });
    try {
      await feed.ready;
    } catch (error) {
      if (member.rooms.has(room.id)) this.leaveRoom(member, room.id);
      throw error;
    }
    return after ?? feed.startSeq;
  }

  /** Takes the member out of a room here and everywhere (no rate limit: a closing connection). */
  leaveRoom(member: LocalConnection, room: string): void {
    // What this node delivered of the room holds everything the member sent there (a session
    // leaves only once its sends are stored): other nodes announce the leave after as much.
    const seq = this.deps.feeds.get(room)?.position.seq ?? 0;
    member.rooms.delete(room);
    member.openGate(room);
    if (this.deps.locals.exit(member, room)) {
      this.deps.feeds.close(room);
      this.deps.moderation.forget(room);
    }
    this.#announceChanges(this.deps.presence.leave(member.id, room), member);
    this.deps.sync.announce({ t: "leave", id: member.id, room, ...(seq > 0 ? { seq } : {}) });
  }

  /**
   * Joins and leaves heard from another node. A leave that follows messages of the leaver this
   * node has not delivered yet waits for them (per connection, order holds across nodes too).
   */
  announceRemote(changes: RoomChange[], after?: number): void {
    const room = changes[0]?.room;
    const feed = room === undefined || after === undefined ? undefined : this.deps.feeds.get(room);
    if (!feed) return this.#announceChanges(changes);
    feed.whenDelivered(after!, () => this.#announceChanges(changes));
  }

  /**
   * Tells this node's members of joins and leaves (except the member who made them): one event
   * each in a small room, gathered into a `presence_diff` every few ms in a large one.
   */
  #announceChanges(changes: RoomChange[], actor?: LocalConnection): void {
    if (changes.length > 0) this.deps.roomList.changed();
    const large = this.deps.settings.largeRoom;
    for (const { kind, room, member } of changes) {
      const who = { member: member.name, memberId: member.memberId };
      if (this.deps.presence.countOf(room) > large) {
        this.deps.diffs.add(kind, room, who);
        continue;
      }
      this.deps.locals.fanout(room, { event: { event: kind, room, ...who } }, actor);
    }
  }
}
