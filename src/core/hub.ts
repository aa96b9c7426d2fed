import { RoomSweeper } from "./room_sweeper.ts";
import { RateLimits } from "./rate_limiter.ts";
import { Arrivals } from "./arrivals.ts";
import { ChatError } from "./errors.ts";
import { LocalMember } from "./local_member.ts";
import { LocalRooms } from "./local_rooms.ts";
import { HISTORY_PAGE, pageLimit } from "./message.ts";
import { NameKeeping } from "./name_keeping.ts";
import {
  type NoticeTarget,
  parseMemberMessage,
  type RoomGoneNodeMessage,
} from "./node_messages.ts";
import { memberIdOf } from "./member_identity.ts";
import { guestName, nameKey, roomAccessKeys, validateDisplayName } from "./names.ts";
import { Presence } from "./presence.ts";
import { PresenceDiffs } from "./presence_diffs.ts";
import { PresenceSync } from "./presence_sync.ts";
import { RoomDirectory } from "./room_directory.ts";
import { RoomFeeds } from "./room_feeds.ts";
import type {
  ChangeEvent,
  ChatMessage,
  Connection,
  DirectEvent,
  MeEvent,
  Outbound,
  ReadEvent,
  Room,
  RoomsEvent,
  RoomSummary,
} from "./types.ts";
import { RoomListWatch } from "./room_list_watch.ts";
import { type FilteredPage, searchMessages, threadMessages } from "./message_search.ts";
import { ReadPositions } from "./read_positions.ts";
import { Moderation, type ModerationRequest, type Viewer } from "./moderation.ts";
import { type ModerationEvent, SERVER_ACTOR } from "./room_access.ts";
import { MemberMessages, NOTICES_TOPIC } from "./member_messages.ts";
import { type BroadcastOptions, RoomWrites } from "./room_writes.ts";
import { RoomMembership } from "./room_membership.ts";

export type { RoomSummary };

export type {
  ChangeRequest,
  HistoryPage,
  HubDeps,
  HubObserver,
  HubSettings,
  HubStats,
  JoinResult,
  MemberList,
  RoomDetails,
} from "./hub_types.ts";
import type {
  ChangeRequest,
  HistoryPage,
  HubDeps,
  HubStats,
  JoinResult,
  MemberList,
  RoomDetails,
} from "./hub_types.ts";

/** Room list pages: 100 rooms unless asked, never more than 500 (the contract's limits). */
const ROOMS_DEFAULT = 100;
const ROOMS_MAX = 500;
const GAP_GRACE_MS = 100;
const PRESENCE_DIFF_MS = 50;
/** Direct messages one member may receive: this many senders' worth (`CHAT_RATE_PER_SEC` each). */
const RECIPIENT_FACTOR = 4;
/** Rooms one client may create at once, above its sustained rate. */
const ROOM_CREATION_BURST = 20;
/** Typing events relayed per room per second, whoever types. */
const TYPING_PER_ROOM_PER_SEC = 10;
/** How long `notify` and `post` wait at most for connections still arriving. */
const ARRIVAL_WAIT_MS = 2000;

/**
 * The chat: admission and the room queries, over its parts: {@link RoomMembership} (joins with
 * their replay, leaves, member lists), {@link RoomWrites} (messages and changes, the commit and
 * acknowledgements), the {@link RoomDirectory} (rooms by id and name), {@link LocalRooms} (this
 * node's members and fan-out), {@link RoomFeeds} (each room's stored events in `seq` order,
 * repaired from the store), {@link PresenceSync} (who is where, on every node),
 * {@link MemberMessages} (direct messages, typing, notices), the {@link RoomListWatch} and name
 * settlement. It knows nothing of HTTP, WebSocket framing or serialisation.
 */
export class Hub {
  /** Who is connected where, on every node, as this node knows it. */
  readonly presence = new Presence();
  /** Removes idle empty rooms (`CHAT_ROOM_IDLE_TTL_S`; none when 0). */
  readonly #sweeper?: RoomSweeper;
  /** Connections that watch the room list (`rooms`). */
  readonly #roomList: RoomListWatch;
  /** Connections admitted but not yet in their first room (see {@link Arrivals}). */
  readonly arrivals = new Arrivals();
  readonly #deps: HubDeps;
  readonly #rooms: RoomDirectory;
  readonly #locals = new LocalRooms();
  readonly #feeds: RoomFeeds;
  readonly #sync: PresenceSync;
  readonly #diffs: PresenceDiffs;
  /** When each member's last `typing` was relayed from this node (dropped with its last device). */
  /** Rooms one client may create by joining. */
  readonly #creations: RateLimits;
  /** What one member (direct messages) and one room (typing) may receive, from this node. */
  /** Direct messages, typing and notices. */
  readonly #members: MemberMessages;
  /** Messages and changes into rooms' logs. */
  readonly #writes: RoomWrites;
  /** Who is in which room: joins, leaves, replays, member lists. */
  readonly #membership: RoomMembership;
  /** Where each member stopped reading. */
  readonly #reads: ReadPositions;
  /** Who may enter, see and write in rooms; the moderation commands. */
  readonly #moderation: Moderation;
  /** Display names: handed out, released, settled after clashes. */
  readonly #names: NameKeeping;
  /** Appends in flight per author: their acknowledgements are on the way. */
  #stored = 0;
  #unsubscribeNotices?: () => void;

  /** A hub over the given store, bus, clock and ids; call {@link start} before use. */
  constructor(deps: HubDeps) {
    this.#deps = deps;
    const { store, bus, clock, ids, log, settings, nodeId } = deps;
    const { ratePerSecond, rateBurst } = settings;
    const creationsPerSecond = (settings.roomsPerHour ?? 100) / 3600;
    this.#creations = new RateLimits(
      creationsPerSecond,
      // A high rate (a load generator's, an operator's choice) gets a burst to match.
      Math.max(ROOM_CREATION_BURST, creationsPerSecond),
      clock,
    );
    this.#names = new NameKeeping({
      presence: this.presence,
      locals: this.#locals,
      registry: deps.names,
      announce: (change) => this.#sync.announce(change),
      me: (member) => this.me(member),
      log,
    });
    this.#members = new MemberMessages({
      store,
      bus,
      presence: this.presence,
      locals: this.#locals,
      clock,
      ids,
      maxMessageLength: settings.maxMessageLength,
      encode: deps.encode,
      limits: {
        directs: new RateLimits(
          ratePerSecond * RECIPIENT_FACTOR,
          rateBurst * RECIPIENT_FACTOR,
          clock,
        ),
        typing: new RateLimits(TYPING_PER_ROOM_PER_SEC, TYPING_PER_ROOM_PER_SEC * 2, clock),
      },
      stored: () => this.#stored++,
    });
    this.#reads = new ReadPositions({
      store,
      tell: (memberId, out, skip) => this.#members.toMember(memberId, out, { skip }),
    });
    this.#rooms = new RoomDirectory(store, ids, clock, settings.maxRooms);
    this.#roomList = new RoomListWatch(() => this.listRooms(), { log });
    const ttlSeconds = settings.roomIdleTtlSeconds ?? 0;
    this.#sweeper = ttlSeconds <= 0 ? undefined : new RoomSweeper({
      store,
      members: (room) => this.presence.countOf(room),
      removed: (room) => {
        this.#rooms.forget(room);
        this.#roomList.changed();
        const gone: RoomGoneNodeMessage = { t: "gone", room: room.id, name: room.name };
        bus.publish(NOTICES_TOPIC, gone);
      },
      clock,
      ttlMs: ttlSeconds * 1000,
      log,
    });
    this.#feeds = new RoomFeeds({
      bus,
      store,
      log,
      graceMs: settings.gapGraceMs ?? GAP_GRACE_MS,
      deliver: (room, entry) => {
        this.#locals.deliver(room, entry);
        this.#moderation.heard(room, entry);
      },
      awaitsAck: (memberId) => this.#writes.awaitsAck(memberId),
      encode: deps.encode,
    });
    this.#writes = new RoomWrites({
      store,
      feeds: this.#feeds,
      locals: this.#locals,
      clock,
      ids,
      maxMessageLength: settings.maxMessageLength,
      onMessage: deps.onMessage,
      observer: deps.observer,
      arrivals: this.arrivals,
      resolveRoom: (ref, create) => this.resolveRoom(ref, create),
      roomOf: (member, ref) => this.#membership.roomOf(member, ref),
      membersOf: (room) => this.presence.membersOf(room),
      checkWrite: (room, member) => this.#moderation.checkWrite(room, member),
      roleIn: (room, member) => this.#moderation.roleIn(room, member),
      stored: () => this.#stored++,
    });
    this.#moderation = new Moderation({
      store,
      locals: this.#locals,
      clock,
      ids,
      findMember: (ref) => this.#members.findMember(ref),
      commit: (actor, room, write, acknowledge) =>
        this.#writes.commit(actor, room, write, acknowledge),
      leaveRoom: (member, room) => this.#membership.leaveRoom(member, room),
      tell: (memberId, out, notIn) => this.#members.toMember(memberId, out, { notIn }),
    });
    this.#diffs = new PresenceDiffs({
      delayMs: settings.presenceDiffMs ?? PRESENCE_DIFF_MS,
      count: (room) => this.presence.countOf(room),
      send: (room, event) => this.#locals.fanout(room, { event }),
    });
    this.#sync = new PresenceSync({
      bus,
      nodeId,
      clock,
      log,
      presence: this.presence,
      heartbeatMs: settings.heartbeatMs,
      presenceTimeoutMs: settings.presenceTimeoutMs,
      onRemoteChanges: (changes, after) => this.#membership.announceRemote(changes, after),
      onNameSeen: (name) => this.#names.settle(nameKey(name)),
      onRemoteRename: (id, from, to, rooms) =>
        this.#names.announceRename(this.presence.get(id)?.memberId ?? id, from, to, rooms),
    });
    this.#membership = new RoomMembership({
      store,
      rooms: this.#rooms,
      feeds: this.#feeds,
      locals: this.#locals,
      presence: this.presence,
      sync: this.#sync,
      diffs: this.#diffs,
      roomList: this.#roomList,
      clock,
      ids,
      settings,
      resolveRoom: (ref) => this.resolveRoom(ref),
      takeCreation: (client) => this.#takeCreation(client),
      moderation: this.#moderation,
    });
  }

  /** This node's id. */
  get nodeId(): string {
    return this.#deps.nodeId;
  }

  /** Joins presence replication and, unless `timers` is false, starts the heartbeat. */
  start(options: { timers?: boolean } = {}): void {
    this.#sync.start(options.timers !== false);
    this.#unsubscribeNotices = this.#deps.bus.subscribe(NOTICES_TOPIC, (raw) => {
      const message = parseMemberMessage(raw);
      if (!message) return;
      if (message.t === "gone") {
        this.#rooms.forget({ id: message.room, name: message.name });
        this.#roomList.changed();
      } else this.#members.fromNode(message);
    });
    if (options.timers !== false && this.#sweeper) this.#sweeper.start();
  }

  /** Sends a heartbeat and drops nodes that have been silent too long (the timer calls this). */
  tick(): void {
    this.#sync.tick();
  }

  /** Says goodbye to other nodes and stops every subscription and timer. */
  close(): void {
    this.#roomList.close();
    this.#sweeper?.close();
    this.#diffs.close();
    this.#sync.close();
    this.#unsubscribeNotices?.();
    this.#feeds.closeAll();
  }

  /** Counters for tests and operators. */
  stats(): HubStats {
    const feeds = this.#feeds.stats();
    const sync = this.#sync.stats();
    return {
      nodeId: this.nodeId,
      localMembers: this.#locals.members.size,
      subscribedRooms: feeds.subscribedRooms,
      roomMessagesReceived: feeds.roomMessagesReceived,
      nodeMessagesDropped: feeds.roomMessagesDropped + sync.presenceDropped,
      knownNodes: sync.knownNodes,
      gapRepairs: feeds.gapRepairs,
      presenceResyncs: sync.presenceResyncs,
      messagesRepaired: feeds.messagesRepaired,
      messagesStored: this.#stored,
      deliveries: this.#locals.deliveries,
      members: this.presence.memberCount,
      activeRooms: this.presence.roomCount,
    };
  }

  // ---- members -------------------------------------------------------------------------------

  /**
   * Admits a member under a unique name (the wanted one, or with a suffix; a guest name when none
   * is given). Rejects an invalid name with `invalid_name`.
   */
  async connect(
    connection: Connection,
    wantedName?: string,
    allowedRooms?: readonly string[],
    subject?: string,
    options: { readonly noDirect?: boolean; readonly client?: string; readonly admin?: boolean } =
      {},
  ): Promise<LocalMember> {
    const base = wantedName === undefined
      ? guestName(this.#deps.random)
      : validateDisplayName(wantedName);
    // A token's subject is one member on all its connections: a device joins under its name.
    const memberId = subject === undefined ? undefined : memberIdOf(subject);
    const sibling = memberId === undefined ? undefined : this.presence.connectionsOf(memberId)[0];
    const id = this.#deps.ids();
    const name = await this.#names.free(
      sibling?.name ?? base,
      memberId ?? id,
      sibling !== undefined,
    );
    const { ratePerSecond: perSecond, rateBurst: burst } = this.#deps.settings;
    const allowed = allowedRooms === undefined ? undefined : roomAccessKeys(allowedRooms);
    const member = new LocalMember(
      id,
      name,
      base,
      connection,
      {
        perSecond,
        burst,
        clock: this.#deps.clock,
      },
      allowed,
      {
        perSecond: this.#deps.settings.joinRatePerSecond ?? 2,
        burst: this.#deps.settings.joinBurst ?? 10,
        clock: this.#deps.clock,
      },
    );
    if (memberId !== undefined) member.memberId = memberId;
    member.client = options.client;
    member.admin = options.admin === true;
    this.#locals.add(member);
    const noDirect = options.noDirect === true;
    this.presence.add(id, name, this.nodeId, member.memberId, noDirect);
    this.#sync.announce({
      t: "up",
      id,
      name,
      ...(memberId === undefined ? {} : { m: memberId }),
      ...(noDirect ? { nd: 1 as const } : {}),
    });
    // Another node's holder of this name may have been heard while the name was being chosen
    // (between choosing and adding, other work may run): apply the clash rule now, or nobody
    // would (that node checks only when it hears of ours, and ours may be the one to yield).
    this.#names.settle(nameKey(name));
    return member;
  }

  /** Who a member is. */
  me(member: LocalMember): MeEvent {
    return {
      event: "me",
      member: member.name,
      id: member.memberId,
      rooms: [...member.rooms.keys()],
    };
  }

  /** Removes a member from every room (with `leave` to the others) and from presence. */
  disconnect(member: LocalMember): void {
    if (!this.#locals.remove(member)) return;
    if (!this.#locals.hasDevices(member.memberId)) this.#members.forget(member.memberId);
    this.#names.release(member);
    this.#roomList.unwatch(member.connection);
    for (const room of [...member.rooms.keys()]) this.#membership.leaveRoom(member, room);
    this.presence.remove(member.id);
    this.#sync.announce({ t: "down", id: member.id });
  }

  // ---- rooms ---------------------------------------------------------------------------------

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
    this.#takeCreation(client);
    try {
      const room = await this.#rooms.create(rawName, {
        owner: viewer?.memberId,
        private: options.private,
      });
      this.#roomList.changed();
      return room;
    } catch (error) {
      if (!(error instanceof ChatError) || error.code !== "room_exists") throw error;
      const existing = await this.resolveRoom(String(error.details.id)).catch(() => undefined);
      if (existing && await this.#moderation.maySee(existing, viewer)) throw error;
      // A private room's name is taken, but who took it is not told.
      throw new ChatError("room_exists", `a room named '${rawName.trim()}' exists`);
    }
  }

  /**
   * A room as a visitor without a socket may see it (HTTP, gRPC): `no_such_room` for a private
   * room off the viewer's list; with `writing`, `banned` and `muted` refuse too.
   */
  async visit(ref: string, viewer: Viewer | undefined, writing = false): Promise<Room> {
    return await this.#moderation.visit(await this.resolveRoom(ref), viewer, writing);
  }

  /**
   * Finds a room by id or name; with `create`, a missing name is created, counted against
   * `client`'s room creations (see `CHAT_ROOMS_PER_HOUR`).
   */
  resolveRoom(ref: string, create = false, client?: string): Promise<Room> {
    return this.#rooms.resolve(ref, create, () => this.#takeCreation(client));
  }

  /**
   * A page of rooms with their member counts on every node, oldest first: at most `limit`
   * (default 100, max 500) created after the room id `after`.
   */
  async listRooms(
    query: { after?: string; limit?: number } = {},
    viewer?: Viewer,
  ): Promise<RoomSummary[]> {
    const limit = pageLimit(query.limit, ROOMS_DEFAULT, ROOMS_MAX);
    const page = await this.#rooms.list({ after: query.after, limit });
    // A private room is listed only to its list.
    const seen = await Promise.all(page.map((room) => this.#moderation.maySee(room, viewer)));
    const rooms = page.filter((_, i) => seen[i]);
    return rooms.map((room) => ({
      id: room.id,
      name: room.name,
      members: this.presence.countOf(room.id),
    }));
  }

  /**
   * The room list for a member that watches it: answered now, and pushed again as a `rooms`
   * event soon after any change (see `room_list_watch.ts`) until it disconnects.
   */
  watchRooms(member: LocalMember): Promise<RoomsEvent> {
    return this.#roomList.watch(member.connection);
  }

  /** A room with the names of its members on every node, as `viewer` may see it. */
  async roomDetails(ref: string, viewer?: Viewer): Promise<RoomDetails> {
    const room = await this.visit(ref, viewer);
    return { ...room, members: this.#membership.memberNames(room.id) };
  }

  /**
   * A page of a room's history, oldest first: every message, the replies in one message's
   * `thread`, or those whose text contains `q` (see `message_search.ts`; `next` says where to go
   * on when the scan budget ran out before a page of matches).
   */
  async readMessages(
    ref: string,
    query: { before?: string; after?: string; limit?: number; thread?: string; q?: string },
    viewer?: Viewer,
  ): Promise<FilteredPage> {
    const room = await this.visit(ref, viewer);
    const { before, after, thread, q } = query;
    const limit = pageLimit(query.limit, HISTORY_PAGE.default, HISTORY_PAGE.max);
    const { store } = this.#deps;
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

  // ---- commands ------------------------------------------------------------------------------

  /**
   * Puts a member in a room (creating a room named `ref` if none exists); with `since`, the
   * answer's `flush` replays what the room stored after it (see `room_membership.ts`).
   */
  async join(
    member: LocalMember,
    ref: string,
    since?: string,
    options: { readonly private?: boolean } = {},
  ): Promise<JoinResult> {
    const joined = await this.#membership.join(member, ref, since, options);
    try {
      return { ...joined, read: await this.#reads.of(member.memberId, joined.room.id) };
    } catch (error) {
      // In the room all the same: the answer goes without the read state.
      this.#deps.log?.("read_state_failed", { room: joined.room.id, error: String(error) });
      return joined;
    }
  }

  /**
   * Moves the member's read position in a room (never back), told to its other connections on
   * every node; resolves with the `read` event (the position after).
   */
  async read(member: LocalMember, ref: string, id: string): Promise<ReadEvent> {
    const room = await this.#membership.readableRoom(member, ref);
    return await this.#reads.mark(member.memberId, room.id, id, member.id);
  }

  /** Takes a member out of a room, telling the others. */
  leave(member: LocalMember, ref: string): Promise<{ room: string }> {
    return this.#membership.leave(member, ref);
  }

  /**
   * Follows a room without being a member of it (Server-Sent Events), from `since`; call `flush`
   * after sending what the result describes, and `stop` when done.
   */
  async observe(
    ref: string,
    connection: Connection,
    since?: string,
    viewer?: Viewer,
  ): Promise<JoinResult & { stop(): void }> {
    const room = await this.visit(ref, viewer);
    return await this.#membership.observe(room.id, connection, since);
  }

  /**
   * A moderation command of a member in a room (`invite`, `role`, `kick`, `ban`, `unban`,
   * `mute`): a stored event of the room; `acknowledge` gets it in its place. Refused with
   * `forbidden` when the member's role is too low (see `room_access.ts`).
   */
  async moderate(
    member: LocalMember,
    ref: string,
    request: ModerationRequest,
    acknowledge?: (out: Outbound) => void,
  ): Promise<ModerationEvent> {
    const room = await this.#membership.readableRoom(member, ref);
    return await this.#moderation.act(member, room, request, acknowledge);
  }

  /**
   * The embedder's moderation (`chat.moderate`): the same commands, acting as the server, which
   * ranks as every room's owner.
   */
  async moderateAsServer(ref: string, request: ModerationRequest): Promise<ModerationEvent> {
    const room = await this.resolveRoom(ref);
    return await this.#moderation.act(SERVER_ACTOR, room, request);
  }

  /** Takes one of a client's room creations, or refuses with `rate_limited`. */
  #takeCreation(client: string | undefined): void {
    this.#creations.demand(client, "too many new rooms; try again later");
  }

  /**
   * Validates, rate-limits, stores and then delivers a member's message (see `room_writes.ts`):
   * resolves once committed; `acknowledge` is called in the message's place in the room's order.
   */
  broadcast(
    member: LocalMember,
    message: string,
    ref?: string,
    acknowledge?: (out: Outbound) => void,
    options?: BroadcastOptions,
  ): Promise<ChatMessage> {
    return this.#writes.broadcast(member, message, ref, acknowledge, options);
  }

  /** Stores a binary message in the member's single room (seed 001's binary frames). */
  broadcastBinary(
    member: LocalMember,
    bytes: Uint8Array,
    acknowledge?: (out: Outbound) => void,
  ): Promise<ChatMessage> {
    return this.#writes.broadcastBinary(member, bytes, acknowledge);
  }

  /** Stores a message in the server's name in a room (created if missing). */
  post(ref: string, message: string, author = "Server"): Promise<ChatMessage> {
    return this.#writes.post(ref, message, author);
  }

  /** Stores a message sent over HTTP by `name`; a repeated idempotency key stores once. */
  async send(
    ref: string,
    message: string,
    name: string,
    idempotencyKey?: string,
    replyTo?: string,
    viewer?: Viewer,
  ): Promise<ChatMessage> {
    const room = await this.visit(ref, viewer, true);
    return await this.#writes.send(room.id, message, name, idempotencyKey, replyTo);
  }

  /**
   * Pushes a `notice` (not stored) to every member, the members of a room, or one member (by id
   * or name), on every node.
   */
  async notify(
    target: "everyone" | { readonly room: string } | { readonly member: string },
    message: string,
  ): Promise<void> {
    await this.arrivals.settled(ARRIVAL_WAIT_MS);
    let to: NoticeTarget;
    if (target === "everyone") to = { everyone: true };
    else if ("room" in target) to = { room: (await this.resolveRoom(target.room)).id };
    else {
      to = { member: this.#members.findMember(target.member).memberId };
    }
    this.#members.notify(to, message);
  }

  /** Edits, deletes or reacts to a message of one of the member's rooms (a stored event). */
  change(
    member: LocalMember,
    request: ChangeRequest,
    acknowledge?: (out: Outbound) => void,
  ): Promise<ChangeEvent> {
    return this.#writes.change(member, request, acknowledge);
  }

  /**
   * Tells the other members of a room (on every node) that the member is typing. Not stored; at
   * most one a second per member is relayed from a node, the rest are dropped without a word.
   */
  async typing(member: LocalMember, ref?: string): Promise<void> {
    this.#members.typing(member, await this.#membership.roomOf(member, ref));
  }

  /**
   * Sends a direct message to a member (by name or id, on any node): stored first in the pair's
   * private log (see `direct.ts`), then pushed to every connection of the recipient and the
   * sender's other connections. Resolves with the event (the sender's answer).
   */
  direct(member: LocalMember, to: string, message: string): Promise<DirectEvent> {
    return this.#members.direct(member, to, message);
  }

  /**
   * A page of the direct messages between the member and another (by id, or by name while
   * connected), oldest first: only its two parties can read a pair's log.
   */
  directHistory(
    member: LocalMember,
    other: string,
    before: string | undefined,
    limit: number | undefined,
  ): Promise<{ with: string; messages: DirectEvent[]; more: boolean }> {
    return this.#members.directHistory(member, other, before, limit);
  }

  /** The members of a room (any room, joined or not); in a large room, a page from `offset`. */
  async list(member: LocalMember, ref?: string, offset = 0): Promise<MemberList> {
    const room = await this.#membership.readableRoom(member, ref);
    if (!Number.isInteger(offset) || offset < 0) {
      throw new ChatError("invalid_field", "offset must be a non-negative integer", {
        field: "offset",
      });
    }
    const { members, page } = this.#membership.membersOf(room.id, offset);
    return {
      room: room.id,
      members,
      ...(page ? { page: { count: page.count, offset, more: page.more } } : {}),
    };
  }

  /** A page of a room's history before `before` (or the newest), oldest first. */
  async history(
    member: LocalMember,
    ref: string | undefined,
    before: string | undefined,
    limit: number | undefined,
  ): Promise<HistoryPage> {
    const room = await this.#membership.readableRoom(member, ref);
    const page = await this.#deps.store.readMessages(room.id, {
      before,
      limit: pageLimit(limit, HISTORY_PAGE.default, HISTORY_PAGE.max),
    });
    return { room: room.id, messages: page.messages, more: page.more };
  }

  // ---- internals -----------------------------------------------------------------------------
}
