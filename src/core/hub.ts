import type { Bus, BusMessage } from "./bus.ts";
import { ChatError } from "./errors.ts";
import { LocalMember } from "./local_member.ts";
import { idFloor, isUlid, pageLimit, validateMessageText } from "./message.ts";
import { guestName, nameKey, uniqueName, validateDisplayName, validateRoomName } from "./names.ts";
import { type MemberSnapshot, Presence, type RoomChange } from "./presence.ts";
import { RecentIds } from "./recent_ids.ts";
import type { Store } from "./store.ts";
import type {
  ChatMessage,
  Clock,
  Connection,
  IdSource,
  Logger,
  MessagePage,
  Outbound,
  Room,
} from "./types.ts";

/** The limits and timings the hub enforces. */
export interface HubSettings {
  /** Longest message, in characters. */
  readonly maxMessageLength: number;
  /** Sustained broadcasts per second per connection. */
  readonly ratePerSecond: number;
  /** Broadcasts a connection may send at once above its sustained rate. */
  readonly rateBurst: number;
  /** Rooms one connection may be in at once. */
  readonly maxRoomsPerConnection: number;
  /** How often this node tells others it is alive, in ms. */
  readonly heartbeatMs: number;
  /** How long without a word before a node's members are dropped, in ms. */
  readonly presenceTimeoutMs: number;
}

/** What the hub is built from; every moving part is passed in. */
export interface HubDeps {
  /** Rooms and history. */
  readonly store: Store;
  /** How this node talks to the other isolates. */
  readonly bus: Bus;
  /** Time. */
  readonly clock: Clock;
  /** Ids for members, rooms and messages. */
  readonly ids: IdSource;
  /** This node's id, unique among isolates. */
  readonly nodeId: string;
  /** Limits and timings. */
  readonly settings: HubSettings;
  /** Structured log lines (renames, lost nodes, repairs). */
  readonly log?: Logger;
  /** Randomness for generated guest names. */
  readonly random?: () => number;
}

/** A room with its member count, as `GET /rooms` lists it. */
export interface RoomSummary {
  /** The room's id. */
  readonly id: string;
  /** The room's name. */
  readonly name: string;
  /** Members connected to it on every node. */
  readonly members: number;
}

/** A room with its member names, as `GET /rooms/:id` shows it. */
export interface RoomDetails extends Room {
  /** Names of the members connected to it on every node. */
  readonly members: string[];
}

/** The `joined` answer. */
export interface JoinedEvent {
  /** The event's name. */
  readonly event: "joined";
  /** The room's id. */
  readonly room: string;
  /** The room's name. */
  readonly name: string;
  /** Names of its members on every node. */
  readonly members: string[];
  /** With `since`: whether everything missed was still kept. */
  readonly recovered?: boolean;
}

/** What `join` gives back: the `joined` event, and what to call once it is sent. */
export interface JoinResult {
  /** The answer to send first. */
  readonly joined: JoinedEvent;
  /** Sends the replayed messages and then the live ones held meanwhile. */
  readonly flush: () => void;
}

/** The `me` answer. */
export interface MeEvent {
  /** The event's name. */
  readonly event: "me";
  /** The member's assigned display name. */
  readonly member: string;
  /** The member's id. */
  readonly id: string;
  /** Ids of the rooms the member is in. */
  readonly rooms: string[];
}

/** Counters that tests and operators read. */
export interface HubStats {
  /** This node's id. */
  readonly nodeId: string;
  /** Members connected here. */
  readonly localMembers: number;
  /** Rooms whose bus topic this node listens to. */
  readonly subscribedRooms: string[];
  /** Room messages received from other nodes. */
  readonly roomMessagesReceived: number;
  /** Other nodes heard from. */
  readonly knownNodes: string[];
  /** Repairs of rooms after the bus lost messages. */
  readonly gapRepairs: number;
  /** Full presence resyncs after the bus lost presence updates. */
  readonly presenceResyncs: number;
  /** Messages delivered by repairs. */
  readonly messagesRepaired: number;
}

const PRESENCE_TOPIC = "presence";
const REPLAY_PAGE = 200;
/** A history page: 50 messages unless asked, never more than 200 (the contract's limits). */
const PAGE_DEFAULT = 50;
const PAGE_MAX = 200;
/** How far back a repair after a bus gap may look, and how many ids a room remembers. */
const REPAIR_WINDOW_MS = 30_000;
const RECENT_IDS = 16_384;

/** What a node tracks of a room it listens to, to repair what the bus loses. */
interface RoomFeed {
  /** Ids delivered lately, so that a repair delivers nothing twice. */
  readonly recent: RecentIds;
  /** The newest id received from each publisher: a repair after its gap starts there. */
  readonly lastFrom: Map<string, string>;
  /** When this node started listening. */
  readonly since: number;
  /** Where the next repair starts (the oldest point of the gaps reported meanwhile). */
  repairAfter?: string;
}
const roomTopic = (room: string) => `room:${room}`;

function outbound(event: object, id?: string): Outbound {
  return { text: JSON.stringify(event), id };
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * The chat: members, rooms, presence and history, with no knowledge of HTTP or WebSocket framing.
 * Fan-out is local to this node's members; other nodes hear about messages on a per-room bus topic
 * (subscribed only while this node has members in the room) and about membership on a presence
 * topic, which also carries heartbeats so that a silent node's members are dropped in time.
 */
export class Hub {
  /** Who is connected where, on every node, as this node knows it. */
  readonly presence = new Presence();
  readonly #deps: HubDeps;
  readonly #locals = new Map<string, LocalMember>();
  readonly #localRooms = new Map<string, Set<LocalMember>>();
  readonly #roomSubscriptions = new Map<string, () => void>();
  readonly #feeds = new Map<string, RoomFeed>();
  /** Rooms being repaired. */
  readonly #repairing = new Set<string>();
  readonly #roomsById = new Map<string, Room>();
  readonly #roomsByName = new Map<string, Room>();
  readonly #nodes = new Map<string, number>();
  #unsubscribePresence?: () => void;
  #timer?: ReturnType<typeof setInterval>;
  #roomMessagesReceived = 0;
  #gapRepairs = 0;
  #presenceResyncs = 0;
  #messagesRepaired = 0;

  /** A hub over the given store, bus, clock and ids; call {@link start} before use. */
  constructor(deps: HubDeps) {
    this.#deps = deps;
  }

  /** This node's id. */
  get nodeId(): string {
    return this.#deps.nodeId;
  }

  /** Joins the presence topic, asks others for their members, and starts the heartbeat. */
  start(options: { timers?: boolean } = {}): void {
    this.#unsubscribePresence = this.#deps.bus.subscribe(
      PRESENCE_TOPIC,
      (message) => this.#onPresence(message),
      () => this.#resyncPresence(),
    );
    this.#publishPresence({ t: "hello" });
    if (options.timers !== false) {
      this.#timer = setInterval(() => this.tick(), this.#deps.settings.heartbeatMs);
    }
  }

  /** Sends a heartbeat and drops nodes that have been silent too long (the timer calls this). */
  tick(): void {
    this.#publishPresence({ t: "beat", n: this.#locals.size });
    const deadline = this.#deps.clock() - this.#deps.settings.presenceTimeoutMs;
    for (const [node, lastSeen] of this.#nodes) {
      if (lastSeen < deadline) {
        this.#nodes.delete(node);
        this.#deps.log?.("node_lost", { node, silentMs: this.#deps.clock() - lastSeen });
        this.#applyRemoteChanges(this.presence.removeNode(node));
      }
    }
  }

  /** Says goodbye to other nodes and stops every subscription and timer. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#publishPresence({ t: "bye" });
    this.#unsubscribePresence?.();
    for (const unsubscribe of this.#roomSubscriptions.values()) unsubscribe();
    this.#roomSubscriptions.clear();
  }

  /** Counters for tests and operators. */
  stats(): HubStats {
    return {
      nodeId: this.nodeId,
      localMembers: this.#locals.size,
      subscribedRooms: [...this.#roomSubscriptions.keys()],
      roomMessagesReceived: this.#roomMessagesReceived,
      knownNodes: [...this.#nodes.keys()],
      gapRepairs: this.#gapRepairs,
      presenceResyncs: this.#presenceResyncs,
      messagesRepaired: this.#messagesRepaired,
    };
  }

  // ---- members -------------------------------------------------------------------------------

  /**
   * Admits a member under a unique name (the wanted one, or with a suffix; a guest name when none
   * is given). Rejects an invalid name with `invalid_name`.
   */
  connect(
    connection: Connection,
    wantedName?: string,
    allowedRooms?: readonly string[],
  ): LocalMember {
    const base = wantedName === undefined
      ? guestName(this.#deps.random)
      : validateDisplayName(wantedName);
    const name = uniqueName(base, (key) => this.presence.isNameTaken(key));
    const id = this.#deps.ids();
    const { ratePerSecond: perSecond, rateBurst: burst } = this.#deps.settings;
    const allowed = allowedRooms === undefined
      ? undefined
      : new Set(allowedRooms.flatMap((r) => [nameKey(r.trim()), r.trim().toUpperCase()]));
    const member = new LocalMember(id, name, base, connection, {
      perSecond,
      burst,
      clock: this.#deps.clock,
    }, allowed);
    this.#locals.set(id, member);
    this.presence.add(id, name, this.nodeId);
    this.#publishPresence({ t: "up", id, name });
    return member;
  }

  /** The `me` event for a member. */
  me(member: LocalMember): MeEvent {
    return { event: "me", member: member.name, id: member.id, rooms: [...member.rooms.keys()] };
  }

  /** Removes a member from every room (with `leave` to the others) and from presence. */
  disconnect(member: LocalMember): void {
    if (!this.#locals.delete(member.id)) return;
    for (const room of [...member.rooms.keys()]) this.#leaveRoom(member, room);
    this.presence.remove(member.id);
    this.#publishPresence({ t: "down", id: member.id });
  }

  // ---- rooms ---------------------------------------------------------------------------------

  /** Creates a room; rejects with `room_exists` (details.id) when the name is taken. */
  async createRoom(rawName: string): Promise<Room> {
    const name = validateRoomName(rawName);
    const room = await this.#deps.store.createRoom({
      id: this.#deps.ids(),
      name,
      createdAt: this.#deps.clock(),
    });
    return this.#remember(room);
  }

  /** Finds a room by id or name; with `create`, a missing name is created. */
  async resolveRoom(ref: string, create = false): Promise<Room> {
    const trimmed = ref.trim();
    if (trimmed === "") throw new ChatError("invalid_field", "room must not be empty");
    const upper = trimmed.toUpperCase();
    if (isUlid(upper)) {
      const byId = this.#roomsById.get(upper) ?? await this.#deps.store.getRoom(upper);
      if (byId) return this.#remember(byId);
    }
    const byName = this.#roomsByName.get(nameKey(trimmed)) ??
      await this.#deps.store.findRoomByName(trimmed);
    if (byName) return this.#remember(byName);
    if (!create) throw new ChatError("no_such_room", `no room '${trimmed}'`);
    try {
      return await this.createRoom(trimmed);
    } catch (error) {
      // Another member (perhaps on another isolate) created it a moment ago.
      if (error instanceof ChatError && error.code === "room_exists") {
        return this.resolveRoom(String(error.details.id));
      }
      throw error;
    }
  }

  /** Every room with its member count on every node. */
  async listRooms(): Promise<RoomSummary[]> {
    const rooms = await this.#deps.store.listRooms();
    return rooms.map((room) => ({
      id: room.id,
      name: room.name,
      members: this.presence.countOf(room.id),
    }));
  }

  /** A room with the names of its members on every node. */
  async roomDetails(ref: string): Promise<RoomDetails> {
    const room = await this.resolveRoom(ref);
    return { ...room, members: this.#memberNames(room.id) };
  }

  /** A page of a room's history, oldest first. */
  async readMessages(
    ref: string,
    query: { before?: string; after?: string; limit?: number },
  ): Promise<MessagePage> {
    const room = await this.resolveRoom(ref);
    const limit = pageLimit(query.limit, PAGE_DEFAULT, PAGE_MAX);
    return await this.#deps.store.readMessages(room.id, { ...query, limit });
  }

  // ---- commands ------------------------------------------------------------------------------

  /**
   * Puts a member in a room (creating a room named `ref` if none exists). With `since`, the room's
   * messages after that id are read, and live ones are held meanwhile. The caller sends `joined`
   * and then calls `flush`, which sends the missed messages and then the held live ones, dropping
   * duplicates, so that the member sees no gap and no duplicate.
   */
  async join(member: LocalMember, ref: string, since?: string): Promise<JoinResult> {
    const room = await this.#joinableRoom(member, ref);
    const entering = !member.rooms.has(room.id);
    if (entering && member.rooms.size >= this.#deps.settings.maxRoomsPerConnection) {
      throw new ChatError(
        "too_many_rooms",
        `a connection may be in at most ${this.#deps.settings.maxRoomsPerConnection} rooms`,
      );
    }
    const replaying = entering && since !== undefined;
    if (replaying) member.closeGate(room.id);
    if (entering) this.#enterRoom(member, room);
    const joined: JoinedEvent = {
      event: "joined",
      room: room.id,
      name: room.name,
      members: this.#memberNames(room.id),
    };
    if (!replaying) return { joined, flush: () => {} };
    try {
      const { missed, recovered } = await this.#missedSince(room.id, since);
      const flush = () => {
        for (const m of missed) member.replay(room.id, outbound(m, m.id));
        member.openGate(room.id);
      };
      return { joined: { ...joined, recovered }, flush };
    } catch (error) {
      member.openGate(room.id);
      throw error;
    }
  }

  /** The room to join, refusing (before creating anything) rooms the member may not join. */
  async #joinableRoom(member: LocalMember, ref: string): Promise<Room> {
    const allowed = member.allowedRooms;
    if (!allowed) return await this.resolveRoom(ref, true);
    const trimmed = ref.trim();
    const named = allowed.has(nameKey(trimmed)) || allowed.has(trimmed.toUpperCase());
    const room = await this.resolveRoom(ref, named).catch(() => undefined);
    if (room && (allowed.has(room.id) || allowed.has(nameKey(room.name)))) return room;
    throw new ChatError("room_forbidden", `your token does not allow room '${trimmed}'`);
  }

  /** The messages after `since`, and whether retention kept all of them. */
  async #missedSince(
    room: string,
    since: string,
  ): Promise<{ missed: ChatMessage[]; recovered: boolean }> {
    const missed: ChatMessage[] = [];
    for (let after = since;;) {
      const page = await this.#deps.store.readMessages(room, { after, limit: REPLAY_PAGE });
      missed.push(...page.messages);
      if (!page.more || page.messages.length === 0) break;
      after = page.messages[page.messages.length - 1].id;
    }
    // Read after the messages: a trim racing the read can only make this answer more cautious.
    const trimmed = await this.#deps.store.trimmedThrough(room);
    return { missed, recovered: trimmed === undefined || trimmed <= since };
  }

  /** Takes a member out of a room, telling the others. */
  async leave(member: LocalMember, ref: string): Promise<{ event: "left"; room: string }> {
    const room = this.#memberRoom(member, ref) ?? await this.#notInRoom(ref);
    this.#leaveRoom(member, room.id);
    return { event: "left", room: room.id };
  }

  /**
   * Validates, rate-limits, stores and then fans out a message. The returned promise resolves with
   * the stored message (the sender's acknowledgement) only after the store has committed it;
   * nobody receives a message that history will not have. Messages of one sender are stored and
   * delivered in the order this method is called; `acknowledge` is called at the moment of the
   * fan-out, so the sender's copy keeps its place among the others' messages. It gets the event
   * already serialised for the fan-out, so that the message is serialised once.
   */
  broadcast(
    member: LocalMember,
    message: string,
    ref?: string,
    acknowledge?: (stored: ChatMessage, text: string) => void,
  ): Promise<ChatMessage> {
    try {
      const room = ref === undefined ? this.#onlyRoom(member) : this.#memberRoom(member, ref);
      if (!room) return this.#notInRoom(ref ?? "");
      validateMessageText(message, this.#deps.settings.maxMessageLength);
      if (!member.limiter.take()) {
        throw new ChatError("rate_limited", "too many messages; slow down");
      }
      const stored: ChatMessage = {
        event: "broadcast",
        room: room.id,
        id: this.#deps.ids(),
        member: member.name,
        memberId: member.id,
        message,
        ts: this.#deps.clock(),
      };
      return this.#deps.store.appendMessage(stored).then(() => {
        const out = outbound(stored, stored.id);
        // The acknowledgement goes out in the same step as the fan-out, so that the sender
        // sees its own message in the same order as everyone else does.
        acknowledge?.(stored, out.text);
        this.#feeds.get(room.id)?.recent.add(stored.id);
        this.#fanout(room.id, out, member);
        this.#deps.bus.publish(roomTopic(room.id), { id: stored.id, text: out.text });
        return stored;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The members of a room (any room, joined or not). */
  async list(member: LocalMember, ref?: string): Promise<Record<string, unknown>> {
    const room = ref === undefined ? this.#onlyRoom(member) : await this.#anyRoom(member, ref);
    return { event: "list", room: room.id, members: this.#memberNames(room.id) };
  }

  /** A page of a room's history before `before` (or the newest), oldest first. */
  async history(
    member: LocalMember,
    ref: string | undefined,
    before: string | undefined,
    limit: number | undefined,
  ): Promise<Record<string, unknown>> {
    const room = ref === undefined ? this.#onlyRoom(member) : await this.#anyRoom(member, ref);
    const page = await this.#deps.store.readMessages(room.id, {
      before,
      limit: pageLimit(limit, PAGE_DEFAULT, PAGE_MAX),
    });
    return { event: "history", room: room.id, messages: page.messages, more: page.more };
  }

  // ---- internals: rooms ----------------------------------------------------------------------

  #remember(room: Room): Room {
    this.#roomsById.set(room.id, room);
    this.#roomsByName.set(nameKey(room.name), room);
    return room;
  }

  #memberNames(room: string): string[] {
    return this.presence.membersOf(room).map((m) => m.name);
  }

  #onlyRoom(member: LocalMember): Room {
    if (member.rooms.size === 1) return member.rooms.values().next().value!;
    if (member.rooms.size === 0) throw new ChatError("not_in_room", "join a room first");
    throw new ChatError("missing_field", "room is required while in several rooms", {
      field: "room",
    });
  }

  /** One of the member's rooms, by id or name. */
  #memberRoom(member: LocalMember, ref: string): Room | undefined {
    const trimmed = ref.trim();
    const byId = member.rooms.get(trimmed.toUpperCase());
    if (byId) return byId;
    const key = nameKey(trimmed);
    for (const room of member.rooms.values()) if (nameKey(room.name) === key) return room;
    return undefined;
  }

  /** Rejects with `not_in_room` for an existing room, `no_such_room` otherwise. */
  async #notInRoom(ref: string): Promise<never> {
    const room = await this.resolveRoom(ref);
    throw new ChatError("not_in_room", `not in room '${room.name}'; join it first`);
  }

  async #anyRoom(member: LocalMember, ref: string): Promise<Room> {
    return this.#memberRoom(member, ref) ?? await this.resolveRoom(ref);
  }

  #enterRoom(member: LocalMember, room: Room): void {
    member.rooms.set(room.id, room);
    let locals = this.#localRooms.get(room.id);
    if (!locals) {
      this.#localRooms.set(room.id, locals = new Set());
      this.#feeds.set(room.id, {
        recent: new RecentIds(RECENT_IDS),
        lastFrom: new Map(),
        since: this.#deps.clock(),
      });
      this.#roomSubscriptions.set(
        room.id,
        this.#deps.bus.subscribe(
          roomTopic(room.id),
          (m, from) => this.#onRoomMessage(room.id, m, from),
          (from) => this.#repairRoom(room.id, from),
        ),
      );
    }
    locals.add(member);
    this.#applyLocalChanges(this.presence.join(member.id, room.id), member);
    this.#publishPresence({ t: "join", id: member.id, room: room.id });
  }

  #leaveRoom(member: LocalMember, room: string): void {
    member.rooms.delete(room);
    member.openGate(room);
    const locals = this.#localRooms.get(room);
    locals?.delete(member);
    if (locals && locals.size === 0) {
      this.#localRooms.delete(room);
      this.#roomSubscriptions.get(room)?.();
      this.#roomSubscriptions.delete(room);
      this.#feeds.delete(room);
    }
    this.#applyLocalChanges(this.presence.leave(member.id, room), member);
    this.#publishPresence({ t: "leave", id: member.id, room });
  }

  /** Sends an event to this node's members of a room, except `skip`. */
  #fanout(room: string, out: Outbound, skip?: LocalMember): void {
    const locals = this.#localRooms.get(room);
    if (!locals) return;
    for (const member of locals) if (member !== skip) member.deliver(room, out);
  }

  #onRoomMessage(room: string, message: BusMessage, from: string): void {
    const id = text(message.id);
    const body = text(message.text);
    if (id === undefined || body === undefined) return;
    this.#roomMessagesReceived++;
    const feed = this.#feeds.get(room);
    if (feed) {
      const last = feed.lastFrom.get(from);
      if (last === undefined || id > last) feed.lastFrom.set(from, id);
      if (feed.recent.has(id)) return; // already delivered by a repair
      feed.recent.add(id);
    }
    this.#fanout(room, { text: body, id });
  }

  /**
   * The bus lost messages of a room from publisher `from` (a lagging `BroadcastChannel` receiver
   * drops them). Every message is committed before it is published, so the store has them:
   * deliver, from the last id received from that publisher on, those this node has not
   * delivered yet. They arrive late, but they arrive, once.
   */
  async #repairRoom(room: string, from: string): Promise<void> {
    const feed = this.#feeds.get(room);
    if (!feed) return;
    // Decided now, before the packet that revealed the gap is delivered and moves `lastFrom`.
    const floor = Math.max(feed.since, this.#deps.clock() - REPAIR_WINDOW_MS) - 1000;
    const start = feed.lastFrom.get(from) ?? idFloor(floor);
    if (feed.repairAfter === undefined || start < feed.repairAfter) feed.repairAfter = start;
    if (this.#repairing.has(room)) return; // the running repair picks it up
    this.#repairing.add(room);
    try {
      while (feed.repairAfter !== undefined && this.#feeds.get(room) === feed) {
        const after = feed.repairAfter;
        feed.repairAfter = undefined;
        await this.#repairFrom(room, feed, after);
      }
    } catch (error) {
      this.#deps.log?.("bus_gap_repair_failed", { room, error: String(error) });
    } finally {
      this.#repairing.delete(room);
    }
  }

  async #repairFrom(room: string, feed: RoomFeed, from: string): Promise<void> {
    let after = from;
    let repaired = 0;
    for (let pages = 0; pages < RECENT_IDS / REPLAY_PAGE; pages++) {
      const page = await this.#deps.store.readMessages(room, { after, limit: REPLAY_PAGE });
      if (this.#feeds.get(room) !== feed) return;
      for (const message of page.messages) {
        if (feed.recent.has(message.id)) continue;
        feed.recent.add(message.id);
        repaired++;
        this.#fanout(room, outbound(message, message.id));
      }
      if (!page.more || page.messages.length === 0) break;
      after = page.messages[page.messages.length - 1].id;
    }
    this.#gapRepairs++;
    this.#messagesRepaired += repaired;
    this.#deps.log?.("bus_gap_repaired", { room, repaired });
  }

  // ---- internals: presence -------------------------------------------------------------------

  #publishPresence(message: BusMessage): void {
    this.#deps.bus.publish(PRESENCE_TOPIC, { ...message, node: this.nodeId });
  }

  #changeEvent(change: RoomChange): Outbound {
    return outbound({
      event: change.kind,
      room: change.room,
      member: change.member.name,
      memberId: change.member.id,
    });
  }

  /** Tells this node's members about a local member's join or leave. */
  #applyLocalChanges(changes: RoomChange[], actor: LocalMember): void {
    for (const change of changes) this.#fanout(change.room, this.#changeEvent(change), actor);
  }

  /** Tells this node's members about joins and leaves that happened on other nodes. */
  #applyRemoteChanges(changes: RoomChange[]): void {
    for (const change of changes) {
      if (this.#localRooms.has(change.room)) {
        this.#fanout(change.room, this.#changeEvent(change));
      }
    }
  }

  #onPresence(message: BusMessage): void {
    const node = text(message.node);
    if (node === undefined || node === this.nodeId) return;
    const known = this.#nodes.has(node);
    this.#nodes.set(node, this.#deps.clock());
    const id = text(message.id) ?? "";
    const room = text(message.room) ?? "";
    switch (message.t) {
      case "hello":
        this.#publishSync();
        break;
      case "want":
        if (message.to === this.nodeId || message.to === "*") this.#publishSync();
        break;
      case "sync":
        if (Array.isArray(message.members)) this.#onSync(node, message.members);
        break;
      case "up": {
        const name = text(message.name);
        if (name === undefined) break;
        this.presence.add(id, name, node);
        this.#settleName(nameKey(name));
        break;
      }
      case "join":
        this.#applyRemoteChanges(this.presence.join(id, room));
        break;
      case "leave":
        this.#applyRemoteChanges(this.presence.leave(id, room));
        break;
      case "down":
        this.#applyRemoteChanges(this.presence.remove(id));
        break;
      case "rename": {
        const name = text(message.name);
        if (name !== undefined) this.#onRemoteRename(id, name);
        break;
      }
      case "beat":
        if (!known || this.presence.membersOn(node).length !== message.n) {
          this.#publishPresence({ t: "want", to: node });
        }
        break;
      case "bye":
        this.#nodes.delete(node);
        this.#applyRemoteChanges(this.presence.removeNode(node));
        break;
    }
  }

  /** Presence updates were lost on the bus: ask every node for its full state again. */
  #resyncPresence(): void {
    this.#presenceResyncs++;
    this.#deps.log?.("presence_resync", {});
    this.#publishPresence({ t: "want", to: "*" });
  }

  #publishSync(): void {
    this.#publishPresence({ t: "sync", members: this.presence.snapshotOf(this.nodeId) });
  }

  #onSync(node: string, raw: unknown[]): void {
    const snapshot: MemberSnapshot[] = [];
    for (const item of raw) {
      if (typeof item !== "object" || item === null) continue;
      const { id, name, rooms } = item as Record<string, unknown>;
      if (typeof id !== "string" || typeof name !== "string" || !Array.isArray(rooms)) continue;
      snapshot.push({ id, name, rooms: rooms.filter((r) => typeof r === "string") });
    }
    this.#applyRemoteChanges(this.presence.replaceNode(node, snapshot));
    for (const member of snapshot) this.#settleName(nameKey(member.name));
  }

  #onRemoteRename(id: string, name: string): void {
    const before = this.presence.get(id);
    if (!before || before.name === name) return;
    const from = before.name;
    this.presence.rename(id, name);
    this.#announceRename(id, from, name, [...before.rooms]);
    this.#settleName(nameKey(name));
  }

  /**
   * Two nodes may hand out the same name at the same moment. Every node applies the same rule:
   * the holder with the smallest member id keeps it; a local holder that loses takes a new name.
   */
  #settleName(key: string): void {
    const holders = this.presence.holdersOf(key);
    if (holders.length < 2) return;
    const keeper = holders.reduce((a, b) => (a.id < b.id ? a : b));
    for (const holder of holders) {
      const local = this.#locals.get(holder.id);
      if (holder !== keeper && local) this.#renameLocal(local);
    }
  }

  #renameLocal(member: LocalMember): void {
    const from = member.name;
    const to = uniqueName(member.wantedName, (key) => this.presence.isNameTaken(key));
    member.name = to;
    this.presence.rename(member.id, to);
    this.#deps.log?.("member_renamed", { memberId: member.id, from, to });
    this.#publishPresence({ t: "rename", id: member.id, name: to });
    member.connection.send(JSON.stringify(this.me(member)));
    this.#announceRename(member.id, from, to, [...member.rooms.keys()]);
  }

  #announceRename(memberId: string, from: string, to: string, rooms: string[]): void {
    for (const room of rooms) {
      this.#fanout(room, outbound({ event: "renamed", room, memberId, from, to }));
    }
  }
}
