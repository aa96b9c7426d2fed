/**
 * The KV store's key layout. Message keys sort by room then id, and ids grow with `seq`, so history pages,
 * replay and repair are range reads in log order. (The layout of 0.1, without `seq`, used the
 * prefixes "messages" and "message_counts"; it is not read.)
 *
 * @module
 */

export const ROOM = "rooms"; // [ROOM, id] -> Room
export const ROOM_NAME = "room_names"; // [ROOM_NAME, name key] -> id
export const ROOM_COUNT = "room_count"; // [ROOM_COUNT] -> Deno.KvU64, rooms created
export const HEAD = "log_heads"; // [HEAD, room] -> LogPosition, written with every append

/**
 * The key of a room's head in a KV store's layout: it changes with every append to the room, so
 * a watch on it tells other nodes that the room has new events (the KV bus uses this).
 */
export function roomHeadKey(room: string): Deno.KvKey {
  return [HEAD, room];
}
export const MESSAGE = "log"; // [MESSAGE, room, log id] -> LogRecord (a message, or a change to one)
export const TRIMMED = "log_trimmed"; // [TRIMMED, room] -> newest id retention deleted
export const SECRET = "secrets"; // [SECRET, name] -> 32 random bytes, made once
export const IDEMPOTENCY = "idempotency"; // [IDEMPOTENCY, room, key] -> the message first stored (a day)
export const READ = "read_positions"; // [READ, member id, room] -> message id (90 days after it moved)
export const ACCESS = "room_access"; // [ACCESS, room] -> RoomAccess (roles, invitations, bans, mutes)
