import { EMPTY_LOG, type LogPosition } from "../../core/log_order.ts";
import {
  type AppendOptions,
  IDEMPOTENCY_TTL_MS,
  type RoomPage,
  type Store,
} from "../../core/store.ts";
import type { MessageChange, MessageRecord } from "../../core/message_changes.ts";
import type {
  ChangeEvent,
  ChatMessage,
  Clock,
  Logger,
  LogPage,
  MessageDraft,
  MessagePage,
  MessageQuery,
  Room,
} from "../../core/types.ts";
import type { AccessChange, ModerationEvent, RoomAccess } from "../../core/room_access.ts";
import { kvGuarded, retryBusy } from "./kv_busy.ts";
import { ACCESS, HEAD, IDEMPOTENCY, MESSAGE } from "./kv_keys.ts";
import { accessesOf, recordKey, targetRecords, usedKeys } from "./kv_batch_reads.ts";
import { KvLog } from "./kv_log.ts";
import { KvReadPositions } from "./kv_read_positions.ts";
import { KvRooms } from "./kv_rooms.ts";
import { storeFailed } from "../store_errors.ts";
import { keeps, type Retention } from "../retention.ts";
import {
  applyWrite,
  type BatchBuilder,
  fail,
  type Outcome,
  type PendingWrite,
  settle,
} from "../batch_writes.ts";
import { type KvGets, kvGets } from "./kv_gets.ts";

export { roomHeadKey } from "./kv_keys.ts";

// Deno KV allows 100 checks, 1000 mutations and 800 KiB per atomic operation; stay inside all
// (a batch checks one head per room, and writes its messages and one head per room).
const MAX_BATCH_MESSAGES = 400;
/** A batch checks one head per room and one key per idempotent append: at most 100 checks. */
const MAX_BATCH_CHECKS = 100;
const MAX_BATCH_BYTES = 512 * 1024;
/** The pause between two chunks of a background trim, in ms. */
const TRIM_PAUSE_MS = 20;
/** Getting many keys at once is limited to 10 per call. */
const GET_MANY = 10;
/** Commits refused because another handle moved a head meanwhile are retried this often. */
const MAX_CONFLICTS = 64;

/** A write waiting for its batch, with its size estimate (a batch stays under KV's limits). */
type Pending = PendingWrite & { readonly size: number };

/** A head as last read or written by this handle, with the versionstamp to check it against. */
interface CachedHead {
  readonly position: LogPosition;
  readonly versionstamp: string | null;
}

/**
 * Opens a Deno KV database (`:memory:` for none, undefined for Deno's default), creating the
 * file's folder if needed and retrying while another isolate is setting the file up.
 */
export async function openKvDatabase(path: string | undefined): Promise<Deno.Kv> {
  if (path !== undefined && path !== ":memory:") {
    const dir = path.replace(/[\\/][^\\/]*$/, "");
    if (dir !== path && dir !== "") await Deno.mkdir(dir, { recursive: true });
  }
  return await retryBusy(() => Deno.openKv(path));
}

/**
 * Rooms and history in Deno KV: a local SQLite file, `:memory:`, or the managed store on Deploy.
 * Appends are grouped into atomic commits (one in flight at a time), so that many senders share
 * each write and each sender's messages commit in order. Each commit checks the heads of the rooms
 * it writes (the versionstamps this handle last saw) and moves them: two handles on one database
 * never give out the same `seq`, and a handle that lost the race reads the heads and tries again.
 * Retention deletes from the oldest key, in the background, every few writes; reads apply the rule
 * at once, so what they return never depends on when that ran.
 */
export class KvStore implements Store {
  readonly #kv: Deno.Kv;
  /** Its point reads, coalesced with the other parts' (one SQLite thread serves them all). */
  readonly #gets: KvGets;
  readonly #retention: Retention;
  readonly #clock: Clock;
  readonly #log?: Logger;
  readonly #ownsKv: boolean;
  readonly #queue: Pending[] = [];
  readonly #heads = new Map<string, CachedHead>();
  readonly #sinceTrim = new Map<string, number>();
  readonly #trimEvery: number;
  #draining?: Promise<void>;
  readonly #rooms: KvRooms;
  readonly #logs: KvLog;
  readonly #positions: KvReadPositions;
  #trims: Promise<void> = Promise.resolve();
  #closed = false;
  #closing?: Promise<void>;

  /** Wraps an open KV handle; with `ownsKv`, {@link close} closes it too. */
  constructor(
    kv: Deno.Kv,
    options: { retention: Retention; clock?: Clock; ownsKv?: boolean; log?: Logger },
  ) {
    this.#kv = kv;
    this.#gets = kvGets(kv);
    this.#retention = options.retention;
    this.#clock = options.clock ?? Date.now;
    this.#log = options.log;
    this.#ownsKv = options.ownsKv ?? false;
    this.#trimEvery = Math.max(1, Math.min(100, Math.floor(options.retention.maxMessages / 10)));
    this.#rooms = new KvRooms(kv);
    this.#logs = new KvLog(kv, this.#retention, this.#clock);
    this.#positions = new KvReadPositions(kv);
  }

  /** Opens the KV database at `path` (`:memory:` for none; undefined for Deno's default). */
  static async open(
    path: string | undefined,
    options: { retention: Retention; clock?: Clock; log?: Logger },
  ): Promise<KvStore> {
    return new KvStore(await openKvDatabase(path), { ...options, ownsKv: true });
  }

  // ---- rooms, reads and read positions (kv_rooms.ts, kv_log.ts, kv_read_positions.ts) --------

  /** Creates a room (see `KvRooms.createRoom`). */
  createRoom(room: Room, options: { readonly maxRooms?: number } = {}): Promise<Room> {
    return this.#rooms.createRoom(room, options);
  }

  /** A secret made by the first handle to ask. */
  secret(name: string): Promise<Uint8Array> {
    return this.#rooms.secret(name);
  }

  /** Removes a room that never had an event (see `KvRooms.deleteEmptyRoom`). */
  deleteEmptyRoom(id: string): Promise<boolean> {
    return this.#rooms.deleteEmptyRoom(id);
  }

  /** The room with this id. */
  getRoom(id: string): Promise<Room | undefined> {
    return this.#rooms.getRoom(id);
  }

  /** The room with this name (case-insensitive). */
  findRoomByName(name: string): Promise<Room | undefined> {
    return this.#rooms.findRoomByName(name);
  }

  /** Rooms oldest first (ids are ULIDs), or a page of them. */
  listRooms(page: RoomPage = {}): Promise<Room[]> {
    return this.#rooms.listRooms(page);
  }

  /** The room's newest `seq` and id, as committed by any handle. */
  head(room: string): Promise<LogPosition> {
    return this.#logs.head(room);
  }

  /** A page of history (messages in their current state), oldest first. */
  readMessages(room: string, query: MessageQuery): Promise<MessagePage> {
    return this.#logs.readMessages(room, query);
  }

  /** A page of the log (messages and changes) after a log id, in `seq` order. */
  readLog(room: string, query: { after: string; limit: number }): Promise<LogPage> {
    return this.#logs.readLog(room, query);
  }

  /** The newest id retention dropped from the room, deleted yet or not. */
  trimmedThrough(room: string): Promise<string | undefined> {
    return this.#logs.trimmedThrough(room);
  }

  /** Deletes what retention no longer keeps in a room, oldest first. */
  trim(room: string): Promise<void> {
    return this.#logs.trim(room);
  }

  /** Where the member stopped reading in the room. */
  readPosition(memberId: string, room: string): Promise<string | undefined> {
    return this.#positions.readPosition(memberId, room);
  }

  /** Moves the member's read position forward (see `KvReadPositions.markRead`). */
  markRead(memberId: string, room: string, id: string): Promise<string> {
    if (this.#closed) return Promise.reject(storeFailed(new Error("the store is closed")));
    return this.#positions.markRead(memberId, room, id);
  }

  /** The room's moderation state. */
  async roomAccess(room: string): Promise<RoomAccess> {
    const entry = await this.#guard(() => this.#gets.get<RoomAccess>([ACCESS, room]));
    return entry.value ?? {};
  }

  /** Queues a moderation action with the appends (the rule: `applyAccess`, checked at the head). */
  changeAccess(access: AccessChange): Promise<ModerationEvent> {
    if (this.#closed) return Promise.reject(storeFailed(new Error("the store is closed")));
    return new Promise((resolve, reject) => {
      this.#queue.push({ room: access.room.id, access, size: 64 * 1024, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  /** Resolves with the stored message once committed (in a batch with others queued meanwhile). */
  appendMessage(draft: MessageDraft, options: AppendOptions = {}): Promise<ChatMessage> {
    if (this.#closed) return Promise.reject(storeFailed(new Error("the store is closed")));
    return new Promise((resolve, reject) => {
      // A reply rewrites its thread's first message too (text and reactions, see changeMessage).
      const size = (draft.message?.length ?? 0) * 3 + (draft.binary?.length ?? 0) + 256 +
        (draft.replyTo === undefined ? 0 : 4 * 4096 * 3);
      const room = draft.room;
      this.#queue.push({ room, draft, key: options.idempotencyKey, size, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  /**
   * Queues a change with the appends: its batch reads the target, applies the change (refusing
   * it alone if it breaks a rule) and writes both, checked against the room's head like appends.
   */
  changeMessage(change: MessageChange): Promise<ChangeEvent> {
    if (this.#closed) return Promise.reject(storeFailed(new Error("the store is closed")));
    return new Promise((resolve, reject) => {
      // The record travels twice (the target's new state and the change) with its old text.
      const size = ("message" in change ? change.message.length * 3 : 0) + 4 * 4096 * 3 + 512;
      this.#queue.push({ room: change.room, change, size, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#takeBatch();
        try {
          settle(batch, await this.#commitBatch(batch));
        } catch (error) {
          fail(batch, error);
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
    let checks = 0;
    const rooms = new Set<string>();
    while (count < this.#queue.length && count < MAX_BATCH_MESSAGES) {
      const pending = this.#queue[count];
      bytes += pending.size;
      if (count > 0 && bytes > MAX_BATCH_BYTES) break;
      const keyed = "key" in pending && pending.key !== undefined;
      const adds = (rooms.has(pending.room) ? 0 : 1) + (keyed ? 1 : 0);
      if (count > 0 && checks + adds > MAX_BATCH_CHECKS) break;
      checks += adds;
      rooms.add(pending.room);
      count++;
    }
    return this.#queue.splice(0, count);
  }

  /**
   * Commits a batch at the heads this handle knows, checking that no other handle moved them;
   * when one did, reads the heads again and retries. Returns each write's outcome, in batch order.
   */
  async #commitBatch(batch: Pending[]): Promise<Outcome[]> {
    const rooms = [...new Set(batch.map((p) => p.room))];
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
      const unknown = rooms.filter((room) => !this.#heads.has(room));
      if (unknown.length > 0) await retryBusy(() => this.#readHeads(unknown));
      // Appends whose idempotency key was used already resolve with the first message.
      const used = await retryBusy(() => usedKeys(this.#kv, batch));
      // Read after the heads: a commit checked against them saw these records as they are.
      const targets = await retryBusy(() =>
        targetRecords(this.#kv, batch, (room) => this.#kept(room))
      );
      const accesses = await retryBusy(() => accessesOf(this.#kv, batch));
      const heads = new Map(rooms.map((room) => [room, this.#heads.get(room)!]));
      const op = this.#kv.atomic();
      const positions = new Map<string, LogPosition>();
      for (const [room, head] of heads) {
        op.check({ key: [HEAD, room], versionstamp: head.versionstamp });
        positions.set(room, head.position);
      }
      /** Rooms whose access the batch changes (each written once). */
      const changedAccess = new Set<string>();
      /** New states of messages the batch changes, by key (each written once). */
      const records = new Map<string, MessageRecord>();
      const update = (record: MessageRecord) => {
        const key = recordKey(record.room, record.id);
        targets.set(key, record);
        records.set(key, record);
      };
      const idempotency = (room: string, key: string) => [IDEMPOTENCY, room, key];
      const builder: BatchBuilder = {
        record: (room, id) => targets.get(recordKey(room, id)),
        update,
        access: (room) => accesses.get(room) ?? {},
        setAccess: (room, access) => {
          accesses.set(room, access);
          changedAccess.add(room);
        },
        used: (room, key) => used.get(idempotency(room, key).join("\u0000")),
        claim: (room, key, message) => {
          const keyed = idempotency(room, key);
          // The same key twice in one batch: the second gets the first's message.
          used.set(keyed.join("\u0000"), message);
          op.check({ key: keyed, versionstamp: null });
          op.set(keyed, message, { expireIn: IDEMPOTENCY_TTL_MS });
        },
        append: (room, id, entry) => op.set([MESSAGE, room, id], entry),
      };
      const outcomes = batch.map((pending) => {
        const applied = applyWrite(pending, positions.get(pending.room)!, builder);
        positions.set(pending.room, applied.at);
        return applied.outcome;
      });
      for (const record of records.values()) op.set([MESSAGE, record.room, record.id], record);
      for (const room of changedAccess) op.set([ACCESS, room], accesses.get(room)!);
      for (const [room, position] of positions) op.set([HEAD, room], position);
      const result = await retryBusy(() => op.commit());
      if (result.ok) {
        for (const [room, position] of positions) {
          this.#heads.set(room, { position, versionstamp: result.versionstamp });
          this.#noteWrites(room, position.seq - heads.get(room)!.position.seq);
        }
        return outcomes;
      }
      // Another handle appended to one of these rooms (or used one of the keys): read again.
      for (const room of rooms) this.#heads.delete(room);
    }
    throw new Error(`the rooms' heads kept moving (${MAX_CONFLICTS} attempts)`);
  }

  /** Whether a record is kept, by what this handle knows of its room's head (all, if nothing). */
  #kept(room: string): (record: MessageRecord) => boolean {
    const cached = this.#heads.get(room)?.position;
    return cached ? keeps(this.#retention, cached, this.#clock()) : () => true;
  }

  /** Reads the heads of `rooms`, ten keys a call (KV's limit), all calls at once. */
  async #readHeads(rooms: string[]): Promise<void> {
    const chunks: string[][] = [];
    for (let i = 0; i < rooms.length; i += GET_MANY) chunks.push(rooms.slice(i, i + GET_MANY));
    await Promise.all(chunks.map(async (chunk) => {
      const entries = await this.#kv.getMany<LogPosition[]>(chunk.map((room) => [HEAD, room]));
      entries.forEach((entry, j) => {
        this.#heads.set(chunk[j], {
          position: entry.value ?? EMPTY_LOG,
          versionstamp: entry.versionstamp,
        });
      });
    }));
  }

  /**
   * Counts writes per room; every `trimEvery` of them, trims the room in the background (one trim
   * at a time), so that deleting old keys never sits on an append's path.
   */
  #noteWrites(room: string, n: number): void {
    const count = (this.#sinceTrim.get(room) ?? 0) + n;
    if (count < this.#trimEvery) {
      this.#sinceTrim.set(room, count);
      return;
    }
    this.#sinceTrim.delete(room);
    this.#trims = this.#trims
      .then(() => this.#trimPaced(room))
      .catch((error) => this.#log?.("kv_trim_failed", { room, error: String(error) }));
  }

  /**
   * The background trim: one chunk of deletes at a time with a pause between chunks, so that a
   * room with a large backlog to drop (after a burst) does not hold the database's write lock in
   * one long run while messages wait to commit (it showed as p99 spikes after saturation).
   * Reads apply retention themselves, so deleting late changes nothing they return.
   */
  async #trimPaced(room: string): Promise<void> {
    while (!this.#closed && await retryBusy(() => this.#logs.trimChunk(room))) {
      await new Promise((resolve) => setTimeout(resolve, TRIM_PAUSE_MS));
    }
  }

  /** Commits what is queued, waits for trims, then closes the handle if this store opened it (once). */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      this.#closed = true;
      await this.#draining;
      await this.#positions.drained();
      await this.#trims;
      if (this.#ownsKv) this.#kv.close();
    })();
  }

  #guard<T>(work: () => Promise<T>): Promise<T> {
    return kvGuarded(work);
  }
}
