/**
 * Name keeping: a member's display name is unique among connected members on every node. A new
 * member gets the wanted name or the first free one with a suffix (claimed in the registry first
 * when processes share one: the Redis engine); when two nodes hand out one name at the same
 * moment, every node applies the same rule ({@link clashLosers}) and renames its own losers.
 *
 * @module
 */
import type { LocalConnection } from "./local_connection.ts";
import type { LocalRooms } from "./local_rooms.ts";
import type { NameRegistry } from "./name_registry.ts";
import { nameCandidates, nameKey, uniqueName } from "./names.ts";
import type { Presence, PresenceMember } from "./presence.ts";
import type { LocalAnnouncement } from "./presence_sync.ts";
import type { Logger, MeEvent } from "./types.ts";

/**
 * Two nodes may hand out one name at the same moment. Every node applies the same rule to the
 * holders of a name: the member with the smallest member id keeps it (all its connections); the
 * others must take another (each node renames only its own). Returns those others.
 */
export function clashLosers(holders: readonly PresenceMember[]): PresenceMember[] {
  if (holders.length < 2) return [];
  const keeper = holders.reduce((a, b) => (a.memberId < b.memberId ? a : b));
  return holders.filter((holder) => holder.memberId !== keeper.memberId);
}

/** What name keeping reads and tells. */
export interface NameKeepingDeps {
  readonly presence: Presence;
  readonly locals: LocalRooms;
  /** Where names are claimed across processes, if anywhere. */
  readonly registry?: NameRegistry;
  /** Tells the other nodes of a rename. */
  readonly announce: (change: LocalAnnouncement) => void;
  /** Who a member is (its new `me` after a rename). */
  readonly me: (member: LocalConnection) => MeEvent;
  readonly log?: Logger;
}

/** Hands out, releases and settles display names. */
export class NameKeeping {
  /** Name keeping over this node's presence and members. */
  constructor(private readonly deps: NameKeepingDeps) {}

  /**
   * The wanted name, or the first free one with a suffix; `held` for a name the member holds
   * already (another of its devices). With a registry, a name is free only once claimed there.
   */
  async free(wanted: string, memberId: string, held: boolean): Promise<string> {
    const takenHere = (key: string) =>
      this.deps.presence.holdersOf(key).some((holder) => holder.memberId !== memberId);
    const registry = this.deps.registry;
    if (!registry) return held ? wanted : uniqueName(wanted, takenHere);
    for (const candidate of nameCandidates(wanted)) {
      const key = nameKey(candidate);
      if (!held && takenHere(key)) continue;
      if (await registry.claim(key, memberId)) return candidate;
      held = false; // another process's member holds it: look further
    }
    throw new Error("unreachable: name candidates are endless");
  }

  /** Gives a leaving member's name back (to the registry, when there is one). */
  release(member: LocalConnection): void {
    this.deps.registry?.release(nameKey(member.name), member.memberId);
  }

  /** Renames this node's members that lost a clash over the name `key`. */
  settle(key: string): void {
    const renamed = new Map<string, string>();
    for (const loser of clashLosers(this.deps.presence.holdersOf(key))) {
      const local = this.deps.locals.members.get(loser.id);
      if (local) this.#rename(local, renamed);
    }
  }

  /** Renames a connection; this node's other connections of the member take the same name. */
  #rename(member: LocalConnection, renamed: Map<string, string>): void {
    const { presence } = this.deps;
    const from = member.name;
    let to = renamed.get(member.memberId);
    if (to === undefined) {
      to = uniqueName(member.wantedName, (key) => presence.isNameTaken(key));
      renamed.set(member.memberId, to);
    }
    member.name = to;
    presence.rename(member.id, to);
    this.deps.log?.("member_renamed", { memberId: member.memberId, from, to });
    this.deps.announce({ t: "rename", id: member.id, name: to });
    member.connection.send({ event: this.deps.me(member) });
    this.announceRename(member.memberId, from, to, [...member.rooms.keys()]);
  }

  /** Tells this node's members of `rooms` that a member (here or on another node) was renamed. */
  announceRename(memberId: string, from: string, to: string, rooms: readonly string[]): void {
    for (const room of rooms) {
      this.deps.locals.fanout(room, { event: { event: "renamed", room, memberId, from, to } });
    }
  }
}
