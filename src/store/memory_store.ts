import { ChatError } from "../core/errors.ts";
import { nameKey } from "../core/names.ts";
import type { Store } from "../core/store.ts";
import type { ChatMessage, Clock, MessagePage, MessageQuery, Room } from "../core/types.ts";
import { type Retention, retentionCutoff } from "./retention.ts";

/** The first index whose id is greater than `id` (or `>=` with `inclusive`). */
function boundary(list: ChatMessage[], id: string, inclusive: boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const before = inclusive ? list[mid].id < id : list[mid].id <= id;
    if (before) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Rooms and history in this isolate's memory: nothing survives a restart and other isolates do not
 * see it. For tests and throwaway runs; the server's default is the Deno KV store.
 */
export class MemoryStore implements Store {
  readonly #rooms = new Map<string, Room>();
  readonly #names = new Map<string, string>();
  readonly #messages = new Map<string, ChatMessage[]>();
  readonly #trimmed = new Map<string, string>();
  #closed = false;

  /** A store keeping at most `retention.maxMessages` per room, and none older than `maxAgeMs`. */
  constructor(
    private readonly retention: Retention,
    private readonly clock: Clock = Date.now,
  ) {}

  #open(): void {
    if (this.#closed) throw new ChatError("store_failed", "the store is closed");
  }

  /** Creates a room unless its name is taken. */
  createRoom(room: Room): Promise<Room> {
    this.#open();
    const existing = this.#names.get(nameKey(room.name));
    if (existing) {
      return Promise.reject(
        new ChatError("room_exists", `a room named '${room.name}' exists`, { id: existing }),
      );
    }
    this.#rooms.set(room.id, room);
    this.#names.set(nameKey(room.name), room.id);
    return Promise.resolve(room);
  }

  /** The room with this id. */
  getRoom(id: string): Promise<Room | undefined> {
    return Promise.resolve(this.#rooms.get(id));
  }

  /** The room with this name (case-insensitive). */
  findRoomByName(name: string): Promise<Room | undefined> {
    const id = this.#names.get(nameKey(name));
    return Promise.resolve(id === undefined ? undefined : this.#rooms.get(id));
  }

  /** Every room, oldest first. */
  listRooms(): Promise<Room[]> {
    return Promise.resolve([...this.#rooms.values()].sort((a, b) => a.id < b.id ? -1 : 1));
  }

  /** Keeps the message, then drops what retention no longer allows. */
  appendMessage(message: ChatMessage): Promise<void> {
    try {
      this.#open();
    } catch (error) {
      return Promise.reject(error);
    }
    let list = this.#messages.get(message.room);
    if (!list) this.#messages.set(message.room, list = []);
    const at = boundary(list, message.id, false);
    list.splice(at, 0, message);
    this.#trim(message.room, list);
    return Promise.resolve();
  }

  #trim(room: string, list: ChatMessage[]): void {
    let drop = Math.max(0, list.length - this.retention.maxMessages);
    const cutoff = retentionCutoff(this.retention, this.clock());
    while (drop < list.length && list[drop].ts < cutoff) drop++;
    if (drop === 0) return;
    this.#trimmed.set(room, list[drop - 1].id);
    list.splice(0, drop);
  }

  /** A page of history, oldest first. */
  readMessages(room: string, query: MessageQuery): Promise<MessagePage> {
    const list = this.#messages.get(room) ?? [];
    this.#trim(room, list);
    if (query.after !== undefined) {
      const start = boundary(list, query.after, false);
      const messages = list.slice(start, start + query.limit);
      return Promise.resolve({ messages, more: start + query.limit < list.length });
    }
    const end = query.before === undefined ? list.length : boundary(list, query.before, true);
    const start = Math.max(0, end - query.limit);
    return Promise.resolve({ messages: list.slice(start, end), more: start > 0 });
  }

  /** The newest id retention dropped from the room. */
  trimmedThrough(room: string): Promise<string | undefined> {
    return Promise.resolve(this.#trimmed.get(room));
  }

  /** Refuses further writes (as a failed store would). */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
