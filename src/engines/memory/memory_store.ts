import { ChatError } from "../../core/errors.ts";
import { EMPTY_LOG, type LogPosition, logTime, nextLogId } from "../../core/log_order.ts";
import { nameKey } from "../../core/names.ts";
import {
  type AppendOptions,
  IDEMPOTENCY_TTL_MS,
  type RoomPage,
  type Store,
} from "../../core/store.ts";
import {
  applyChange,
  isMessage,
  logIdOf,
  type LogRecord,
  type MessageChange,
  type MessageRecord,
  publicEntry,
  publicMessage,
} from "../../core/message_changes.ts";
import type {
  ChangeEvent,
  ChatMessage,
  Clock,
  LogPage,
  MessageDraft,
  MessagePage,
  MessageQuery,
  Room,
  StoredMessage,
} from "../../core/types.ts";
import { applyReply, threadOf, uncountReply } from "../../core/replies.ts";
import {
  type AccessChange,
  applyAccess,
  type ModerationEvent,
  type RoomAccess,
} from "../../core/room_access.ts";
import { keeps, type Retention } from "../retention.ts";
import { roomsFull } from "../store_errors.ts";

/** The first index whose log id is greater than `id` (or `>=` with `inclusive`). */
function boundary(list: LogRecord[], id: string, inclusive: boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const at = logIdOf(list[mid]);
    const before = inclusive ? at < id : at <= id;
    if (before) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One room's log in memory. */
interface Log {
  head: LogPosition;
  /** Kept entries (messages and changes), in `seq` (and log id) order. */
  readonly entries: LogRecord[];
  trimmed?: string;
}

/** What handles made by {@link MemoryStore.handle} share. */
interface Data {
  readonly rooms: Map<string, Room>;
  readonly names: Map<string, string>;
  readonly logs: Map<string, Log>;
  /** Idempotency keys by room and key, with the message first stored under each. */
  readonly keys: Map<string, { message: ChatMessage; at: number }>;
  /** Named secrets (see `secret`). */
  readonly secrets: Map<string, Uint8Array>;
  /** Read positions by member id and room. */
  readonly reads: Map<string, string>;
  /** Rooms' moderation state, by room id. */
  readonly access: Map<string, RoomAccess>;
}

/**
 * Rooms and history in this isolate's memory: nothing survives a restart and other isolates do not
 * see it. For tests and throwaway runs; the server's default is the Deno KV store.
 */
export class MemoryStore implements Store {
  readonly #data: Data;
  #closed = false;

  /** A store keeping at most `retention.maxMessages` per room, and none older than `maxAgeMs`. */
  constructor(
    private readonly retention: Retention,
    private readonly clock: Clock = Date.now,
    data?: Data,
  ) {
    this.#data = data ??
      {
        rooms: new Map(),
        names: new Map(),
        logs: new Map(),
        keys: new Map(),
        secrets: new Map(),
        reads: new Map(),
        access: new Map(),
      };
  }

  /** Another handle on the same rooms and logs (as a second process on one database would be). */
  handle(): MemoryStore {
    return new MemoryStore(this.retention, this.clock, this.#data);
  }

  #open(): void {
    if (this.#closed) throw new ChatError("store_failed", "the store is closed");
  }

  /** Creates a room unless its name is taken. */
  createRoom(room: Room, options: { readonly maxRooms?: number } = {}): Promise<Room> {
    this.#open();
    const existing = this.#data.names.get(nameKey(room.name));
    if (existing) {
      return Promise.reject(
        new ChatError("room_exists", `a room named '${room.name}' exists`, { id: existing }),
      );
    }
    if (this.#data.rooms.size >= (options.maxRooms ?? Infinity)) {
      return Promise.reject(roomsFull(options.maxRooms!));
    }
    this.#data.rooms.set(room.id, room);
    this.#data.names.set(nameKey(room.name), room.id);
    return Promise.resolve(room);
  }

  /** A secret made on first use, kept with the store's data. */
  secret(name: string): Promise<Uint8Array> {
    this.#open();
    let value = this.#data.secrets.get(name);
    if (!value) this.#data.secrets.set(name, value = crypto.getRandomValues(new Uint8Array(32)));
    return Promise.resolve(value);
  }

  /** Removes a room that never had an event. */
  deleteEmptyRoom(id: string): Promise<boolean> {
    this.#open();
    const room = this.#data.rooms.get(id);
    if (!room || (this.#data.logs.get(id)?.head.seq ?? 0) > 0) return Promise.resolve(false);
    this.#data.rooms.delete(id);
    this.#data.names.delete(nameKey(room.name));
    return Promise.resolve(true);
  }

  /** The room with this id. */
  getRoom(id: string): Promise<Room | undefined> {
    return Promise.resolve(this.#data.rooms.get(id));
  }

  /** The room with this name (case-insensitive). */
  findRoomByName(name: string): Promise<Room | undefined> {
    const id = this.#data.names.get(nameKey(name));
    return Promise.resolve(id === undefined ? undefined : this.#data.rooms.get(id));
  }

  /** Rooms oldest first, or a page of them. */
  listRooms(page: RoomPage = {}): Promise<Room[]> {
    const after = page.after ?? "";
    const rooms = [...this.#data.rooms.values()].filter((r) => r.id > after)
      .sort((a, b) => a.id < b.id ? -1 : 1);
    return Promise.resolve(rooms.slice(0, page.limit ?? rooms.length));
  }

  #log(room: string): Log {
    let log = this.#data.logs.get(room);
    if (!log) this.#data.logs.set(room, log = { head: EMPTY_LOG, entries: [] });
    return log;
  }

  /** Appends at the room's head, then drops what retention no longer allows. */
  appendMessage(draft: MessageDraft, options: AppendOptions = {}): Promise<ChatMessage> {
    try {
      this.#open();
    } catch (error) {
      return Promise.reject(error);
    }
    const key = options.idempotencyKey === undefined
      ? undefined
      : `${draft.room}\u0000${options.idempotencyKey}`;
    const used = key === undefined ? undefined : this.#data.keys.get(key);
    if (used && used.at > this.clock() - IDEMPOTENCY_TTL_MS) return Promise.resolve(used.message);
    const log = this.#log(draft.room);
    const id = nextLogId(log.head.id, draft.id);
    let message: ChatMessage = { ...draft, id, ts: logTime(id), seq: log.head.seq + 1 };
    if (message.replyTo !== undefined) {
      this.#trim(log);
      const target = this.#record(log, message.replyTo);
      try {
        const reply = applyReply(
          { ...message, replyTo: message.replyTo },
          target,
          target && this.#record(log, threadOf(target)),
        );
        message = reply.message;
        if (reply.root) this.#replace(log, reply.root);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    log.entries.push(message);
    log.head = { seq: message.seq, id };
    this.#trim(log);
    if (key !== undefined) this.#data.keys.set(key, { message, at: this.clock() });
    return Promise.resolve(message);
  }

  /** Applies a change to its target and appends it, in one step. */
  changeMessage(change: MessageChange): Promise<ChangeEvent> {
    try {
      this.#open();
      const log = this.#log(change.room);
      this.#trim(log);
      const target = this.#record(log, change.target);
      const { record, event } = applyChange(target, change, log.head);
      this.#replace(log, record);
      if (change.kind === "delete" && target?.thread !== undefined) {
        const root = uncountReply(this.#record(log, target.thread));
        if (root) this.#replace(log, root);
      }
      log.entries.push(event);
      log.head = { seq: event.seq, id: event.logId };
      return Promise.resolve(event);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The kept message with this id, if any. */
  #record(log: Log, id: string): MessageRecord | undefined {
    const found = log.entries[boundary(log.entries, id, true)];
    return found && logIdOf(found) === id && isMessage(found) ? found : undefined;
  }

  /** Puts a message's new state in its place. */
  #replace(log: Log, record: MessageRecord): void {
    log.entries[boundary(log.entries, record.id, true)] = record;
  }

  #trim(log: Log): void {
    const kept = keeps(this.retention, log.head, this.clock());
    let drop = 0;
    while (drop < log.entries.length && !kept(log.entries[drop])) drop++;
    if (drop === 0) return;
    log.trimmed = logIdOf(log.entries[drop - 1]);
    log.entries.splice(0, drop);
  }

  /** The room's newest `seq` and id. */
  head(room: string): Promise<LogPosition> {
    return Promise.resolve(this.#data.logs.get(room)?.head ?? EMPTY_LOG);
  }

  /** A page of history (messages only, in their current state), oldest first. */
  readMessages(room: string, query: MessageQuery): Promise<MessagePage> {
    const log = this.#data.logs.get(room);
    if (!log) return Promise.resolve({ messages: [], more: false });
    this.#trim(log);
    const list = log.entries;
    const messages: StoredMessage[] = [];
    if (query.after !== undefined) {
      let i = boundary(list, query.after, false);
      for (; i < list.length && messages.length < query.limit; i++) {
        const entry = list[i];
        if (isMessage(entry)) messages.push(publicMessage(entry));
      }
      const more = list.slice(i).some(isMessage);
      return Promise.resolve({ messages, more });
    }
    let i = (query.before === undefined ? list.length : boundary(list, query.before, true)) - 1;
    for (; i >= 0 && messages.length < query.limit; i--) {
      const entry = list[i];
      if (isMessage(entry)) messages.push(publicMessage(entry));
    }
    const more = list.slice(0, i + 1).some(isMessage);
    return Promise.resolve({ messages: messages.reverse(), more });
  }

  /** A page of the log (every kind of entry), in `seq` order. */
  readLog(room: string, query: { after: string; limit: number }): Promise<LogPage> {
    const log = this.#data.logs.get(room);
    if (!log) return Promise.resolve({ entries: [], more: false });
    this.#trim(log);
    const start = boundary(log.entries, query.after, false);
    const page = log.entries.slice(start, start + query.limit);
    return Promise.resolve({
      entries: page.map(publicEntry),
      more: start + query.limit < log.entries.length,
    });
  }

  /** Where the member stopped reading in the room. */
  readPosition(memberId: string, room: string): Promise<string | undefined> {
    return Promise.resolve(this.#data.reads.get(`${memberId}\u0000${room}`));
  }

  /** Moves the member's read position forward (never back). */
  markRead(memberId: string, room: string, id: string): Promise<string> {
    try {
      this.#open();
    } catch (error) {
      return Promise.reject(error);
    }
    const key = `${memberId}\u0000${room}`;
    const current = this.#data.reads.get(key);
    if (current === undefined || current < id) this.#data.reads.set(key, id);
    return Promise.resolve(this.#data.reads.get(key)!);
  }

  /** The room's moderation state. */
  roomAccess(room: string): Promise<RoomAccess> {
    return Promise.resolve(this.#data.access.get(room) ?? {});
  }

  /** Applies a moderation action and appends its event, in one step. */
  changeAccess(change: AccessChange): Promise<ModerationEvent> {
    try {
      this.#open();
      const log = this.#log(change.room.id);
      this.#trim(log);
      const { access, event } = applyAccess(
        this.#data.access.get(change.room.id) ?? {},
        change,
        log.head,
      );
      this.#data.access.set(change.room.id, access);
      log.entries.push(event);
      log.head = { seq: event.seq, id: event.logId };
      return Promise.resolve(event);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The newest id retention dropped from the room. */
  trimmedThrough(room: string): Promise<string | undefined> {
    const log = this.#data.logs.get(room);
    if (log) this.#trim(log);
    return Promise.resolve(log?.trimmed);
  }

  /** Refuses further writes through this handle (as a failed store would). */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
