import { nameKey } from "./names.ts";

/** One connected member as every node sees it. */
export interface PresenceMember {
  readonly id: string;
  name: string;
  readonly node: string;
  readonly rooms: Set<string>;
}

/** A member's state as carried in a full sync between nodes. */
export interface MemberSnapshot {
  readonly id: string;
  readonly name: string;
  readonly rooms: string[];
}

/** A change in a room's membership, for the hub to turn into `join` and `leave` events. */
export interface RoomChange {
  readonly kind: "join" | "leave";
  readonly room: string;
  readonly member: PresenceMember;
}

/**
 * The replicated table of who is connected, on which node, in which rooms, under which name.
 * Pure data: the hub feeds it local actions and bus messages. Lookups by room and by name are
 * indexed, so no operation scans every member.
 */
export class Presence {
  readonly #members = new Map<string, PresenceMember>();
  readonly #byRoom = new Map<string, Set<PresenceMember>>();
  readonly #byName = new Map<string, Set<PresenceMember>>();
  readonly #byNode = new Map<string, Set<PresenceMember>>();

  /** The member with this id. */
  get(id: string): PresenceMember | undefined {
    return this.#members.get(id);
  }

  /** Whether any member, on any node, holds this name key. */
  isNameTaken(key: string): boolean {
    return (this.#byName.get(key)?.size ?? 0) > 0;
  }

  /** The members holding this name key (more than one only during a cross-node race). */
  holdersOf(key: string): PresenceMember[] {
    return [...(this.#byName.get(key) ?? [])];
  }

  /** The members of a room on every node, in the order they joined. */
  membersOf(room: string): PresenceMember[] {
    return [...(this.#byRoom.get(room) ?? [])];
  }

  /** How many members a room has on every node. */
  countOf(room: string): number {
    return this.#byRoom.get(room)?.size ?? 0;
  }

  /** How many members are connected, on every node. */
  get memberCount(): number {
    return this.#members.size;
  }

  /** How many rooms have at least one member, on any node. */
  get roomCount(): number {
    return this.#byRoom.size;
  }

  /** The members a node holds. */
  membersOn(node: string): PresenceMember[] {
    return [...(this.#byNode.get(node) ?? [])];
  }

  /** Adds a member (no rooms yet); returns it, or the existing entry for that id. */
  add(id: string, name: string, node: string): PresenceMember {
    const existing = this.#members.get(id);
    if (existing) return existing;
    const member: PresenceMember = { id, name, node, rooms: new Set() };
    this.#members.set(id, member);
    index(this.#byName, nameKey(name), member);
    index(this.#byNode, node, member);
    return member;
  }

  /** Removes a member and returns the rooms it left. */
  remove(id: string): RoomChange[] {
    const member = this.#members.get(id);
    if (!member) return [];
    const changes = [...member.rooms].map((room) => this.leave(id, room)).flat();
    this.#members.delete(id);
    unindex(this.#byName, nameKey(member.name), member);
    unindex(this.#byNode, member.node, member);
    return changes;
  }

  /** Puts a member in a room; returns the change, or nothing if it was there already. */
  join(id: string, room: string): RoomChange[] {
    const member = this.#members.get(id);
    if (!member || member.rooms.has(room)) return [];
    member.rooms.add(room);
    index(this.#byRoom, room, member);
    return [{ kind: "join", room, member }];
  }

  /** Takes a member out of a room; returns the change, or nothing if it was not there. */
  leave(id: string, room: string): RoomChange[] {
    const member = this.#members.get(id);
    if (!member || !member.rooms.delete(room)) return [];
    unindex(this.#byRoom, room, member);
    return [{ kind: "leave", room, member }];
  }

  /** Gives a member a new name. */
  rename(id: string, name: string): void {
    const member = this.#members.get(id);
    if (!member) return;
    unindex(this.#byName, nameKey(member.name), member);
    member.name = name;
    index(this.#byName, nameKey(name), member);
  }

  /** Removes every member of a node (it died or left); returns the rooms they left. */
  removeNode(node: string): RoomChange[] {
    return this.membersOn(node).flatMap((member) => this.remove(member.id));
  }

  /**
   * Replaces what is known of a node with a full snapshot from it; returns the room changes, so
   * that a node that missed messages heals without inventing events.
   */
  replaceNode(node: string, snapshot: MemberSnapshot[]): RoomChange[] {
    const changes: RoomChange[] = [];
    const seen = new Set(snapshot.map((m) => m.id));
    for (const member of this.membersOn(node)) {
      if (!seen.has(member.id)) changes.push(...this.remove(member.id));
    }
    for (const m of snapshot) {
      const member = this.add(m.id, m.name, node);
      if (member.name !== m.name) this.rename(m.id, m.name);
      const wanted = new Set(m.rooms);
      for (const room of [...member.rooms]) {
        if (!wanted.has(room)) changes.push(...this.leave(m.id, room));
      }
      for (const room of m.rooms) changes.push(...this.join(m.id, room));
    }
    return changes;
  }

  /** A snapshot of a node's members, to send to others. */
  snapshotOf(node: string): MemberSnapshot[] {
    return this.membersOn(node).map((m) => ({ id: m.id, name: m.name, rooms: [...m.rooms] }));
  }
}

function index<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) map.set(key, set = new Set());
  set.add(value);
}

function unindex<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
