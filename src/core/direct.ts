import type { ChatMessage, DirectEvent, StoredMessage } from "./types.ts";

/**
 * The private log of the direct messages between two members: a log of the store that is no
 * room of the directory (it is not listed, joined or read over HTTP), named after the pair's
 * member ids, so that only its two parties reach it (`history` with `with`). Members with a
 * token keep their id across connections, so their direct messages outlive a connection.
 */
export function directRoom(a: string, b: string): string {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}

/** Whether a log name is a pair's direct log rather than a room. */
export function isDirectRoom(room: string): boolean {
  return room.startsWith("dm:");
}

/** The `direct` event of a message stored in a pair's log, sent to `toId`. */
export function directEvent(message: ChatMessage | StoredMessage, toId: string): DirectEvent {
  const m = message as ChatMessage;
  return {
    event: "direct",
    id: m.id,
    from: m.member,
    fromId: m.memberId,
    to: m.to ?? "",
    toId,
    message: m.message ?? "",
    ts: m.ts,
  };
}
