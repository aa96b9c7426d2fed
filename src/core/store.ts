import type { LogPosition } from "./log_order.ts";
import type { MessageChange } from "./message_changes.ts";
import type { AccessChange, ModerationEvent, RoomAccess } from "./room_access.ts";
import type {
  ChangeEvent,
  ChatMessage,
  LogPage,
  MessageDraft,
  MessagePage,
  MessageQuery,
  Room,
} from "./types.ts";

/** A page of rooms (ids are ULIDs, so `after` is a cursor). */
export interface RoomPage {
  /** Only rooms whose id is above this one. */
  readonly after?: string;
  /** At most this many. */
  readonly limit?: number;
}

/** How to append. */
export interface AppendOptions {
  /** A client's key for this message (an HTTP `Idempotency-Key`): the same key stores once. */
  readonly idempotencyKey?: string;
}

/** How long a member's read position in a room is kept after it last moved (90 days). */
export const READ_POSITION_TTL_MS = 90 * 24 * 60 * 60 * 1000;

/** How long an idempotency key is remembered. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Where rooms and history live. Implementations: `engines/memory/memory_store.ts` (one isolate,
 * for tests and throwaway runs), `engines/kv/kv_store.ts` (Deno KV, shared by every handle on one
 * database) and `engines/redis/redis_store.ts` (Redis or a Redis Cluster, shared by every
 * process). The KV and Redis stores build each batch with the same rule (`engines/batch_writes.ts`).
 * `tests/store_contract.ts` states these promises as tests; every implementation passes it.
 *
 * **Order.** Each room is one log. An append is given, in one atomic step with respect to every
 * handle on the same data, `seq` = the room's previous `seq` + 1 and an id above every earlier id
 * of the room (`nextLogId`), so id order and `seq` order are the same order, on every handle.
 * Appends made through one handle commit in call order. Nothing is visible to a reader before it
 * is durable, and an append that rejects stored nothing — with one exception, stated where it
 * happens: on Redis with `CHAT_REDIS_WAIT_REPLICAS`, an append whose replicas did not confirm it
 * in time rejects (it was not acknowledged) though the master stored it; readers get it, and a
 * retry with its idempotency key returns it.
 *
 * **Changes.** Edits, deletes and reactions are events of the log too: each gets the next `seq`
 * and its own id (`logId`), and in the same atomic step the target message's record takes its
 * new state (see `applyChange`), so history shows current state and replay shows every change.
 *
 * **Retention.** A room keeps its newest `maxMessages` events (those with `seq` > head − max) that
 * are not older than `maxAgeMs` (by `ts`). Reads never return what the rule drops, even if the
 * store deletes it later; {@link Store.trimmedThrough} names the newest event the rule dropped.
 *
 * Failures reject with a `ChatError`: `store_failed`, or `room_exists` on a taken room name.
 */
export interface Store {
  /**
   * Creates a room; rejects with `room_exists` (details.id = existing id) if the name is taken,
   * and with `over_capacity` when `maxRooms` rooms exist already (rooms created at the same
   * instant may pass the cap by as many: the count is not a point of contention).
   */
  createRoom(room: Room, options?: { readonly maxRooms?: number }): Promise<Room>;
  /**
   * Removes a room that never had an event (its head `seq` is 0): its record, its name (free for
   * a new room) and its place in the count. Resolves `false`, changing nothing, for a room with
   * events or none at all. (Deciding that nobody is in it is the caller's part.)
   */
  deleteEmptyRoom(id: string): Promise<boolean>;
  /**
   * A secret named `name` that every node and every restart on this store agrees on: made (32
   * random bytes) by whichever asks first, the same ever after. Never in the code or the repo.
   */
  secret(name: string): Promise<Uint8Array>;
  /** The room with this id, if any. */
  getRoom(id: string): Promise<Room | undefined>;
  /** The room with this name, compared case-insensitively, if any. */
  findRoomByName(name: string): Promise<Room | undefined>;
  /** Rooms oldest first: all, or a page of at most `limit` created after the room id `after`. */
  listRooms(page?: RoomPage): Promise<Room[]>;
  /**
   * Appends to the room's log; resolves with the stored message (its `seq`, id and `ts` set).
   * With an idempotency key, an append whose key was already used in that room (within a day,
   * through any handle, even at the same moment) stores nothing and resolves with the message
   * stored the first time.
   */
  appendMessage(draft: MessageDraft, options?: AppendOptions): Promise<ChatMessage>;
  /**
   * Appends a change to a message of the room (the rule: `applyChange`); rejects with its
   * `not_found`, `forbidden` or `too_large`, having stored nothing.
   */
  changeMessage(change: MessageChange): Promise<ChangeEvent>;
  /** The room's newest `seq` and id (`seq` 0 for an empty room). */
  head(room: string): Promise<LogPosition>;
  /** A page of a room's messages in their current state, oldest first (id bounds are exclusive). */
  readMessages(room: string, query: MessageQuery): Promise<MessagePage>;
  /** Every kind of entry of a room's log after the log id `after`, in `seq` order. */
  readLog(
    room: string,
    query: { readonly after: string; readonly limit: number },
  ): Promise<LogPage>;
  /**
   * Where a member (by identity: a token's subject or a session, as its member id) stopped reading
   * in a room: a message id, or undefined when it never said.
   */
  readPosition(memberId: string, room: string): Promise<string | undefined>;
  /**
   * Moves a member's read position in a room to `id` unless it is already there or further (it
   * never moves back, whichever handle wrote last); resolves with the position after. Kept
   * {@link READ_POSITION_TTL_MS} after it last moved.
   */
  markRead(memberId: string, room: string, id: string): Promise<string>;
  /** A room's moderation state (roles, invitations, bans, mutes); an empty one when none. */
  roomAccess(room: string): Promise<RoomAccess>;
  /**
   * Applies a moderation action to its room's access (the rule: `applyAccess`) and appends its
   * event to the room's log, in one atomic step; rejects with the rule's `forbidden`, having
   * stored nothing.
   */
  changeAccess(change: AccessChange): Promise<ModerationEvent>;
  /** The id of the newest message that retention dropped from the room, if any. */
  trimmedThrough(room: string): Promise<string | undefined>;
  /** Waits for pending writes, then releases resources. */
  close(): Promise<void>;
}
