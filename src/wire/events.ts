import type { ChatError } from "../core/errors.ts";
import type { HistoryPage, JoinResult, MemberList } from "../core/hub.ts";
import type { Outbound } from "../core/types.ts";

/**
 * The text of an outbound event, serialised on first use and then reused for every recipient
 * (hot path: one `JSON.stringify` per event, not per socket).
 */
export function encode(out: Outbound): string {
  return out.text ??= JSON.stringify(out.event);
}

/** The `error` event for a refused command, echoing `re` when the command carried an `id`. */
export function errorEvent(error: ChatError, re?: string): string {
  return JSON.stringify({
    ...error.details,
    event: "error",
    code: error.code,
    message: error.message,
    ...(re === undefined ? {} : { re }),
  });
}

/** The `joined` answer: the room, its members, its current `seq`, and `recovered` after `since`. */
export function joinedEvent(result: JoinResult): object {
  const { room, members, seq, recovered, page, read, role } = result;
  return {
    event: "joined",
    room: room.id,
    name: room.name,
    members,
    ...(page ? { count: page.count, more: page.more } : {}),
    seq,
    ...(recovered === undefined ? {} : { recovered }),
    ...(read?.readUpTo === undefined ? {} : { readUpTo: read.readUpTo }),
    ...(read === undefined ? {} : { unread: read.unread }),
    ...(role === undefined ? {} : { role }),
    ...(room.private ? { private: true } : {}),
  };
}

/** The `left` answer. */
export function leftEvent(left: { room: string }): object {
  return { event: "left", room: left.room };
}

/** The `list` answer. */
export function listEvent(list: MemberList): object {
  const { page } = list;
  return {
    event: "list",
    room: list.room,
    members: list.members,
    ...(page ? { count: page.count, offset: page.offset, more: page.more } : {}),
  };
}

/** The `history` answer for direct messages (`with`: the other member's id). */
export function directHistoryEvent(
  page: { with: string; messages: object[]; more: boolean },
): object {
  return { event: "history", with: page.with, messages: page.messages, more: page.more };
}

/** The `history` answer. */
export function historyEvent(page: HistoryPage): object {
  return { event: "history", room: page.room, messages: page.messages, more: page.more };
}

/** Serialises a direct answer, echoing `re` when the command carried an `id`. */
export function answer(event: object, re?: string): string {
  return withRe(JSON.stringify(event), re);
}

/**
 * Adds `re` to an event already serialised as a JSON object. On the hot path (every
 * acknowledgement) this appends to the fan-out's text instead of serialising the event again.
 */
export function withRe(text: string, re?: string): string {
  if (re === undefined) return text;
  return text === "{}"
    ? JSON.stringify({ re })
    : `${text.slice(0, -1)},"re":${JSON.stringify(re)}}`;
}
