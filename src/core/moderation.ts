/**
 * Rooms you can run, on a node: who may enter, see and write in a room (read from the store at
 * each join and visit, kept for rooms with members here and moved by the moderation events their
 * feeds deliver), the moderation commands, and what a node does when it hears one: the kicked and
 * banned leave the room on every connection here, the invited hear of it wherever they are.
 *
 * @module
 */
import { ChatError } from "./errors.ts";
import type { LocalConnection } from "./local_connection.ts";
import type { LocalRooms } from "./local_rooms.ts";
import { isUlid } from "./message.ts";
import {
  type AccessAction,
  type AccessChange,
  entryRefusal,
  followAccess,
  maySee,
  MODERATION_EVENTS,
  type ModerationEvent,
  mutedUntil,
  type Role,
  roleOf,
  type RoomAccess,
  SERVER_ACTOR,
} from "./room_access.ts";
import type { FeedEntry } from "./room_feed.ts";
import type { Store } from "./store.ts";
import type { Clock, IdSource, Outbound, Room } from "./types.ts";

/** Someone acting or reading: a member id, and whether a token makes it an admin. */
export interface Viewer {
  readonly memberId: string;
  readonly admin?: boolean;
}

/** Who acts: a viewer with a name (a member, or the embedder acting as the server). */
export interface Actor extends Viewer {
  readonly name: string;
}

/** A moderation command as asked for. */
export interface ModerationRequest {
  readonly action: AccessAction;
  /** The member acted on: a name (while connected) or a member id. */
  readonly to: string;
  /** For `ban` (absent: until `unban`) and `mute` (required): how long. */
  readonly seconds?: number;
  /** For `role`. */
  readonly role?: string;
}

/** The longest ban or mute with a duration: ten years. */
const MAX_SECONDS = 10 * 365 * 24 * 3600;

/** What moderation needs from the node. */
export interface ModerationDeps {
  readonly store: Store;
  readonly locals: LocalRooms;
  readonly clock: Clock;
  readonly ids: IdSource;
  /** A connected member by id or name (on any node); `no_such_member` otherwise. */
  readonly findMember: (ref: string) => { readonly memberId: string; readonly name: string };
  /** Commits the action's event through the room's write path (the actor's answer in its place). */
  readonly commit: (
    actor: Actor & { readonly id?: string },
    room: string,
    write: () => Promise<ModerationEvent>,
    acknowledge?: (out: Outbound) => void,
  ) => Promise<ModerationEvent>;
  /** Takes a member's connection out of a room here (others hear `leave`). */
  readonly leaveRoom: (member: LocalConnection, room: string) => void;
  /** Hands an event to every connection of a member on every node, but those in `notIn`. */
  readonly tell: (memberId: string, out: Outbound, notIn: string) => void;
  /** A room the member may read (`room_forbidden` for a private room off its list). */
  readonly readableRoom: (member: LocalConnection, ref: string) => Promise<Room>;
  /** A room by id or name. */
  readonly resolveRoom: (ref: string) => Promise<Room>;
}

/** Moderation on this node. */
export class Moderation {
  /** Access of the rooms with members here, kept up by their feeds. */
  readonly #access = new Map<string, RoomAccess>();

  /** Moderation over these parts. */
  constructor(private readonly deps: ModerationDeps) {}

  /** The room's access as the store has it now (kept here while the room has members here). */
  async accessOf(room: Room): Promise<RoomAccess> {
    const access = await this.deps.store.roomAccess(room.id);
    if (this.#access.has(room.id) || this.deps.locals.has(room.id)) {
      this.#access.set(room.id, access);
    }
    return access;
  }

  /**
   * Lets a member into a room, or refuses: `room_forbidden` (a private room it is not on the list
   * of), `banned`. Resolves with its role there. With `entering` (a join), the room's access is
   * kept here from now on, until its last member here leaves ({@link forget}).
   */
  async admit(room: Room, member: Viewer, entering = true): Promise<Role> {
    const access = await this.deps.store.roomAccess(room.id);
    const refusal = entryRefusal(room, access, member, this.deps.clock());
    if (refusal) throw refusal;
    if (entering) this.#access.set(room.id, access);
    return roleOf(room, access, member);
  }

  /** Whether a viewer (undefined: anonymous) may see the room: reads its access when private. */
  async maySee(room: Room, viewer: Viewer | undefined): Promise<boolean> {
    if (!room.private) return true;
    return maySee(room, await this.accessOf(room), viewer);
  }

  /**
   * For a visit without joining (HTTP, gRPC): the room as `viewer` may see it, or `no_such_room`
   * (a private room does not exist for those off its list); with `writing`, a ban or a mute
   * refuses (`banned`, `muted`).
   */
  async visit(room: Room, viewer: Viewer | undefined, writing = false): Promise<Room> {
    const access = room.private || writing ? await this.accessOf(room) : {};
    if (!maySee(room, access, viewer)) {
      throw new ChatError("no_such_room", `no room '${room.id}'`);
    }
    if (writing && viewer) this.#refuseWrite(room, access, viewer);
    return room;
  }

  /** The member's role in a room it is in (from what this node keeps). */
  roleIn(room: Room, member: Viewer): Role {
    return roleOf(room, this.#access.get(room.id) ?? {}, member);
  }

  /** Refuses a message from a member that is muted or banned in the room (`muted`, `banned`). */
  checkWrite(room: Room, member: Viewer): void {
    const access = this.#access.get(room.id);
    if (access) this.#refuseWrite(room, access, member);
  }

  /** Throws why the member may not write in the room now (`room_forbidden`, `banned`, `muted`). */
  #refuseWrite(room: Room, access: RoomAccess, who: Viewer): void {
    const now = this.deps.clock();
    const refusal = entryRefusal(room, access, who, now);
    if (refusal) throw refusal;
    const until = mutedUntil(access, who.memberId, now);
    if (until !== undefined && roleOf(room, access, who) === "member") {
      throw new ChatError("muted", "you are muted in this room", { until });
    }
  }

  /** Forgets the access of a room nobody here is in any more. */
  forget(room: string): void {
    this.#access.delete(room);
  }

  /**
   * A moderation command of a member in a room (`invite`, `role`, `kick`, `ban`, `unban`,
   * `mute`): a stored event of the room; `acknowledge` gets it in its place. Refused with
   * `forbidden` when the member's role is too low (see `room_access.ts`).
   */
  async moderate(
    member: LocalConnection,
    ref: string,
    request: ModerationRequest,
    acknowledge?: (out: Outbound) => void,
  ): Promise<ModerationEvent> {
    return await this.act(member, await this.deps.readableRoom(member, ref), request, acknowledge);
  }

  /**
   * The embedder's moderation (`chat.moderate`): the same commands, acting as the server, which
   * ranks as every room's owner.
   */
  async moderateAsServer(ref: string, request: ModerationRequest): Promise<ModerationEvent> {
    return await this.act(SERVER_ACTOR, await this.deps.resolveRoom(ref), request);
  }

  /**
   * Runs a moderation command in a room: checks its fields, finds whom it is about, and has the
   * store apply it with its event (refused with `forbidden` when the actor's role is too low).
   * `acknowledge` gets the event in its place in the room's order.
   */
  async act(
    actor: Actor & { readonly id?: string },
    room: Room,
    request: ModerationRequest,
    acknowledge?: (out: Outbound) => void,
  ): Promise<ModerationEvent> {
    const target = this.#target(request.to);
    const change: AccessChange = {
      action: request.action,
      room,
      actor: { memberId: actor.memberId, name: actor.name, admin: actor.admin },
      target,
      ...(request.action === "role" ? { role: this.#role(request.role) } : {}),
      ...this.#until(request),
      id: this.deps.ids(),
    };
    const event = await this.deps.commit(
      actor,
      room.id,
      () => this.deps.store.changeAccess(change),
      acknowledge,
    );
    // The invited hear of it wherever they are (those in the room hear it there).
    if (event.event === "invited") this.deps.tell(event.memberId, { event }, room.id);
    return event;
  }

  #target(to: string): { memberId: string; name: string } {
    const ref = to.trim();
    if (ref === "") throw new ChatError("missing_field", "'to' is required", { field: "to" });
    try {
      return this.deps.findMember(ref);
    } catch (error) {
      // Someone not connected, named by member id: acted on all the same (a ban waits for them).
      if (isUlid(ref.toUpperCase())) {
        return { memberId: ref.toUpperCase(), name: ref.toUpperCase() };
      }
      throw error;
    }
  }

  #role(role: string | undefined): "moderator" | "member" {
    if (role === "moderator" || role === "member") return role;
    throw new ChatError("invalid_field", "role must be 'moderator' or 'member'", { field: "role" });
  }

  #until(request: ModerationRequest): { until?: number } {
    const { action, seconds } = request;
    if (action !== "ban" && action !== "mute") return {};
    if (seconds === undefined) {
      if (action === "mute") {
        throw new ChatError("missing_field", "'seconds' is required", { field: "seconds" });
      }
      return {};
    }
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SECONDS) {
      throw new ChatError(
        "invalid_field",
        `seconds must be a whole number from 1 to ${MAX_SECONDS}`,
        { field: "seconds" },
      );
    }
    return { until: this.deps.clock() + seconds * 1000 };
  }

  /**
   * A stored event reached this node's members of a room (after they got it): a moderation keeps
   * the room's access here up to date, and a kick or ban takes the member's connections here out
   * of the room.
   */
  heard(room: string, entry: FeedEntry): void {
    const event = moderationOf(entry.out);
    if (!event) return;
    const access = this.#access.get(room);
    if (access) this.#access.set(room, followAccess(access, event));
    if (event.event !== "kicked" && event.event !== "banned") return;
    for (const device of [...this.deps.locals.devicesOf(event.memberId)]) {
      if (device.rooms.has(room)) this.deps.leaveRoom(device, room);
    }
  }
}

/** The moderation event an outbound entry carries, if it is one (parsed only when it is). */
function moderationOf(out: Outbound): ModerationEvent | undefined {
  if (out.event !== undefined) {
    return MODERATION_EVENTS.has(out.event.event) ? out.event as ModerationEvent : undefined;
  }
  // From another node, as text: `{"event":"<name>"...`, cheap to tell apart from messages.
  const text = out.text;
  if (!text.startsWith('{"event":"') || text.startsWith('{"event":"broadcast"')) return undefined;
  const name = text.slice(10, text.indexOf('"', 10));
  return MODERATION_EVENTS.has(name) ? JSON.parse(text) as ModerationEvent : undefined;
}
