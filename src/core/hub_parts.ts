/**
 * The hub's parts, made and wired to each other: each part gets what it needs as plain
 * functions over the others (so that no part imports the hub), in one place a newcomer can read
 * top to bottom. The hub only composes what this returns.
 *
 * @module
 */
import type { Arrivals } from "./arrivals.ts";
import type { HubDeps } from "./hub_types.ts";
import { LocalRooms } from "./local_rooms.ts";
import { MemberAdmission } from "./member_admission.ts";
import { MemberMessages, NOTICES_TOPIC } from "./member_messages.ts";
import { Moderation } from "./moderation.ts";
import { NameKeeping } from "./name_keeping.ts";
import { nameKey } from "./names.ts";
import type { RoomGoneNodeMessage } from "./node_messages.ts";
import type { Presence } from "./presence.ts";
import { PresenceDiffs } from "./presence_diffs.ts";
import { PresenceSync } from "./presence_sync.ts";
import { RateLimits } from "./rate_limiter.ts";
import { ReadPositions } from "./read_positions.ts";
import { RoomDirectory } from "./room_directory.ts";
import { RoomFeeds } from "./room_feeds.ts";
import { RoomListWatch } from "./room_list_watch.ts";
import { RoomMembership } from "./room_membership.ts";
import { RoomQueries } from "./room_queries.ts";
import { RoomSweeper } from "./room_sweeper.ts";
import { RoomWrites } from "./room_writes.ts";

const GAP_GRACE_MS = 100;
/** Direct messages one member may receive: this many senders' worth (`CHAT_RATE_PER_SEC` each). */
const RECIPIENT_FACTOR = 4;
/** Rooms one client may create at once, above its sustained rate. */
const ROOM_CREATION_BURST = 20;
/** Typing events relayed per room per second, whoever types. */
const TYPING_PER_ROOM_PER_SEC = 10;

/** Every part of a hub. */
export interface HubParts {
  readonly locals: LocalRooms;
  readonly rooms: RoomDirectory;
  readonly roomList: RoomListWatch;
  readonly sweeper?: RoomSweeper;
  readonly feeds: RoomFeeds;
  readonly writes: RoomWrites;
  readonly membership: RoomMembership;
  readonly members: MemberMessages;
  readonly names: NameKeeping;
  readonly reads: ReadPositions;
  readonly moderation: Moderation;
  readonly diffs: PresenceDiffs;
  readonly sync: PresenceSync;
  readonly admission: MemberAdmission;
  readonly queries: RoomQueries;
}

/**
 * Makes a hub's parts over its dependencies, this node's presence and arrivals; `stored` is told
 * of every message stored here (the hub counts them).
 */
export function composeParts(
  deps: HubDeps,
  presence: Presence,
  arrivals: Arrivals,
  stored: () => void,
): HubParts {
  const { store, bus, clock, ids, log, settings, nodeId } = deps;
  const { ratePerSecond, rateBurst } = settings;
  // Parts made later are reached through these, when called (never while wiring).
  const late = {} as {
    membership: RoomMembership;
    moderation: Moderation;
    sync: PresenceSync;
    queries: RoomQueries;
    admission: MemberAdmission;
  };
  const locals = new LocalRooms();
  const names = new NameKeeping({
    presence,
    locals,
    registry: deps.names,
    announce: (change) => late.sync.announce(change),
    me: (member) => late.admission.me(member),
    log,
  });
  const resolveRoom = (ref: string) => late.queries.resolveRoom(ref);
  const members = new MemberMessages({
    store,
    bus,
    presence,
    locals,
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
    stored,
    arrivals,
    resolveRoom,
    roomOf: (member, ref) => late.membership.roomOf(member, ref),
  });
  const readableRoom = (member: Parameters<RoomMembership["readableRoom"]>[0], ref: string) =>
    late.membership.readableRoom(member, ref);
  const reads = new ReadPositions({
    store,
    tell: (memberId, out, skip) => members.toMember(memberId, out, { skip }),
    readableRoom,
  });
  const rooms = new RoomDirectory(store, ids, clock, settings.maxRooms);
  const roomList = new RoomListWatch(() => late.queries.listRooms(), { log });
  const ttlSeconds = settings.roomIdleTtlSeconds;
  const sweeper = ttlSeconds <= 0 ? undefined : new RoomSweeper({
    store,
    members: (room) => presence.countOf(room),
    removed: (room) => {
      rooms.forget(room);
      roomList.changed();
      const gone: RoomGoneNodeMessage = { t: "gone", room: room.id, name: room.name };
      bus.publish(NOTICES_TOPIC, gone);
    },
    clock,
    ttlMs: ttlSeconds * 1000,
    log,
  });
  const feeds = new RoomFeeds({
    bus,
    store,
    log,
    graceMs: settings.gapGraceMs ?? GAP_GRACE_MS,
    deliver: (room, entry) => {
      locals.deliver(room, entry);
      late.moderation.heard(room, entry);
    },
    encode: deps.encode,
  });
  const writes = new RoomWrites({
    store,
    feeds,
    locals,
    clock,
    ids,
    maxMessageLength: settings.maxMessageLength,
    onMessage: deps.onMessage,
    observer: deps.observer,
    arrivals,
    resolveRoom: (ref, create) => late.queries.resolveRoom(ref, create),
    roomOf: (member, ref) => late.membership.roomOf(member, ref),
    visitToWrite: (ref, viewer) => late.queries.visit(ref, viewer, true),
    membersOf: (room) => presence.membersOf(room),
    checkWrite: (room, member) => late.moderation.checkWrite(room, member),
    roleIn: (room, member) => late.moderation.roleIn(room, member),
    stored,
  });
  const moderation = late.moderation = new Moderation({
    store,
    locals,
    clock,
    ids,
    findMember: (ref) => members.findMember(ref),
    commit: (actor, room, write, acknowledge) => writes.commit(actor, room, write, acknowledge),
    leaveRoom: (member, room) => late.membership.leaveRoom(member, room),
    tell: (memberId, out, notIn) => members.toMember(memberId, out, { notIn }),
    readableRoom,
    resolveRoom,
  });
  const diffs = new PresenceDiffs({
    delayMs: settings.presenceDiffMs,
    count: (room) => presence.countOf(room),
    send: (room, event) => locals.fanout(room, { event }),
  });
  const sync = late.sync = new PresenceSync({
    bus,
    nodeId,
    clock,
    log,
    presence,
    heartbeatMs: settings.heartbeatMs,
    presenceTimeoutMs: settings.presenceTimeoutMs,
    onRemoteChanges: (changes, after) => late.membership.announceRemote(changes, after),
    onNameSeen: (name) => names.settle(nameKey(name)),
    onRemoteRename: (id, from, to, rooms) =>
      names.announceRename(presence.get(id)?.memberId ?? id, from, to, rooms),
  });
  const membership = late.membership = new RoomMembership({
    store,
    rooms,
    feeds,
    locals,
    presence,
    sync,
    diffs,
    roomList,
    clock,
    ids,
    settings,
    resolveRoom,
    takeCreation: (client) => late.queries.takeCreation(client),
    moderation,
    reads,
    visit: (ref, viewer) => late.queries.visit(ref, viewer),
    log,
  });
  const creationsPerSecond = settings.roomsPerHour / 3600;
  const queries = late.queries = new RoomQueries({
    store,
    rooms,
    presence,
    roomList,
    moderation,
    membership,
    // A high rate (a load generator's, an operator's choice) gets a burst to match.
    creations: new RateLimits(
      creationsPerSecond,
      Math.max(ROOM_CREATION_BURST, creationsPerSecond),
      clock,
    ),
  });
  const admission = late.admission = new MemberAdmission({
    nodeId,
    clock,
    ids,
    random: deps.random,
    settings,
    presence,
    locals,
    names,
    sync,
    members,
    roomList,
    membership,
  });
  return {
    locals,
    rooms,
    roomList,
    sweeper,
    feeds,
    writes,
    membership,
    members,
    names,
    reads,
    moderation,
    diffs,
    sync,
    admission,
    queries,
  };
}
