/**
 * Members coming and going on this node: admitted under a unique name (with a token's subject,
 * every device is one member), told who they are, and taken out of every room and of presence
 * when their connection ends.
 *
 * @module
 */
import { LocalConnection } from "./local_connection.ts";
import type { LocalRooms } from "./local_rooms.ts";
import { memberIdOf } from "./member_identity.ts";
import type { MemberMessages } from "./member_messages.ts";
import type { NameKeeping } from "./name_keeping.ts";
import { guestName, nameKey, roomAccessKeys, validateDisplayName } from "./names.ts";
import type { Presence } from "./presence.ts";
import type { PresenceSync } from "./presence_sync.ts";
import type { RoomListWatch } from "./room_list_watch.ts";
import type { RoomMembership } from "./room_membership.ts";
import type { Clock, Connection, IdSource, MeEvent } from "./types.ts";

/** What admission needs. */
export interface MemberAdmissionDeps {
  readonly nodeId: string;
  readonly clock: Clock;
  readonly ids: IdSource;
  /** Randomness for guest names. */
  readonly random?: () => number;
  readonly settings: {
    readonly ratePerSecond: number;
    readonly rateBurst: number;
    readonly joinRatePerSecond: number;
    readonly joinBurst: number;
  };
  readonly presence: Presence;
  readonly locals: LocalRooms;
  readonly names: NameKeeping;
  readonly sync: PresenceSync;
  readonly members: MemberMessages;
  readonly roomList: RoomListWatch;
  readonly membership: RoomMembership;
}

/** How a connection is admitted. */
export interface ConnectOptions {
  /** The client's wire cannot show direct messages. */
  readonly noDirect?: boolean;
  /** Who the client is for per-client limits (a token's subject, else its address). */
  readonly client?: string;
  /** Its token says `admin: true`. */
  readonly admin?: boolean;
}

/** Members in and out of this node. */
export class MemberAdmission {
  /** Admission over these parts. */
  constructor(private readonly deps: MemberAdmissionDeps) {}

  /**
   * Admits a member under a unique name (the wanted one, or with a suffix; a guest name when none
   * is given). Rejects an invalid name with `invalid_name`.
   */
  async connect(
    connection: Connection,
    wantedName?: string,
    allowedRooms?: readonly string[],
    subject?: string,
    options: ConnectOptions = {},
  ): Promise<LocalConnection> {
    const { deps } = this;
    const base = wantedName === undefined
      ? guestName(deps.random)
      : validateDisplayName(wantedName);
    // A token's subject is one member on all its connections: a device joins under its name.
    const memberId = subject === undefined ? undefined : memberIdOf(subject);
    const sibling = memberId === undefined ? undefined : deps.presence.connectionsOf(memberId)[0];
    const id = deps.ids();
    const name = await deps.names.free(
      sibling?.name ?? base,
      memberId ?? id,
      sibling !== undefined,
    );
    const { settings, clock } = deps;
    const member = new LocalConnection(
      id,
      name,
      base,
      connection,
      { perSecond: settings.ratePerSecond, burst: settings.rateBurst, clock },
      allowedRooms === undefined ? undefined : roomAccessKeys(allowedRooms),
      { perSecond: settings.joinRatePerSecond, burst: settings.joinBurst, clock },
    );
    if (memberId !== undefined) member.memberId = memberId;
    member.client = options.client;
    member.admin = options.admin === true;
    deps.locals.add(member);
    const noDirect = options.noDirect === true;
    deps.presence.add(id, name, deps.nodeId, member.memberId, noDirect);
    deps.sync.announce({
      t: "up",
      id,
      name,
      ...(memberId === undefined ? {} : { m: memberId }),
      ...(noDirect ? { nd: 1 as const } : {}),
    });
    // Another node's holder of this name may have been heard while the name was being chosen
    // (between choosing and adding, other work may run): apply the clash rule now, or nobody
    // would (that node checks only when it hears of ours, and ours may be the one to yield).
    deps.names.settle(nameKey(name));
    return member;
  }

  /** Who a member is. */
  me(member: LocalConnection): MeEvent {
    return {
      event: "me",
      member: member.name,
      id: member.memberId,
      rooms: [...member.rooms.keys()],
    };
  }

  /** Removes a member from every room (with `leave` to the others) and from presence. */
  disconnect(member: LocalConnection): void {
    const { deps } = this;
    if (!deps.locals.remove(member)) return;
    if (!deps.locals.hasDevices(member.memberId)) deps.members.forget(member.memberId);
    deps.names.release(member);
    deps.roomList.unwatch(member.connection);
    for (const room of [...member.rooms.keys()]) deps.membership.leaveRoom(member, room);
    deps.presence.remove(member.id);
    deps.sync.announce({ t: "down", id: member.id });
  }
}
