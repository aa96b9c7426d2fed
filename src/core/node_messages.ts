import type { BusMessage } from "./bus.ts";
import type { MemberSnapshot } from "./presence.ts";
import type { ChatMessage } from "./types.ts";

/** What nodes tell each other on a room's topic: a stored event, with its `seq`. */
export type RoomNodeMessage = {
  /** The kind: a stored event. */
  readonly t: "stored";
  /** The stored message. */
  readonly message: ChatMessage;
};

/** What a node says on the presence topic, before it signs it with its id. */
export type PresenceBody =
  /** A node started: everyone answers with a `sync`. */
  | { readonly t: "hello" }
  /** Asks one node (or `*`, all) for a full `sync`. */
  | { readonly t: "want"; readonly to: string }
  /** A node's full state: its members, their names and rooms. */
  | { readonly t: "sync"; readonly members: MemberSnapshot[] }
  /** A member connected under a name. */
  | { readonly t: "up"; readonly id: string; readonly name: string }
  /** A member entered a room. */
  | { readonly t: "join"; readonly id: string; readonly room: string }
  /** A member left a room. */
  | { readonly t: "leave"; readonly id: string; readonly room: string }
  /** A member disconnected. */
  | { readonly t: "down"; readonly id: string }
  /** A member took a new name after a clash. */
  | { readonly t: "rename"; readonly id: string; readonly name: string }
  /** A heartbeat, with the number of members the node holds. */
  | { readonly t: "beat"; readonly n: number }
  /** A node stops cleanly: its members leave at once. */
  | { readonly t: "bye" };

/** What nodes tell each other on the presence topic. Every message names its sender `node`. */
export type PresenceNodeMessage = PresenceBody & { readonly node: string };

type Fields = Record<string, unknown>;
const isString = (value: unknown): value is string => typeof value === "string";

function isMessage(value: unknown): value is ChatMessage {
  if (typeof value !== "object" || value === null) return false;
  const m = value as Fields;
  return m.event === "broadcast" && isString(m.room) && isString(m.id) && isString(m.member) &&
    isString(m.memberId) && isString(m.message) && typeof m.ts === "number" &&
    Number.isInteger(m.seq);
}

function snapshot(value: unknown): MemberSnapshot[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const members: MemberSnapshot[] = [];
  for (const item of value) {
    if (typeof item !== "object" || item === null) return undefined;
    const { id, name, rooms } = item as Fields;
    if (!isString(id) || !isString(name) || !Array.isArray(rooms) || !rooms.every(isString)) {
      return undefined;
    }
    members.push({ id, name, rooms });
  }
  return members;
}

/** Parses a message from a room topic; anything that does not fit is `undefined` (dropped). */
export function parseRoomMessage(raw: BusMessage): RoomNodeMessage | undefined {
  return raw.t === "stored" && isMessage(raw.message)
    ? { t: "stored", message: raw.message }
    : undefined;
}

/** Parses a message from the presence topic; anything that does not fit is `undefined`. */
export function parsePresenceMessage(raw: BusMessage): PresenceNodeMessage | undefined {
  const node = raw.node;
  if (!isString(node)) return undefined;
  const { id, room, name } = raw;
  switch (raw.t) {
    case "hello":
    case "bye":
      return { node, t: raw.t };
    case "want":
      return isString(raw.to) ? { node, t: "want", to: raw.to } : undefined;
    case "sync": {
      const members = snapshot(raw.members);
      return members ? { node, t: "sync", members } : undefined;
    }
    case "up":
    case "rename":
      return isString(id) && isString(name) ? { node, t: raw.t, id, name } : undefined;
    case "join":
    case "leave":
      return isString(id) && isString(room) ? { node, t: raw.t, id, room } : undefined;
    case "down":
      return isString(id) ? { node, t: "down", id } : undefined;
    case "beat":
      return Number.isInteger(raw.n) ? { node, t: "beat", n: raw.n as number } : undefined;
    default:
      return undefined;
  }
}
