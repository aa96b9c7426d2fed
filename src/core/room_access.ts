/**
 * Rooms you can run: who may see, join and write in a room, and the moderation actions that
 * change it. A room's creator (an identity: a token's subject or a session, as a member id) owns
 * it; the owner makes moderators; owners and moderators invite (what a private room's list is
 * made of), kick, ban, unban and mute. A token with `admin: true` is a moderator everywhere.
 *
 * The state is a {@link RoomAccess} record per room, changed only by {@link applyAccess}, which
 * every store runs in the same atomic step that appends the action's event to the room's log: so
 * history shows who did what, every node hears it in `seq` order, and two moderators acting at
 * once cannot lose a change.
 *
 * @module
 */
import { ChatError } from "./errors.ts";
import { type LogPosition, logTime, nextLogId } from "./log_order.ts";
import type { ModerationEvent, Room } from "./types.ts";

export type { ModerationEvent };

/** A member's standing in a room. */
export type Role = "owner" | "moderator" | "member";

const RANK: Record<Role, number> = { member: 0, moderator: 1, owner: 2 };

/** A room's moderation state; absent fields are empty. */
export interface RoomAccess {
  /** Roles given by the owner (moderators), by member id. */
  readonly roles?: Readonly<Record<string, "moderator">>;
  /** Member ids invited (a private room's list, with the owner and moderators). */
  readonly invited?: readonly string[];
  /** Bans by member id: until when (ms since the epoch), 0 for until `unban`. */
  readonly bans?: Readonly<Record<string, number>>;
  /** Mutes by member id: until when. */
  readonly mutes?: Readonly<Record<string, number>>;
}

/** The moderation commands. */
export type AccessAction = "invite" | "role" | "kick" | "ban" | "unban" | "mute";

/** A moderation action as asked for; the store gives its event a place in the log. */
export interface AccessChange {
  readonly action: AccessAction;
  /** The room (its owner and name are part of the rule). */
  readonly room: Room;
  /** Who acts (member id), under which name, and whether a token makes it an admin. */
  readonly actor: { readonly memberId: string; readonly name: string; readonly admin?: boolean };
  /** Whom it is about (member id), and the name to show. */
  readonly target: { readonly memberId: string; readonly name: string };
  /** For `role`: the new role. */
  readonly role?: "moderator" | "member";
  /** For `ban` (absent: until `unban`) and `mute`: until when, ms since the epoch. */
  readonly until?: number;
  /** A candidate id for the event's own log entry (see `nextLogId`). */
  readonly id: string;
}

/** The names of the moderation events (stored events of a room that are not messages). */
export const MODERATION_EVENTS: ReadonlySet<string> = new Set([
  "invited",
  "role",
  "kicked",
  "banned",
  "unbanned",
  "muted",
]);

/** The server itself (an embedder's `chat.moderate`): it ranks as every room's owner. */
export const SERVER_ACTOR = { memberId: "server", name: "Server" } as const;

/** A member's role in a room: the owner, a moderator the owner made, or a member. */
export function roleOf(
  room: Room,
  access: RoomAccess,
  who: { readonly memberId: string; readonly admin?: boolean },
): Role {
  if (who.memberId === SERVER_ACTOR.memberId) return "owner";
  if (room.owner !== undefined && room.owner === who.memberId) return "owner";
  if (access.roles?.[who.memberId] === "moderator" || who.admin) return "moderator";
  return "member";
}

/** Whether a ban or mute given until `until` (0: for good) still holds at `now`. */
function holds(until: number | undefined, now: number): boolean {
  return until !== undefined && (until === 0 || until > now);
}

/** Whether the member is banned from the room at `now`. */
export function isBanned(access: RoomAccess, memberId: string, now: number): boolean {
  return holds(access.bans?.[memberId], now);
}

/** Until when the member is muted in the room, if it is at `now`. */
export function mutedUntil(access: RoomAccess, memberId: string, now: number): number | undefined {
  const until = access.mutes?.[memberId];
  return until !== undefined && until > now ? until : undefined;
}

/**
 * Whether the member may see the room (its history, events, and find it in lists): anyone, for a
 * public room; the owner, moderators, admins and the invited, for a private one.
 */
export function maySee(
  room: Room,
  access: RoomAccess,
  who: { readonly memberId: string; readonly admin?: boolean } | undefined,
): boolean {
  if (!room.private) return true;
  if (!who) return false;
  return roleOf(room, access, who) !== "member" || (access.invited ?? []).includes(who.memberId);
}

/**
 * Why a member may not join or write in a room, as the error to send: `room_forbidden` for a
 * private room it is not on the list of, `banned` while a ban holds. Undefined when it may.
 */
export function entryRefusal(
  room: Room,
  access: RoomAccess,
  who: { readonly memberId: string; readonly admin?: boolean },
  now: number,
): ChatError | undefined {
  if (!maySee(room, access, who)) {
    return new ChatError("room_forbidden", "this room is private");
  }
  if (isBanned(access, who.memberId, now) && roleOf(room, access, who) === "member") {
    const until = access.bans![who.memberId];
    return new ChatError("banned", "you are banned from this room", until ? { until } : {});
  }
  return undefined;
}

/**
 * Applies a moderation action to a room's access at the room's head `at`: checks the actor may
 * (`forbidden` otherwise: owners and moderators act, only the owner gives roles, nobody acts on
 * someone of their own rank or above), and returns the new access and the event to append.
 */
export function applyAccess(
  access: RoomAccess,
  change: AccessChange,
  at: LogPosition,
): { access: RoomAccess; event: ModerationEvent } {
  const { room, actor, target } = change;
  const actorRole = roleOf(room, access, actor);
  const targetRole = roleOf(room, access, target);
  if (change.action === "role") {
    if (actorRole !== "owner") {
      throw new ChatError("forbidden", "only the room's owner gives roles");
    }
    if (targetRole === "owner") throw new ChatError("forbidden", "the owner's role stays");
  } else if (RANK[actorRole] < RANK.moderator) {
    throw new ChatError("forbidden", `only the room's owner and moderators may ${change.action}`);
  } else if (change.action !== "invite" && RANK[targetRole] >= RANK[actorRole]) {
    throw new ChatError("forbidden", `you cannot ${change.action} a ${targetRole} of this room`);
  }
  const logId = nextLogId(at.id, change.id);
  const base = {
    room: room.id,
    seq: at.seq + 1,
    logId,
    id: logId,
    ts: logTime(logId),
    by: actor.memberId,
    byName: actor.name,
    member: target.name,
    memberId: target.memberId,
  };
  const event = eventOf(change, base);
  // The state moves by the event, exactly as every node that hears it moves its copy.
  return { access: followAccess(access, event), event };
}

/** The event a moderation action stores, on the log position and names `base` gives. */
function eventOf(
  change: AccessChange,
  base: Omit<ModerationEvent, "event" | "name" | "to" | "role" | "until">,
): ModerationEvent {
  switch (change.action) {
    case "invite":
      return { event: "invited", ...base, name: change.room.name, to: change.target.memberId };
    case "role":
      return { event: "role", ...base, role: change.role ?? "member" };
    case "kick":
      return { event: "kicked", ...base };
    case "ban":
      return change.until === undefined
        ? { event: "banned", ...base }
        : { event: "banned", ...base, until: change.until };
    case "unban":
      return { event: "unbanned", ...base };
    case "mute":
      return { event: "muted", ...base, until: change.until ?? 0 };
  }
}

/**
 * A room's access after one of its moderation events: how the store moves it (in the commit
 * that stores the event) and how a node moves its copy when it hears the event.
 */
export function followAccess(access: RoomAccess, event: ModerationEvent): RoomAccess {
  const who = event.memberId;
  switch (event.event) {
    case "invited":
      return (access.invited ?? []).includes(who)
        ? access
        : { ...access, invited: [...(access.invited ?? []), who] };
    case "role": {
      const { [who]: _, ...others } = access.roles ?? {};
      return {
        ...access,
        roles: event.role === "moderator" ? { ...others, [who]: "moderator" } : others,
      };
    }
    case "banned":
      return { ...access, bans: { ...access.bans, [who]: event.until ?? 0 } };
    case "unbanned": {
      const { [who]: _, ...bans } = access.bans ?? {};
      return { ...access, bans };
    }
    case "muted":
      return { ...access, mutes: { ...access.mutes, [who]: event.until } };
    case "kicked":
      return access;
  }
}
