import { nameKey } from "./names.ts";

/**
 * One connection of a member as every node sees it. `id` is the connection's own key; `memberId`
 * is the member's public id, shared by the connections of one person (one token `sub`) on any node.
 */
export interface PresenceMember {
  readonly id: string;
  readonly memberId: string;
  name: string;
  readonly node: string;
  readonly rooms: Set<string>;
  /** The connection's client cannot show direct messages (seed 000's basic wire, the text wires). */
  readonly noDirect?: boolean;
}

/** A member's state as carried in a full sync between nodes. */
export interface MemberSnapshot {
  readonly id: string;
  /** The public member id, when it is not `id`. */
  readonly m?: string;
  readonly name: string;
  readonly rooms: string[];
  /** Set (1) when the connection cannot show direct messages. */
  readonly nd?: 1;
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
 * indexed, so no operation scans every member. A member with several connections (devices) is one
 * member of a room: it joins with its first connection there and leaves with its last.
 */
export class Presence {
  readonly #members = new Map<string, PresenceMember>();
  /** Per room, the connections in it grouped by public member id (in the order members came). */
  readonly #byRoom = new Map<string, Map<string, Set<PresenceMember>>>();
  readonly #byMemberId = new Map<string, Set<PresenceMember>>();
  readonly #byName = new Map<string, Set<PresenceMember>>();
  readonly #byNode = new Map<string, Set<PresenceMember>>();

  /** The member with this id. */
  get(id: string): PresenceMember | undefined {
    return this.#members.get(id);
  }

  /** The connections of a member (by public id), on every node. */
  connectionsOf(memberId: string): PresenceMember[] {
    return [...(this.#byMemberId.get(memberId) ?? [])];
  }

  /** Whether any member, on any node, holds this name key. */
  isNameTaken(key: string): boolean {
    return (this.#byName.get(key)?.size ?? 0) > 0;
  }

  /** The members holding this name key (more than one only during a cross-node race). */
  holdersOf(key: string): PresenceMember[] {
    return [...(this.#byName.get(key) ?? [])];
  }

  /** The members of a room on every node (one connection each), in the order they joined. */
  membersOf(room: string): PresenceMember[] {
    const groups = this.#byRoom.get(room);
    if (!groups) return [];
    return [...groups.values()].map((connections) => connections.values().next().value!);
  }

  /**
   * A page of a room's members (one connection each), in the order they joined: `limit` of them
   * from position `offset`, without listing the rest.
   */
  memberPage(room: string, offset: number, limit: number): PresenceMember[] {
    const groups = this.#byRoom.get(room);
    const page: PresenceMember[] = [];
    if (!groups) return page;
    let i = 0;
    for (const connections of groups.values()) {
      if (i++ < offset) continue;
      if (page.length >= limit) break;
      page.push(connections.values().next().value!);
    }
    return page;
  }

  /** How many members a room has on every node. */
  countOf(room: string): number {
    return this.#byRoom.get(room)?.size ?? 0;
  }

  /** How many connections there are, on every node. */
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

  /**
   * Adds a connection (no rooms yet) of the member `memberId` (itself by default); returns it, or
   * the existing entry for that id.
   */
  add(id: string, name: string, node: string, memberId = id, noDirect = false): PresenceMember {
    const existing = this.#members.get(id);
    if (existing) return existing;
    const member: PresenceMember = {
      id,
      memberId,
      name,
      node,
      rooms: new Set(),
      ...(noDirect ? { noDirect } : {}),
    };
    this.#members.set(id, member);
    index(this.#byName, nameKey(name), member);
    index(this.#byNode, node, member);
    index(this.#byMemberId, memberId, member);
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
    unindex(this.#byMemberId, member.memberId, member);
    return changes;
  }

  /**
   * Puts a connection in a room; returns the change, or nothing if it was there already or
   * another connection of the same member is.
   */
  join(id: string, room: string): RoomChange[] {
    const member = this.#members.get(id);
    if (!member || member.rooms.has(room)) return [];
    member.rooms.add(room);
    let groups = this.#byRoom.get(room);
    if (!groups) this.#byRoom.set(room, groups = new Map());
    const first = !groups.has(member.memberId);
    index(groups, member.memberId, member);
    return first ? [{ kind: "join", room, member }] : [];
  }

  /**
   * Takes a connection out of a room; returns the change, or nothing if it was not there or
   * another connection of the same member still is.
   */
  leave(id: string, room: string): RoomChange[] {
    const member = this.#members.get(id);
    if (!member || !member.rooms.delete(room)) return [];
    const groups = this.#byRoom.get(room)!;
    unindex(groups, member.memberId, member);
    const last = !groups.has(member.memberId);
    if (groups.size === 0) this.#byRoom.delete(room);
    return last ? [{ kind: "leave", room, member }] : [];
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
      const member = this.add(m.id, m.name, node, m.m, m.nd === 1);
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
    return this.membersOn(node).map((m) => ({
      id: m.id,
      ...(m.memberId === m.id ? {} : { m: m.memberId }),
      name: m.name,
      rooms: [...m.rooms],
      ...(m.noDirect ? { nd: 1 as const } : {}),
    }));
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
