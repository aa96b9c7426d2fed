/**
 * The chat on one node: its parts (see `hub_parts.ts` for how they are made and wired), its
 * lifecycle, and the commands a transport calls, each handed to the part whose job it is. It
 * knows nothing of HTTP, WebSocket framing or serialisation.
 *
 * @module
 */
import { Arrivals } from "./arrivals.ts";
import { composeParts, type HubParts } from "./hub_parts.ts";
import type { HubDeps, HubStats } from "./hub_types.ts";
import type { MemberAdmission } from "./member_admission.ts";
import type { MemberMessages } from "./member_messages.ts";
import { NOTICES_TOPIC } from "./member_messages.ts";
import type { Moderation } from "./moderation.ts";
import { parseMemberMessage } from "./node_messages.ts";
import { Presence } from "./presence.ts";
import type { ReadPositions } from "./read_positions.ts";
import type { RoomMembership } from "./room_membership.ts";
import type { RoomQueries } from "./room_queries.ts";
import type { RoomWrites } from "./room_writes.ts";
import type { RoomSummary } from "./types.ts";

export type { RoomSummary };
export type { SendOptions } from "./room_writes.ts";
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

/** A part's method, bound to the part. */
function bound<T extends object, K extends keyof T>(part: T, name: K): T[K] {
  return (part[name] as (...args: unknown[]) => unknown).bind(part) as T[K];
}

/**
 * The chat: {@link MemberAdmission} (members in and out), {@link RoomQueries} (rooms found, made,
 * listed and read), {@link RoomMembership} (joins with their replay, leaves, member lists),
 * {@link RoomWrites} (messages and changes, the commit and acknowledgements),
 * {@link MemberMessages} (direct messages, typing, notices), {@link ReadPositions} (read state)
 * and {@link Moderation} (private rooms, roles, moderation) — over this node's presence, rooms'
 * feeds and fan-out.
 */
export class Hub {
  /** Who is connected where, on every node, as this node knows it. */
  readonly presence = new Presence();
  /** Connections admitted but not yet in their first room (see {@link Arrivals}). */
  readonly arrivals = new Arrivals();
  readonly #deps: HubDeps;
  readonly #parts: HubParts;
  /** Messages stored by this node (for the counters). */
  #stored = 0;
  #unsubscribeNotices?: () => void;

  /** Admits a member under a unique name: see {@link MemberAdmission.connect}. */
  readonly connect: MemberAdmission["connect"];
  /** Who a member is (`me`). */
  readonly me: MemberAdmission["me"];
  /** Takes a member out of every room and of presence. */
  readonly disconnect: MemberAdmission["disconnect"];
  /** Creates a room: see {@link RoomQueries.createRoom}. */
  readonly createRoom: RoomQueries["createRoom"];
  /** Finds (or with `create`, makes) a room by id or name. */
  readonly resolveRoom: RoomQueries["resolveRoom"];
  /** A room as a visitor without a socket may see it: see {@link RoomQueries.visit}. */
  readonly visit: RoomQueries["visit"];
  /** A page of rooms with their member counts: see {@link RoomQueries.listRooms}. */
  readonly listRooms: RoomQueries["listRooms"];
  /** The room list, now and whenever it changes (`rooms`). */
  readonly watchRooms: RoomQueries["watchRooms"];
  /** A room with its members' names. */
  readonly roomDetails: RoomQueries["roomDetails"];
  /** A page of a room's history, a thread or a search: see {@link RoomQueries.readMessages}. */
  readonly readMessages: RoomQueries["readMessages"];
  /** The members of a room (`list`). */
  readonly list: RoomQueries["list"];
  /** A page of a room's history (`history`). */
  readonly history: RoomQueries["history"];
  /** Puts a member in a room: see {@link RoomMembership.join}. */
  readonly join: RoomMembership["join"];
  /** Takes a member out of a room, telling the others. */
  readonly leave: RoomMembership["leave"];
  /** Follows a room without being a member of it (Server-Sent Events). */
  readonly observe: RoomMembership["observe"];
  /** Stores and delivers a member's message: see {@link RoomWrites.sendMessage}. */
  readonly sendMessage: RoomWrites["sendMessage"];
  /** Stores a binary message in the member's single room (seed 001). */
  readonly sendBinary: RoomWrites["sendBinary"];
  /** Stores a message in the server's name. */
  readonly sendAsServer: RoomWrites["sendAsServer"];
  /** Stores a message sent without a socket (HTTP, gRPC). */
  readonly sendAsVisitor: RoomWrites["sendAsVisitor"];
  /** Edits, deletes or reacts to a message (a stored event). */
  readonly change: RoomWrites["change"];
  /** Tells a room that the member is typing (not stored). */
  readonly typing: MemberMessages["typingIn"];
  /** Sends a direct message: see {@link MemberMessages.direct}. */
  readonly direct: MemberMessages["direct"];
  /** A page of the direct messages between two members. */
  readonly directHistory: MemberMessages["directHistory"];
  /** Pushes a `notice` (not stored) to everyone, a room or a member. */
  readonly notify: MemberMessages["notifyTarget"];
  /** Moves a member's read position (`read`): see {@link ReadPositions.read}. */
  readonly read: ReadPositions["read"];
  /** A moderation command: see {@link Moderation.moderate}. */
  readonly moderate: Moderation["moderate"];
  /** The embedder's moderation, acting as the server. */
  readonly moderateAsServer: Moderation["moderateAsServer"];

  /** A hub over the given store, bus, clock and ids; call {@link start} before use. */
  constructor(deps: HubDeps) {
    this.#deps = deps;
    const parts = composeParts(deps, this.presence, this.arrivals, () => this.#stored++);
    this.#parts = parts;
    const { admission, queries, membership, writes, members, reads, moderation } = parts;
    this.connect = bound(admission, "connect");
    this.me = bound(admission, "me");
    this.disconnect = bound(admission, "disconnect");
    this.createRoom = bound(queries, "createRoom");
    this.resolveRoom = bound(queries, "resolveRoom");
    this.visit = bound(queries, "visit");
    this.listRooms = bound(queries, "listRooms");
    this.watchRooms = bound(queries, "watchRooms");
    this.roomDetails = bound(queries, "roomDetails");
    this.readMessages = bound(queries, "readMessages");
    this.list = bound(queries, "list");
    this.history = bound(queries, "history");
    this.join = bound(membership, "join");
    this.leave = bound(membership, "leave");
    this.observe = bound(membership, "observe");
    this.sendMessage = bound(writes, "sendMessage");
    this.sendBinary = bound(writes, "sendBinary");
    this.sendAsServer = bound(writes, "sendAsServer");
    this.sendAsVisitor = bound(writes, "sendAsVisitor");
    this.change = bound(writes, "change");
    this.typing = bound(members, "typingIn");
    this.direct = bound(members, "direct");
    this.directHistory = bound(members, "directHistory");
    this.notify = bound(members, "notifyTarget");
    this.read = bound(reads, "read");
    this.moderate = bound(moderation, "moderate");
    this.moderateAsServer = bound(moderation, "moderateAsServer");
  }

  /** This node's id. */
  get nodeId(): string {
    return this.#deps.nodeId;
  }

  /** Joins presence replication and, unless `timers` is false, starts the heartbeat. */
  start(options: { timers?: boolean } = {}): void {
    const { sync, rooms, roomList, members, sweeper } = this.#parts;
    sync.start(options.timers !== false);
    this.#unsubscribeNotices = this.#deps.bus.subscribe(NOTICES_TOPIC, (raw) => {
      const message = parseMemberMessage(raw);
      if (!message) return;
      if (message.t === "gone") {
        rooms.forget({ id: message.room, name: message.name });
        roomList.changed();
      } else members.fromNode(message);
    });
    if (options.timers !== false) sweeper?.start();
  }

  /** Sends a heartbeat and drops nodes that have been silent too long (the timer calls this). */
  tick(): void {
    this.#parts.sync.tick();
  }

  /** Says goodbye to other nodes and stops every subscription and timer. */
  close(): void {
    const { roomList, sweeper, diffs, sync, feeds } = this.#parts;
    roomList.close();
    sweeper?.close();
    diffs.close();
    sync.close();
    this.#unsubscribeNotices?.();
    feeds.closeAll();
  }

  /** Counters for tests and operators. */
  stats(): HubStats {
    const { feeds: parts, sync: presenceSync, locals } = this.#parts;
    const feeds = parts.stats();
    const sync = presenceSync.stats();
    return {
      nodeId: this.nodeId,
      localMembers: locals.members.size,
      subscribedRooms: feeds.subscribedRooms,
      roomMessagesReceived: feeds.roomMessagesReceived,
      nodeMessagesDropped: feeds.roomMessagesDropped + sync.presenceDropped,
      knownNodes: sync.knownNodes,
      gapRepairs: feeds.gapRepairs,
      presenceResyncs: sync.presenceResyncs,
      messagesRepaired: feeds.messagesRepaired,
      messagesStored: this.#stored,
      deliveries: locals.deliveries,
      members: this.presence.memberCount,
      activeRooms: this.presence.roomCount,
    };
  }
}
