import type { BusMessage } from "./bus.ts";
import type { MemberSnapshot } from "./presence.ts";

/**
 * What nodes tell each other on a room's topic: a stored event, with what ordering needs, and
 * the event serialised once by the node that stored it (receivers send that text as it is).
 */
export type RoomNodeMessage = {
  /** The kind: a stored event. */
  readonly t: "stored";
  /** The room. */
  readonly room: string;
  /** The event's place in the room's log. */
  readonly seq: number;
  /** The event's id. */
  readonly id: string;
  /** The author's member id. */
  readonly memberId: string;
  /** The event, serialised. */
  readonly text: string;
};

/** Who a notice is for: every member, the members of a room, or one member (by id). */
export type NoticeTarget =
  | { readonly everyone: true }
  | { readonly room: string }
  | { readonly member: string };

/** A notice crossing nodes: each node hands it to its own members that the target names. */
export type NoticeNodeMessage = {
  /** The kind. */
  readonly t: "notice";
  /** Who it is for. */
  readonly to: NoticeTarget;
  /** The text. */
  readonly message: string;
};

/** Someone is typing in a room: each node hands the event's text to its members there. */
export type TypingNodeMessage = {
  /** The kind. */
  readonly t: "typing";
  /** The room. */
  readonly room: string;
  /** The typer (its connections are skipped). */
  readonly memberId: string;
  /** The `typing` event, serialised. */
  readonly text: string;
};

/** A stored direct message: each node hands it to its connections of the two parties. */
export type DirectNodeMessage = {
  /** The kind. */
  readonly t: "direct";
  /** The recipient's member id. */
  readonly to: string;
  /** The sender's member id (its other connections get the message too). */
  readonly from: string;
  /** The sending connection, which has its answer already. */
  readonly skip: string;
  /** The `direct` event, serialised. */
  readonly text: string;
};

/**
 * An event for every connection of one member (a `read`, an `invited`): each node hands its text
 * to its connections of that member, but those in the room `notIn` (they hear it there).
 */
export type MemberEventNodeMessage = {
  /** The kind. */
  readonly t: "member";
  /** The member's id. */
  readonly member: string;
  /** Connections in this room are skipped. */
  readonly notIn?: string;
  /** The event, serialised. */
  readonly text: string;
};

/** An idle empty room was removed: every node forgets it (its name may be taken anew). */
export type RoomGoneNodeMessage = {
  /** The kind. */
  readonly t: "gone";
  /** The room's id. */
  readonly room: string;
  /** The room's name. */
  readonly name: string;
};

/** What travels on the notices topic: messages for members rather than rooms' logs. */
export type MemberNodeMessage =
  | NoticeNodeMessage
  | TypingNodeMessage
  | DirectNodeMessage
  | MemberEventNodeMessage
  | RoomGoneNodeMessage;

/** What a node says on the presence topic, before it signs it with its id. */
export type PresenceBody =
  /** A node started: everyone answers with a `sync`. */
  | { readonly t: "hello" }
  /** Asks one node (or `*`, all) for a full `sync`. */
  | { readonly t: "want"; readonly to: string }
  /**
   * A node's full state: its members, their names and rooms, in `parts` messages (a KV value
   * holds 64 KiB, so a large node's state travels in chunks); `part` counts from 0.
   */
  | {
    readonly t: "sync";
    readonly members: MemberSnapshot[];
    readonly part: number;
    readonly parts: number;
  }
  /** A member connected under a name (`m`: its public member id, when it is not `id`). */
  | {
    readonly t: "up";
    readonly id: string;
    readonly name: string;
    readonly m?: string;
    /** Set (1) when the connection cannot show direct messages. */
    readonly nd?: 1;
  }
  /** A member entered a room. */
  | { readonly t: "join"; readonly id: string; readonly room: string }
  /** A member left a room. */
  /**
   * A member left a room. `seq`: the room's position the leaving node had delivered, which holds
   * everything the member sent there; others announce the leave only once they delivered it too.
   */
  | { readonly t: "leave"; readonly id: string; readonly room: string; readonly seq?: number }
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

function snapshot(value: unknown): MemberSnapshot[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const members: MemberSnapshot[] = [];
  for (const item of value) {
    if (typeof item !== "object" || item === null) return undefined;
    const { id, name, rooms, m, nd } = item as Fields;
    if (!isString(id) || !isString(name) || !Array.isArray(rooms) || !rooms.every(isString)) {
      return undefined;
    }
    members.push({ id, ...(isString(m) ? { m } : {}), name, rooms, ...(nd === 1 ? { nd } : {}) });
  }
  return members;
}

/** Parses a message from a room topic; anything that does not fit is `undefined` (dropped). */
export function parseRoomMessage(raw: BusMessage): RoomNodeMessage | undefined {
  const { t, room, seq, id, memberId, text } = raw;
  if (t !== "stored" || !Number.isInteger(seq) || (seq as number) < 1) return undefined;
  if (!isString(room) || !isString(id) || !isString(memberId) || !isString(text)) return undefined;
  return { t, room, seq: seq as number, id, memberId, text };
}

/** Parses a message from the notices topic; anything that does not fit is `undefined`. */
export function parseMemberMessage(raw: BusMessage): MemberNodeMessage | undefined {
  const { t, room, memberId, text, to, from, skip } = raw;
  if (t === "typing") {
    if (!isString(room) || !isString(memberId) || !isString(text)) return undefined;
    return { t, room, memberId, text };
  }
  if (t === "direct") {
    if (!isString(to) || !isString(from) || !isString(skip) || !isString(text)) return undefined;
    return { t, to, from, skip, text };
  }
  if (t === "member") {
    const { member, notIn } = raw;
    if (!isString(member) || !isString(text)) return undefined;
    return isString(notIn) ? { t, member, notIn, text } : { t, member, text };
  }
  if (t === "gone") {
    const { name } = raw;
    return isString(room) && isString(name) ? { t, room, name } : undefined;
  }
  return parseNoticeMessage(raw);
}

function parseNoticeMessage(raw: BusMessage): NoticeNodeMessage | undefined {
  const { t, to, message } = raw;
  if (t !== "notice" || !isString(message) || typeof to !== "object" || to === null) {
    return undefined;
  }
  const target = to as Fields;
  if (target.everyone === true) return { t, message, to: { everyone: true } };
  if (isString(target.room)) return { t, message, to: { room: target.room } };
  if (isString(target.member)) return { t, message, to: { member: target.member } };
  return undefined;
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
      const part = raw.part ?? 0;
      const parts = raw.parts ?? 1;
      if (!members || !Number.isInteger(part) || !Number.isInteger(parts)) return undefined;
      return { node, t: "sync", members, part: part as number, parts: parts as number };
    }
    case "up":
      if (!isString(id) || !isString(name)) return undefined;
      return {
        node,
        t: "up",
        id,
        name,
        ...(isString(raw.m) ? { m: raw.m } : {}),
        ...(raw.nd === 1 ? { nd: 1 as const } : {}),
      };
    case "rename":
      return isString(id) && isString(name) ? { node, t: raw.t, id, name } : undefined;
    case "join":
      return isString(id) && isString(room) ? { node, t: raw.t, id, room } : undefined;
    case "leave":
      if (!isString(id) || !isString(room)) return undefined;
      return Number.isInteger(raw.seq) && (raw.seq as number) > 0
        ? { node, t: "leave", id, room, seq: raw.seq as number }
        : { node, t: "leave", id, room };
    case "down":
      return isString(id) ? { node, t: "down", id } : undefined;
    case "beat":
      return Number.isInteger(raw.n) ? { node, t: "beat", n: raw.n as number } : undefined;
    default:
      return undefined;
  }
}
