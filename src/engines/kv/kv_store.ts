import { ChatError } from "../../core/errors.ts";
import { EMPTY_LOG, type LogPosition, logTime, nextLogId } from "../../core/log_order.ts";
import { nameKey } from "../../core/names.ts";
import {
  type AppendOptions,
  IDEMPOTENCY_TTL_MS,
  READ_POSITION_TTL_MS,
  type RoomPage,
  type Store,
} from "../../core/store.ts";
import {
  applyChange,
  isMessage,
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
  LogEntry,
  Logger,
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
import { retryBusy } from "./kv_busy.ts";
import { roomsFull, storeFailed } from "../store_errors.ts";
import { keeps, type Retention } from "../retention.ts";

// Key layout. Message keys sort by room then id, and ids grow with `seq`, so history pages,
// replay and repair are range reads in log order. (The layout of 0.1, without `seq`, used the
// prefixes "messages" and "message_counts"; it is not read.)
const ROOM = "rooms"; // [ROOM, id] -> Room
const ROOM_NAME = "room_names"; // [ROOM_NAME, name key] -> id
const ROOM_COUNT = "room_count"; // [ROOM_COUNT] -> Deno.KvU64, rooms created
const HEAD = "log_heads"; // [HEAD, room] -> LogPosition, written with every append

/**
 * The key of a room's head in a KV store's layout: it changes with every append to the room, so
 * a watch on it tells other nodes that the room has new events (the KV bus uses this).
 */
export function roomHeadKey(room: string): Deno.KvKey {
  return [HEAD, room];
}
const MESSAGE = "log"; // [MESSAGE, room, log id] -> LogRecord (a message, or a change to one)
const TRIMMED = "log_trimmed"; // [TRIMMED, room] -> newest id retention deleted
const SECRET = "secrets"; // [SECRET, name] -> 32 random bytes, made once
const IDEMPOTENCY = "idempotency"; // [IDEMPOTENCY, room, key] -> the message first stored (a day)
const READ = "read_positions"; // [READ, member id, room] -> message id (90 days after it moved)
const ACCESS = "room_access"; // [ACCESS, room] -> RoomAccess (roles, invitations, bans, mutes)

// Deno KV allows 100 checks, 1000 mutations and 800 KiB per atomic operation; stay inside all
// (a batch checks one head per room, and writes its messages and one head per room).
const MAX_BATCH_MESSAGES = 400;
/** A batch checks one head per room and one key per idempotent append: at most 100 checks. */
const MAX_BATCH_CHECKS = 100;
const MAX_BATCH_BYTES = 512 * 1024;
const DELETE_CHUNK = 200;
/** The pause between two chunks of a background trim, in ms. */
const TRIM_PAUSE_MS = 20;
/** Getting many keys at once is limited to 10 per call. */
const GET_MANY = 10;
/** Commits refused because another handle moved a head meanwhile are retried this often. */
const MAX_CONFLICTS = 64;

/** How a batch finds a message record: by room and id. */
function recordKey(room: string, id: string): string {
  return `${room}\u0000${id}`;
}

/** A write waiting for its batch: a message to append, or a change to one. */
type Pending =
  & {
    readonly room: string;
    readonly size: number;
    readonly reject: (error: unknown) => void;
  }
  & (
    | {
      readonly draft: MessageDraft;
      /** The append's idempotency key, if any. */
      readonly key?: string;
      readonly resolve: (stored: ChatMessage) => void;
    }
    | {
      readonly change: MessageChange;
      readonly resolve: (stored: ChangeEvent) => void;
    }
    | {
      readonly access: AccessChange;
      readonly resolve: (stored: ModerationEvent) => void;
    }
  );

/** A read position waiting for its commit: the highest asked, and who waits for it. */
interface PendingRead {
  readonly key: Deno.KvKey;
  id: string;
  readonly waiters: { resolve: (id: string) => void; reject: (error: unknown) => void }[];
}

/** What one write of a batch came to: its stored event, or why it was refused. */
type Outcome =
  | { readonly ok: ChatMessage | ChangeEvent | ModerationEvent }
  | { readonly refused: unknown };

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
  readonly #retention: Retention;
  readonly #clock: Clock;
  readonly #log?: Logger;
  readonly #ownsKv: boolean;
  readonly #queue: Pending[] = [];
  readonly #heads = new Map<string, CachedHead>();
  readonly #sinceTrim = new Map<string, number>();
  readonly #trimEvery: number;
  #draining?: Promise<void>;
  /** Read positions waiting for their commit, by member and room. */
  readonly #reads = new Map<string, PendingRead>();
  #readsDraining?: Promise<void>;
  #trims: Promise<void> = Promise.resolve();
  #closed = false;
  #closing?: Promise<void>;

  /** Wraps an open KV handle; with `ownsKv`, {@link close} closes it too. */
  constructor(
    kv: Deno.Kv,
    options: { retention: Retention; clock?: Clock; ownsKv?: boolean; log?: Logger },
  ) {
    this.#kv = kv;
    this.#retention = options.retention;
    this.#clock = options.clock ?? Date.now;
    this.#log = options.log;
    this.#ownsKv = options.ownsKv ?? false;
    this.#trimEvery = Math.max(1, Math.min(100, Math.floor(options.retention.maxMessages / 10)));
  }

  /** Opens the KV database at `path` (`:memory:` for none; undefined for Deno's default). */
  static async open(
    path: string | undefined,
    options: { retention: Retention; clock?: Clock; log?: Logger },
  ): Promise<KvStore> {
    return new KvStore(await openKvDatabase(path), { ...options, ownsKv: true });
  }

  /**
   * Creates a room; the name index is checked and written in one atomic step (a race for one name
   * has one winner), and the room count is added to in the same step. The cap is checked against
   * the count read just before, so rooms created at the same instant may pass it by as many.
   */
  async createRoom(room: Room, options: { readonly maxRooms?: number } = {}): Promise<Room> {
    const nameEntry = [ROOM_NAME, nameKey(room.name)];
    if (options.maxRooms !== undefined) {
      const count = await this.#guard(() => this.#kv.get<Deno.KvU64>([ROOM_COUNT]));
      if ((count.value?.value ?? 0n) >= BigInt(options.maxRooms)) throw roomsFull(options.maxRooms);
    }
    const result = await this.#guard(() =>
      this.#kv.atomic()
        .check({ key: nameEntry, versionstamp: null })
        .set(nameEntry, room.id)
        .set([ROOM, room.id], room)
        .sum([ROOM_COUNT], 1n)
        .commit()
    );
    if (result.ok) return room;
    const existing = await this.#guard(() => this.#kv.get<string>(nameEntry));
    throw new ChatError("room_exists", `a room named '${room.name}' exists`, {
      id: existing.value,
    });
  }

  /** A secret made by the first handle to ask (a commit that only succeeds where none exists). */
  async secret(name: string): Promise<Uint8Array> {
    const key = [SECRET, name];
    for (;;) {
      const entry = await this.#guard(() => this.#kv.get<Uint8Array>(key));
      if (entry.value) return entry.value;
      const made = crypto.getRandomValues(new Uint8Array(32));
      const result = await this.#guard(() =>
        this.#kv.atomic().check({ key, versionstamp: null }).set(key, made).commit()
      );
      if (result.ok) return made;
    }
  }

  /**
   * Removes a room that never had an event, in one commit checked against its head (an append in
   * the meantime makes it fail) and against the count it lowers.
   */
  async deleteEmptyRoom(id: string): Promise<boolean> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const [room, head, count] = await this.#guard(() =>
        this.#kv.getMany<[Room, LogPosition, Deno.KvU64]>([[ROOM, id], [HEAD, id], [ROOM_COUNT]])
      );
      if (!room.value || (head.value?.seq ?? 0) > 0) return false;
      const left = (count.value?.value ?? 1n) - 1n;
      const result = await this.#guard(() =>
        this.#kv.atomic()
          .check(room, head, count)
          .delete([ROOM, id])
          .delete([ROOM_NAME, nameKey(room.value!.name)])
          .set([ROOM_COUNT], new Deno.KvU64(left < 0n ? 0n : left))
          .commit()
      );
      if (result.ok) return true;
    }
    return false; // the room kept changing: leave it for the next sweep
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

  /** Rooms oldest first (ids are ULIDs), or a page of them, as one range read. */
  listRooms(page: RoomPage = {}): Promise<Room[]> {
    return this.#guard(async () => {
      const rooms: Room[] = [];
      const selector = page.after === undefined
        ? { prefix: [ROOM] }
        : { prefix: [ROOM], start: [ROOM, page.after] };
      for await (const entry of this.#kv.list<Room>(selector)) {
        if (page.after !== undefined && entry.value.id <= page.after) continue;
        rooms.push(entry.value);
        if (page.limit !== undefined && rooms.length >= page.limit) break;
      }
      return rooms;
    });
  }

  /** The room's moderation state. */
  async roomAccess(room: string): Promise<RoomAccess> {
    const entry = await this.#guard(() => this.#kv.get<RoomAccess>([ACCESS, room]));
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
          const outcomes = await this.#commitBatch(batch);
          batch.forEach((pending, i) => {
            const outcome = outcomes[i];
            if ("refused" in outcome) pending.reject(outcome.refused);
            // Each outcome is of its pending's kind (an append's message, a change's event).
            else {
              (pending.resolve as (stored: ChatMessage | ChangeEvent | ModerationEvent) => void)(
                outcome.ok,
              );
            }
          });
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
      const used = await retryBusy(() => this.#usedKeys(batch));
      // Read after the heads: a commit checked against them saw these records as they are.
      const targets = await retryBusy(() => this.#targets(batch));
      const accesses = await retryBusy(() => this.#accesses(batch));
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
      const outcomes = batch.map((pending): Outcome => {
        const at = positions.get(pending.room)!;
        if ("access" in pending) {
          try {
            const { access, event } = applyAccess(
              accesses.get(pending.room) ?? {},
              pending.access,
              at,
            );
            accesses.set(pending.room, access);
            changedAccess.add(pending.room);
            op.set([MESSAGE, pending.room, event.logId], event);
            positions.set(pending.room, { seq: event.seq, id: event.logId });
            return { ok: event };
          } catch (error) {
            return { refused: error };
          }
        }
        if ("change" in pending) {
          try {
            const target = targets.get(recordKey(pending.room, pending.change.target));
            const { record, event } = applyChange(target, pending.change, at);
            update(record);
            if (pending.change.kind === "delete" && target?.thread !== undefined) {
              const root = uncountReply(targets.get(recordKey(pending.room, target.thread)));
              if (root) update(root);
            }
            op.set([MESSAGE, pending.room, event.logId], event);
            positions.set(pending.room, { seq: event.seq, id: event.logId });
            return { ok: event };
          } catch (error) {
            return { refused: error };
          }
        }
        const { draft, key } = pending;
        const keyed = key === undefined ? undefined : [IDEMPOTENCY, draft.room, key];
        const first = keyed && used.get(keyed.join("\u0000"));
        if (first) return { ok: first };
        const id = nextLogId(at.id, draft.id);
        let message: ChatMessage = { ...draft, id, ts: logTime(id), seq: at.seq + 1 };
        if (message.replyTo !== undefined) {
          try {
            const target = targets.get(recordKey(draft.room, message.replyTo));
            const root = target && targets.get(recordKey(draft.room, threadOf(target)));
            const reply = applyReply({ ...message, replyTo: message.replyTo }, target, root);
            message = reply.message;
            if (reply.root) update(reply.root);
          } catch (error) {
            return { refused: error };
          }
        }
        positions.set(draft.room, { seq: message.seq, id });
        op.set([MESSAGE, draft.room, id], message);
        if (keyed) {
          // The same key twice in one batch: the second gets the first's message.
          used.set(keyed.join("\u0000"), message);
          op.check({ key: keyed, versionstamp: null });
          op.set(keyed, message, { expireIn: IDEMPOTENCY_TTL_MS });
        }
        return { ok: message };
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

  /**
   * The records of the messages the batch's changes and replies target, and of the threads'
   * first messages they touch, kept by retention, by {@link recordKey}; a missing or dropped one
   * is absent.
   */
  async #targets(batch: Pending[]): Promise<Map<string, MessageRecord>> {
    const found = new Map<string, MessageRecord>();
    const ids = batch.flatMap((p): [string, string][] => {
      if ("change" in p) return [[p.room, p.change.target]];
      if (!("draft" in p) || p.draft.replyTo === undefined) return [];
      return [[p.room, p.draft.replyTo]];
    });
    await this.#readRecords(ids, found);
    // Second round: the first messages of the threads those records are in.
    const roots = [...found.values()].flatMap((r): [string, string][] =>
      r.thread === undefined || found.has(recordKey(r.room, r.thread)) ? [] : [[r.room, r.thread]]
    );
    await this.#readRecords(roots, found);
    return found;
  }

  /** The access records of the rooms the batch's moderation actions change, by room. */
  async #accesses(batch: Pending[]): Promise<Map<string, RoomAccess>> {
    const rooms = [...new Set(batch.flatMap((p) => "access" in p ? [p.room] : []))];
    const found = new Map<string, RoomAccess>();
    for (let i = 0; i < rooms.length; i += GET_MANY) {
      const chunk = rooms.slice(i, i + GET_MANY);
      const entries = await this.#kv.getMany<RoomAccess[]>(chunk.map((room) => [ACCESS, room]));
      entries.forEach((entry, j) => found.set(chunk[j], entry.value ?? {}));
    }
    return found;
  }

  /** Reads message records by room and id into `found` (retention applied), ten keys a call. */
  async #readRecords(ids: [string, string][], found: Map<string, MessageRecord>): Promise<void> {
    const keys = ids.map(([room, id]) => [MESSAGE, room, id] as Deno.KvKey);
    for (let i = 0; i < keys.length; i += GET_MANY) {
      const entries = await this.#kv.getMany<LogRecord[]>(keys.slice(i, i + GET_MANY));
      for (const entry of entries) {
        const record = entry.value;
        if (!record || !isMessage(record)) continue;
        const cached = this.#heads.get(record.room)?.position;
        if (cached && !keeps(this.#retention, cached, this.#clock())(record)) continue;
        found.set(recordKey(record.room, record.id), record);
      }
    }
  }

  /** The messages already stored under the batch's idempotency keys, by room and key. */
  async #usedKeys(batch: Pending[]): Promise<Map<string, ChatMessage>> {
    const keys = batch.flatMap((p) =>
      "key" in p && p.key !== undefined ? [[IDEMPOTENCY, p.room, p.key] as Deno.KvKey] : []
    );
    const used = new Map<string, ChatMessage>();
    for (let i = 0; i < keys.length; i += GET_MANY) {
      const entries = await this.#kv.getMany<ChatMessage[]>(keys.slice(i, i + GET_MANY));
      for (const entry of entries) {
        if (entry.value) used.set(entry.key.join("\u0000"), entry.value);
      }
    }
    return used;
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

  /** The room's newest `seq` and id, as committed by any handle. */
  async head(room: string): Promise<LogPosition> {
    const entry = await this.#guard(() => this.#kv.get<LogPosition>([HEAD, room]));
    return entry.value ?? EMPTY_LOG;
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

  /** Deletes what retention no longer keeps in a room, oldest first. */
  async trim(room: string): Promise<void> {
    while (await this.#trimChunk(room));
  }

  /**
   * The background trim: one chunk of deletes at a time with a pause between chunks, so that a
   * room with a large backlog to drop (after a burst) does not hold the database's write lock in
   * one long run while messages wait to commit (it showed as p99 spikes after saturation).
   * Reads apply retention themselves, so deleting late changes nothing they return.
   */
  async #trimPaced(room: string): Promise<void> {
    while (!this.#closed && await retryBusy(() => this.#trimChunk(room))) {
      await new Promise((resolve) => setTimeout(resolve, TRIM_PAUSE_MS));
    }
  }

  /** Deletes one chunk of what retention dropped; true if more may remain. */
  async #trimChunk(room: string): Promise<boolean> {
    const kept = keeps(this.#retention, await this.head(room), this.#clock());
    const doomed: Deno.KvKey[] = [];
    const list = this.#kv.list<LogRecord>({ prefix: [MESSAGE, room] }, { limit: DELETE_CHUNK });
    for await (const entry of list) {
      if (kept(entry.value)) break;
      doomed.push(entry.key);
    }
    if (doomed.length === 0) return false;
    const op = this.#kv.atomic();
    for (const key of doomed) op.delete(key);
    op.set([TRIMMED, room], doomed[doomed.length - 1][2]);
    await op.commit();
    return doomed.length === DELETE_CHUNK;
  }

  /**
   * A page of history (messages in their current state, changes skipped), oldest first, as one
   * range read; retention is applied as it reads.
   */
  readMessages(room: string, query: MessageQuery): Promise<MessagePage> {
    return this.#guard(async () => {
      const kept = await this.#keeps(room);
      const prefix = [MESSAGE, room];
      const messages: StoredMessage[] = [];
      const batchSize = query.limit + 2;
      if (query.after !== undefined) {
        const selector = { prefix, start: [MESSAGE, room, query.after] };
        // What retention drops is a prefix of the room: skip it, then take a page and one more.
        for await (const e of this.#kv.list<LogRecord>(selector, { batchSize })) {
          if (e.key[2] as string <= query.after || !kept(e.value) || !isMessage(e.value)) continue;
          messages.push(publicMessage(e.value));
          if (messages.length > query.limit) break;
        }
        return { messages: messages.slice(0, query.limit), more: messages.length > query.limit };
      }
      const selector = query.before === undefined
        ? { prefix }
        : { prefix, end: [MESSAGE, room, query.before] };
      for await (const e of this.#kv.list<LogRecord>(selector, { batchSize, reverse: true })) {
        if (!kept(e.value)) break; // everything older is dropped too
        if (!isMessage(e.value)) continue;
        messages.push(publicMessage(e.value));
        if (messages.length > query.limit) break;
      }
      const more = messages.length > query.limit;
      return { messages: messages.slice(0, query.limit).reverse(), more };
    });
  }

  /** A page of the log (messages and changes) after a log id, in `seq` order, as one range read. */
  readLog(room: string, query: { after: string; limit: number }): Promise<LogPage> {
    return this.#guard(async () => {
      const kept = await this.#keeps(room);
      const entries: LogEntry[] = [];
      const selector = { prefix: [MESSAGE, room], start: [MESSAGE, room, query.after] };
      for await (
        const e of this.#kv.list<LogRecord>(selector, { batchSize: query.limit + 2 })
      ) {
        if (e.key[2] as string <= query.after || !kept(e.value)) continue;
        entries.push(publicEntry(e.value));
        if (entries.length > query.limit) break;
      }
      return { entries: entries.slice(0, query.limit), more: entries.length > query.limit };
    });
  }

  async #keeps(room: string): Promise<(entry: { seq: number; ts: number }) => boolean> {
    return keeps(this.#retention, await this.head(room), this.#clock());
  }

  /** Where the member stopped reading in the room. */
  async readPosition(memberId: string, room: string): Promise<string | undefined> {
    const entry = await this.#guard(() => this.#kv.get<string>([READ, memberId, room]));
    return entry.value ?? undefined;
  }

  /**
   * Moves the member's read position forward. Positions asked meanwhile go together: one read of
   * their keys and one commit checked against what it read for up to 100 of them (a conflict
   * retries only those), so that many members reading cost a few commits, not one each.
   */
  markRead(memberId: string, room: string, id: string): Promise<string> {
    if (this.#closed) return Promise.reject(storeFailed(new Error("the store is closed")));
    const key = `${memberId}\u0000${room}`;
    return new Promise((resolve, reject) => {
      const pending = this.#reads.get(key);
      if (pending) {
        if (id > pending.id) pending.id = id;
        pending.waiters.push({ resolve, reject });
        return;
      }
      this.#reads.set(key, { key: [READ, memberId, room], id, waiters: [{ resolve, reject }] });
      this.#readsDraining ??= this.#drainReads();
    });
  }

  async #drainReads(): Promise<void> {
    try {
      while (this.#reads.size > 0) {
        const batch = [...this.#reads.values()].slice(0, MAX_BATCH_CHECKS);
        for (const pending of batch) this.#reads.delete(pending.key.slice(1).join("\u0000"));
        try {
          await this.#commitReads(batch);
        } catch (error) {
          for (const pending of batch) {
            for (const waiter of pending.waiters) waiter.reject(storeFailed(error));
          }
        }
      }
    } finally {
      this.#readsDraining = undefined;
    }
  }

  /** Commits a batch of read positions, each only forward, retrying those another handle moved. */
  async #commitReads(batch: PendingRead[]): Promise<void> {
    let left = batch;
    for (let attempt = 0; attempt < MAX_CONFLICTS && left.length > 0; attempt++) {
      const entries: Deno.KvEntryMaybe<string>[] = [];
      for (let i = 0; i < left.length; i += GET_MANY) {
        entries.push(
          ...await retryBusy(() =>
            this.#kv.getMany<string[]>(left.slice(i, i + GET_MANY).map((p) => p.key))
          ),
        );
      }
      const op = this.#kv.atomic();
      const moving: PendingRead[] = [];
      left.forEach((pending, i) => {
        const current = entries[i].value;
        if (current !== null && current >= pending.id) {
          for (const waiter of pending.waiters) waiter.resolve(current);
          return;
        }
        op.check(entries[i]).set(pending.key, pending.id, { expireIn: READ_POSITION_TTL_MS });
        moving.push(pending);
      });
      if (moving.length === 0) return;
      const result = await retryBusy(() => op.commit());
      if (result.ok) {
        for (const pending of moving) {
          for (const waiter of pending.waiters) waiter.resolve(pending.id);
        }
        return;
      }
      left = moving; // another handle moved one of them: read again
    }
    throw new Error("the read positions kept moving");
  }

  /** The newest id retention dropped from the room, deleted yet or not. */
  trimmedThrough(room: string): Promise<string | undefined> {
    return this.#guard(async () => {
      const kept = await this.#keeps(room);
      let newest: string | undefined;
      for await (const e of this.#kv.list<LogRecord>({ prefix: [MESSAGE, room] })) {
        if (kept(e.value)) break;
        newest = e.key[2] as string;
      }
      return newest ?? (await this.#kv.get<string>([TRIMMED, room])).value ?? undefined;
    });
  }

  /** Commits what is queued, waits for trims, then closes the handle if this store opened it (once). */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      this.#closed = true;
      await this.#draining;
      await this.#readsDraining;
      await this.#trims;
      if (this.#ownsKv) this.#kv.close();
    })();
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
