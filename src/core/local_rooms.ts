import type { LocalConnection } from "./local_connection.ts";
import type { FeedEntry } from "./room_feed.ts";
import type { Outbound } from "./types.ts";

/**
 * This node's members and the rooms they are in: who gets an event of a room. Fan-out reaches
 * only local members; other nodes hear of events through the bus and fan out themselves.
 */
export class LocalRooms {
  /** This node's members (connections), by id. */
  readonly members = new Map<string, LocalConnection>();
  /** This node's connections by public member id (a person's devices). */
  readonly #devices = new Map<string, Set<LocalConnection>>();
  /** Events handed to members' connections so far (for the metrics). */
  deliveries = 0;
  readonly #rooms = new Map<string, Set<LocalConnection>>();

  /** Registers a connection. */
  add(member: LocalConnection): void {
    this.members.set(member.id, member);
    let set = this.#devices.get(member.memberId);
    if (!set) this.#devices.set(member.memberId, set = new Set());
    set.add(member);
  }

  /** Forgets a connection; false if it was not here. */
  remove(member: LocalConnection): boolean {
    if (!this.members.delete(member.id)) return false;
    const set = this.#devices.get(member.memberId);
    set?.delete(member);
    if (set?.size === 0) this.#devices.delete(member.memberId);
    return true;
  }

  /** Whether the member (by public id) has a connection on this node. */
  hasDevices(memberId: string): boolean {
    return this.#devices.has(memberId);
  }

  /** This node's connections of a member (by public id). */
  devicesOf(memberId: string): Iterable<LocalConnection> {
    return this.#devices.get(memberId) ?? [];
  }

  /** Whether any member of this node is in the room. */
  has(room: string): boolean {
    return this.#rooms.has(room);
  }

  /** Puts a member in a room; returns whether it is the room's first member on this node. */
  enter(member: LocalConnection, room: string): boolean {
    let locals = this.#rooms.get(room);
    const first = !locals;
    if (!locals) this.#rooms.set(room, locals = new Set());
    locals.add(member);
    return first;
  }

  /** Takes a member out of a room; returns whether the room has no member left on this node. */
  exit(member: LocalConnection, room: string): boolean {
    const locals = this.#rooms.get(room);
    if (!locals) return false;
    locals.delete(member);
    if (locals.size > 0) return false;
    this.#rooms.delete(room);
    return true;
  }

  /** Sends an event to this node's members of a room, except `skip`. */
  fanout(room: string, out: Outbound, skip?: LocalConnection): void {
    const locals = this.#rooms.get(room);
    if (!locals) return;
    for (const member of locals) if (member !== skip) member.deliver(room, out);
    this.deliveries += locals.size - (skip && locals.has(skip) ? 1 : 0);
  }

  /** Sends an event to this node's members of a room, except the connections of `memberId`. */
  fanoutExcept(room: string, out: Outbound, memberId: string): void {
    const locals = this.#rooms.get(room);
    if (!locals) return;
    for (const member of locals) {
      if (member.memberId === memberId) continue;
      member.deliver(room, out);
      this.deliveries++;
    }
  }

  /** Sends an event to every member of this node. */
  everyone(out: Outbound): void {
    for (const member of this.members.values()) member.connection.send(out);
    this.deliveries += this.members.size;
  }

  /** Delivers a stored event: the author gets its acknowledgement in its place, others the event. */
  deliver(room: string, entry: FeedEntry): void {
    const locals = this.#rooms.get(room);
    const ack = entry.ack;
    let acknowledged = false;
    if (locals) {
      for (const member of locals) {
        if (ack && member.id === ack.connectionId) {
          acknowledged = true;
          ack.send(entry.out);
        } else member.deliver(room, entry.out);
      }
    }
    // An author that left the room meanwhile still gets its answer.
    if (ack && !acknowledged) ack.send(entry.out);
    this.deliveries += (locals?.size ?? 0) + (ack && !acknowledged ? 1 : 0);
  }
}
