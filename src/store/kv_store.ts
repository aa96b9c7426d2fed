import { ChatError } from "../core/errors.ts";
import { idFloor } from "../core/message.ts";
import { nameKey } from "../core/names.ts";
import type { Store } from "../core/store.ts";
import type { ChatMessage, Clock, MessagePage, MessageQuery, Room } from "../core/types.ts";
import { type Retention, retentionCutoff } from "./retention.ts";

// Key layout. Message keys sort by room then ULID, so history pages and replay are range reads.
const ROOM = "rooms"; // [ROOM, id] -> Room
const ROOM_NAME = "room_names"; // [ROOM_NAME, lower-case name] -> id
const MESSAGE = "messages"; // [MESSAGE, room, id] -> ChatMessage
const COUNT = "message_counts"; // [COUNT, room] -> Deno.KvU64
const TRIMMED = "trimmed_through"; // [TRIMMED, room] -> newest id retention dropped

// Deno KV allows 1000 mutations and 800 KiB per atomic operation; stay well inside both.
const MAX_BATCH_MESSAGES = 400;
const MAX_BATCH_BYTES = 512 * 1024;
const DELETE_CHUNK = 500;
const U64 = 1n << 64n;

interface Pending {
  readonly message: ChatMessage;
  readonly size: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** SQLite lets one writer in at a time; isolates sharing a file see this and should retry. */
function isBusy(error: unknown): boolean {
  return error instanceof Error && /database is locked|busy/i.test(error.message);
}

/** Runs `work`, retrying with backoff (about a second in all) while the database is busy. */
async function retryBusy<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isBusy(error) || attempt >= 12) throw error;
      await new Promise((r) => setTimeout(r, Math.min(100, 2 ** attempt) + Math.random() * 5));
    }
  }
}

function storeFailed(error: unknown): ChatError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ChatError("store_failed", `the message could not be stored: ${reason}`);
}

/**
 * Rooms and history in Deno KV: a local SQLite file, `:memory:`, or the managed store on Deploy.
 * Appends are grouped into atomic commits (one in flight at a time), so that many senders share
 * each write and each sender's messages commit in order. Retention keeps a per-room count (an
 * atomic sum, updated every few writes) and trims from the oldest key, never scanning a room.
 */
export class KvStore implements Store {
  readonly #kv: Deno.Kv;
  readonly #retention: Retention;
  readonly #clock: Clock;
  readonly #ownsKv: boolean;
  readonly #queue: Pending[] = [];
  readonly #sinceTrim = new Map<string, number>();
  readonly #trimEvery: number;
  #draining?: Promise<void>;
  #trims: Promise<void> = Promise.resolve();
  #closed = false;

  /** Wraps an open KV handle; with `ownsKv`, {@link close} closes it too. */
  constructor(
    kv: Deno.Kv,
    options: { retention: Retention; clock?: Clock; ownsKv?: boolean },
  ) {
    this.#kv = kv;
    this.#retention = options.retention;
    this.#clock = options.clock ?? Date.now;
    this.#ownsKv = options.ownsKv ?? false;
    this.#trimEvery = Math.max(1, Math.min(100, Math.floor(options.retention.maxMessages / 10)));
  }

  /** Opens the KV database at `path` (`:memory:` for none; undefined for Deno's default). */
  static async open(
    path: string | undefined,
    options: { retention: Retention; clock?: Clock },
  ): Promise<KvStore> {
    // Isolates starting together on one file can find it locked while another sets it up.
    const kv = await retryBusy(() => Deno.openKv(path));
    return new KvStore(kv, { ...options, ownsKv: true });
  }

  /** Creates a room; the name index is checked and written in one atomic step. */
  async createRoom(room: Room): Promise<Room> {
    const nameEntry = [ROOM_NAME, nameKey(room.name)];
    const result = await this.#guard(() =>
      this.#kv.atomic()
        .check({ key: nameEntry, versionstamp: null })
        .set(nameEntry, room.id)
        .set([ROOM, room.id], room)
        .commit()
    );
    if (result.ok) return room;
    const existing = await this.#guard(() => this.#kv.get<string>(nameEntry));
    throw new ChatError("room_exists", `a room named '${room.name}' exists`, {
      id: existing.value,
    });
  }

  /** The room with this id. */
  async getRoom(id: string): Promise<Room | undefined> {
    const entry = await this.#guard(() => this.#kv.get<Room>([ROOM, id]));
    return entry.value ?? undefined;
  }

  /** The room with this name (case-insensitive). */
  async findRoomByName(name: string): Promise<Room | undefined> {
    const entry = await this.#guard(() => this.#kv.get<string>([ROOM_NAME, nameKey(name)]));
    return entry.value === null ? undefined : this.getRoom(entry.value);
  }

  /** Every room, oldest first (ids are ULIDs). */
  listRooms(): Promise<Room[]> {
    return this.#guard(async () => {
      const rooms: Room[] = [];
      for await (const entry of this.#kv.list<Room>({ prefix: [ROOM] })) rooms.push(entry.value);
      return rooms;
    });
  }

  /** Resolves once the message is committed (in a batch with others queued meanwhile). */
  appendMessage(message: ChatMessage): Promise<void> {
    if (this.#closed) return Promise.reject(storeFailed(new Error("the store is closed")));
    return new Promise((resolve, reject) => {
      const size = message.message.length * 3 + 256;
      this.#queue.push({ message, size, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#takeBatch();
        try {
          await retryBusy(() => this.#commitBatch(batch));
          for (const pending of batch) pending.resolve();
        } catch (error) {
          for (const pending of batch) pending.reject(storeFailed(error));
        }
      }
    } finally {
      // No await between the last emptiness check and here, so no append can be stranded.
      this.#draining = undefined;
    }
  }

  #takeBatch(): Pending[] {
    let bytes = 0;
    let count = 0;
    while (count < this.#queue.length && count < MAX_BATCH_MESSAGES) {
      bytes += this.#queue[count].size;
      if (count > 0 && bytes > MAX_BATCH_BYTES) break;
      count++;
    }
    return this.#queue.splice(0, count);
  }

  async #commitBatch(batch: Pending[]): Promise<void> {
    const op = this.#kv.atomic();
    for (const { message } of batch) op.set([MESSAGE, message.room, message.id], message);
    const result = await op.commit();
    if (!result.ok) throw new Error("the atomic commit was refused");
    for (const { message } of batch) this.#noteWrite(message.room);
  }

  /**
   * Counts writes per room in memory; every `trimEvery` of them, adds them to the room's stored
   * count and trims (in the background, one at a time). Keeping the count out of the message
   * commit spares a read-modify-write per room per batch on the hot path; the price is a count
   * that may lag by less than `trimEvery` writes per isolate (more after a crash), so a room may
   * briefly hold that many messages beyond the cap.
   */
  #noteWrite(room: string): void {
    const count = (this.#sinceTrim.get(room) ?? 0) + 1;
    if (count < this.#trimEvery) {
      this.#sinceTrim.set(room, count);
      return;
    }
    this.#sinceTrim.delete(room);
    this.#trims = this.#trims
      .then(() => retryBusy(() => this.#addToCount(room, count)))
      .then(() => retryBusy(() => this.trim(room)))
      .catch(() => {});
  }

  async #addToCount(room: string, n: number): Promise<void> {
    await this.#kv.atomic().sum([COUNT, room], BigInt(n)).commit();
  }

  /** Drops what retention no longer allows in a room: the oldest beyond the cap, then expired. */
  async trim(room: string): Promise<void> {
    const count = (await this.#kv.get<Deno.KvU64>([COUNT, room])).value?.value ?? 0n;
    const excess = Number(count) - this.#retention.maxMessages;
    if (excess > 0) {
      await this.#deleteOldest(room, { prefix: [MESSAGE, room] }, excess);
    }
    const cutoff = retentionCutoff(this.#retention, this.#clock());
    if (cutoff > 0) {
      const end = [MESSAGE, room, idFloor(cutoff)];
      await this.#deleteOldest(room, { prefix: [MESSAGE, room], end }, Infinity);
    }
  }

  async #deleteOldest(room: string, selector: Deno.KvListSelector, limit: number) {
    for (let left = limit; left > 0;) {
      const chunk = Math.min(DELETE_CHUNK, left);
      const keys: Deno.KvKey[] = [];
      for await (const entry of this.#kv.list(selector, { limit: chunk })) keys.push(entry.key);
      if (keys.length === 0) return;
      const op = this.#kv.atomic();
      for (const key of keys) op.delete(key);
      op.sum([COUNT, room], (U64 - BigInt(keys.length)) % U64);
      op.set([TRIMMED, room], String(keys[keys.length - 1][2]));
      await op.commit();
      left -= keys.length;
      if (keys.length < chunk) return;
    }
  }

  /** A page of history, oldest first, as one range read. */
  readMessages(room: string, query: MessageQuery): Promise<MessagePage> {
    return this.#guard(async () => {
      const prefix = [MESSAGE, room];
      const messages: ChatMessage[] = [];
      if (query.after !== undefined) {
        const selector = { prefix, start: [MESSAGE, room, query.after] };
        for await (const e of this.#kv.list<ChatMessage>(selector, { limit: query.limit + 2 })) {
          if (e.value.id > query.after) messages.push(e.value);
        }
        return { messages: messages.slice(0, query.limit), more: messages.length > query.limit };
      }
      const selector = query.before === undefined
        ? { prefix }
        : { prefix, end: [MESSAGE, room, query.before] };
      const options = { limit: query.limit + 1, reverse: true };
      for await (const e of this.#kv.list<ChatMessage>(selector, options)) messages.push(e.value);
      const more = messages.length > query.limit;
      return { messages: messages.slice(0, query.limit).reverse(), more };
    });
  }

  /** The newest id retention dropped from the room. */
  async trimmedThrough(room: string): Promise<string | undefined> {
    const entry = await this.#guard(() => this.#kv.get<string>([TRIMMED, room]));
    return entry.value ?? undefined;
  }

  /** Commits what is queued, waits for trims, then closes the handle if this store opened it. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#draining;
    await this.#trims;
    // Counts not yet added (fewer than trimEvery per room) are kept for the next start.
    for (const [room, n] of this.#sinceTrim) {
      await retryBusy(() => this.#addToCount(room, n)).catch(() => {});
    }
    this.#sinceTrim.clear();
    if (this.#ownsKv) this.#kv.close();
  }

  async #guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await retryBusy(work);
    } catch (error) {
      if (error instanceof ChatError) throw error;
      throw storeFailed(error);
    }
  }
}
