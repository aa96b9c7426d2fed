import type { Bus } from "./bus.ts";
import {
  parsePresenceMessage,
  type PresenceBody,
  type PresenceNodeMessage,
} from "./node_messages.ts";
import type { MemberSnapshot, Presence, RoomChange } from "./presence.ts";
import type { Clock, Logger } from "./types.ts";

/** What presence replication is built from. */
export interface PresenceSyncDeps {
  readonly bus: Bus;
  /** This node's id (the same the bus uses). */
  readonly nodeId: string;
  readonly clock: Clock;
  /** The table this keeps in step with every other node's. */
  readonly presence: Presence;
  /** How often this node says it is alive, and after how much silence a node is dropped. */
  readonly heartbeatMs: number;
  readonly presenceTimeoutMs: number;
  /**
   * Joins and leaves that happened elsewhere, to tell this node's members; `after`, for a leave:
   * the room position it follows (tell it once that much of the room is delivered here).
   */
  readonly onRemoteChanges: (changes: RoomChange[], after?: number) => void;
  /** A name now held by members of this and another node (see `name_keeping.ts`). */
  readonly onNameSeen: (name: string) => void;
  /** A member of another node was renamed. */
  readonly onRemoteRename: (memberId: string, from: string, to: string, rooms: string[]) => void;
  readonly log?: Logger;
}

/** A change this node announces about one of its members. */
export type LocalAnnouncement = Extract<
  PresenceBody,
  { t: "up" | "join" | "leave" | "down" | "rename" }
>;

const PRESENCE_TOPIC = "presence";
/** Members per `sync` message: about 100 bytes each, well inside a 64 KiB KV value. */
const SYNC_CHUNK = 200;

/**
 * Presence replication over the bus, after Phoenix Presence: each node announces its members'
 * changes, answers `hello`/`want` with a full `sync`, and beats with its member count; a node
 * whose count disagrees is asked for a `sync`, and one silent past the timeout loses its members.
 */
export class PresenceSync {
  readonly #deps: PresenceSyncDeps;
  readonly #nodes = new Map<string, number>();
  /** Syncs arriving in parts, by node, until the last part. */
  readonly #partial = new Map<string, { members: MemberSnapshot[]; next: number }>();
  #unsubscribe?: () => void;
  #timer?: ReturnType<typeof setInterval>;
  #resyncs = 0;
  #dropped = 0;

  /** Replication for one node. */
  constructor(deps: PresenceSyncDeps) {
    this.#deps = deps;
  }

  /** Listens, says hello (everyone answers with a sync) and, with `timers`, starts beating. */
  start(timers: boolean): void {
    this.#unsubscribe = this.#deps.bus.subscribe(
      PRESENCE_TOPIC,
      (raw) => {
        const message = parsePresenceMessage(raw);
        if (message) this.#receive(message);
        else this.#dropped++;
      },
      () => this.#resync(),
    );
    this.#publish({ t: "hello" });
    if (timers) this.#timer = setInterval(() => this.tick(), this.#deps.heartbeatMs);
  }

  /** Beats, and drops nodes silent for too long (the timer calls this). */
  tick(): void {
    this.#publish({ t: "beat", n: this.#deps.presence.membersOn(this.#deps.nodeId).length });
    const now = this.#deps.clock();
    const deadline = now - this.#deps.presenceTimeoutMs;
    for (const [node, lastSeen] of this.#nodes) {
      if (lastSeen >= deadline) continue;
      this.#nodes.delete(node);
      this.#deps.log?.("node_lost", { node, silentMs: now - lastSeen });
      this.#deps.onRemoteChanges(this.#deps.presence.removeNode(node));
    }
  }

  /** Tells the others about a change to one of this node's members. */
  announce(change: LocalAnnouncement): void {
    this.#publish(change);
  }

  /** Says goodbye (the others drop this node's members at once) and stops. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#publish({ t: "bye" });
    this.#unsubscribe?.();
  }

  /** Counters. */
  stats(): { knownNodes: string[]; presenceResyncs: number; presenceDropped: number } {
    return {
      knownNodes: [...this.#nodes.keys()],
      presenceResyncs: this.#resyncs,
      presenceDropped: this.#dropped,
    };
  }

  #publish(message: PresenceBody): void {
    this.#deps.bus.publish(PRESENCE_TOPIC, { ...message, node: this.#deps.nodeId });
  }

  #receive(message: PresenceNodeMessage): void {
    const { node } = message;
    if (node === this.#deps.nodeId) return;
    const { presence, onRemoteChanges } = this.#deps;
    const known = this.#nodes.has(node);
    this.#nodes.set(node, this.#deps.clock());
    switch (message.t) {
      case "hello":
        return this.#publishSync();
      case "want":
        if (message.to === this.#deps.nodeId || message.to === "*") this.#publishSync();
        return;
      case "sync":
        return this.#sync(node, message.members, message.part, message.parts);
      case "up":
        presence.add(message.id, message.name, node, message.m, message.nd === 1);
        return this.#deps.onNameSeen(message.name);
      case "join":
        return onRemoteChanges(presence.join(message.id, message.room));
      case "leave":
        return onRemoteChanges(presence.leave(message.id, message.room), message.seq);
      case "down":
        return onRemoteChanges(presence.remove(message.id));
      case "rename":
        return this.#rename(message.id, message.name);
      case "beat":
        if (!known || presence.membersOn(node).length !== message.n) {
          this.#publish({ t: "want", to: node });
        }
        return;
      case "bye":
        this.#nodes.delete(node);
        return onRemoteChanges(presence.removeNode(node));
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled presence message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** Applies a node's full state once all its parts are in; a lost part waits for the next. */
  #sync(node: string, members: MemberSnapshot[], part: number, parts: number): void {
    let whole = members;
    if (parts > 1) {
      const partial = part === 0 ? { members: [], next: 0 } : this.#partial.get(node);
      if (!partial || partial.next !== part) {
        this.#partial.delete(node); // a part went missing: the next beat asks again
        return;
      }
      partial.members.push(...members);
      partial.next++;
      if (partial.next < parts) {
        this.#partial.set(node, partial);
        return;
      }
      this.#partial.delete(node);
      whole = partial.members;
    }
    this.#deps.onRemoteChanges(this.#deps.presence.replaceNode(node, whole));
    for (const member of whole) this.#deps.onNameSeen(member.name);
  }

  #rename(id: string, name: string): void {
    const before = this.#deps.presence.get(id);
    if (!before || before.name === name) return;
    const from = before.name;
    this.#deps.presence.rename(id, name);
    this.#deps.onRemoteRename(id, from, name, [...before.rooms]);
    this.#deps.onNameSeen(name);
  }

  /** Presence updates were lost on the bus: ask every node for its full state again. */
  #resync(): void {
    this.#resyncs++;
    this.#deps.log?.("presence_resync", {});
    this.#publish({ t: "want", to: "*" });
  }

  #publishSync(): void {
    const members = this.#deps.presence.snapshotOf(this.#deps.nodeId);
    const parts = Math.max(1, Math.ceil(members.length / SYNC_CHUNK));
    for (let part = 0; part < parts; part++) {
      const chunk = members.slice(part * SYNC_CHUNK, (part + 1) * SYNC_CHUNK);
      this.#publish({ t: "sync", members: chunk, part, parts });
    }
  }
}
