import { ChatError } from "../../core/errors.ts";
import type { LogPosition } from "../../core/log_order.ts";
import { isMessage, type MessageChange, type MessageRecord } from "../../core/message_changes.ts";
import {
  type AppendOptions,
  IDEMPOTENCY_TTL_MS,
  READ_POSITION_TTL_MS,
  type RoomPage,
  type Store,
} from "../../core/store.ts";
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
import { storeFailed } from "../store_errors.ts";
import { guarded } from "./redis_guard.ts";
import { RedisKeys } from "./redis_keys.ts";
import { RedisLog } from "./redis_log.ts";
import { Replicas } from "./redis_replicas.ts";
import { RedisRooms } from "./redis_rooms.ts";
import type { RedisLink } from "./redis_link.ts";
import { appendScript, MARK_READ } from "./redis_scripts.ts";
import { keeps, type Retention } from "../retention.ts";
import {
  applyWrite,
  type BatchBuilder,
  fail,
  idempotencyKeys,
  type Outcome,
  type PendingWrite,
  settle,
  targetIds,
} from "../batch_writes.ts";

/** Where a room's access record lives: a field of the room's data hash (never a log id). */
const ACCESS_FIELD = "access";

/**
 * How committed entries are announced: the channel of a room, and what is published there for
 * an entry (`text`: its JSON). The bus gives both (see `RedisBus.announcer`), so that the store
 * publishes exactly what the bus's subscribers read.
 */
export interface Announce {
  /** The pub/sub channel of a room's events. */
  channel(room: string): string;
  /** The message published for a committed entry. */
  payload(room: string, entry: ChatMessage | ChangeEvent | ModerationEvent, text: string): string;
}

/** Settings of a {@link RedisStore}. */
export interface RedisStoreOptions {
  /** How much history a room keeps. */
  readonly retention: Retention;
  /** Time (for the age rule). */
  readonly clock?: Clock;
  /** Structured log lines (trim failures). */
  readonly log?: Logger;
  /** The key layout (its prefix). */
  readonly keys?: RedisKeys;
  /**
   * Announces each committed entry: in the script that appends it, or, when the store waits for
   * replicas, once they have it (readers then never see an event a failover could lose).
   */
  readonly announce?: Announce;
  /** Whether {@link RedisStore.close} closes the link too. */
  readonly ownsLink?: boolean;
  /**
   * Replicas that must have each append before it is acknowledged (`WAIT`; 0: none). Without,
   * a failover can lose the last writes Redis acknowledged.
   */
  readonly waitReplicas?: number;
  /** How long an append waits for them before it fails, in ms. */
  readonly waitTimeoutMs?: number;
}

/** Writes of one room sent in one script call at most. */
const MAX_BATCH = 200;
/** Tries before an append gives up because other processes keep moving the room's head. */
const MAX_CONFLICTS = 64;

/**
 * Rooms and history in Redis, designed after Centrifugo's Redis engine: each room's log is a
 * sorted set of ids (all scores 0, so ordered by id, which is `seq` order) and a hash of entries,
 * beside a head hash (`seq`, last id). One Lua script per batch checks that the head is where this
 * process last saw it, appends, publishes each entry on the room's channel, moves the head and
 * trims by count — so an acknowledged message is in Redis and announced, atomically (with
 * `waitReplicas`, announced once the replicas have it: see `Replicas`). A process that lost a race
 * reads the new head from the script's answer and retries. Writes of one room go one batch at a
 * time, in call order; different rooms go in parallel (each its own hash tag: on a Cluster, each
 * on the shard of its slot). The batch's entries are built by `applyWrite`, as on Deno KV.
 */
export class RedisStore implements Store {
  readonly #link: RedisLink;
  readonly #keys: RedisKeys;
  readonly #rooms: RedisRooms;
  readonly #logs: RedisLog;
  readonly #retention: Retention;
  readonly #clock: Clock;
  readonly #log?: Logger;
  readonly #announce?: Announce;
  readonly #ownsLink: boolean;
  readonly #replicas: Replicas;
  readonly #append: string;
  readonly #queues = new Map<string, PendingWrite[]>();
  readonly #draining = new Map<string, Promise<void>>();
  readonly #heads = new Map<string, LogPosition>();
  readonly #sinceTrim = new Map<string, number>();
  readonly #trimEvery: number;
  #trims: Promise<void> = Promise.resolve();
  #closed = false;
  #closing?: Promise<void>;

  /** A store over a connected link (one Redis or a Cluster). */
  constructor(link: RedisLink, options: RedisStoreOptions) {
    this.#link = link;
    this.#keys = options.keys ?? new RedisKeys();
    this.#retention = options.retention;
    this.#clock = options.clock ?? Date.now;
    this.#log = options.log;
    this.#announce = options.announce;
    this.#ownsLink = options.ownsLink ?? false;
    this.#replicas = new Replicas(
      link,
      options.waitReplicas ?? 0,
      this.#clock,
      options.waitTimeoutMs,
    );
    this.#append = appendScript(link.publishCommand);
    this.#rooms = new RedisRooms(link, this.#keys);
    this.#logs = new RedisLog(link, this.#keys, this.#retention, this.#clock);
    this.#trimEvery = Math.max(1, Math.min(100, Math.floor(options.retention.maxMessages / 10)));
  }

  // ---- rooms and reads (redis_rooms.ts, redis_log.ts) ---------------------------------------

  /** Creates a room; the name, the count and the cap are checked in one script. */
  createRoom(room: Room, options: { readonly maxRooms?: number } = {}): Promise<Room> {
    return this.#rooms.createRoom(room, options);
  }

  /** A secret made by the first process to ask. */
  secret(name: string): Promise<Uint8Array> {
    return this.#rooms.secret(name);
  }

  /** Removes a room that never had an event (see `RedisRooms.deleteEmptyRoom`). */
  async deleteEmptyRoom(id: string): Promise<boolean> {
    const removed = await this.#rooms.deleteEmptyRoom(id);
    this.#heads.delete(id);
    return removed;
  }

  /** The room with this id. */
  getRoom(id: string): Promise<Room | undefined> {
    return this.#rooms.getRoom(id);
  }

  /** The room with this name (case-insensitive). */
  findRoomByName(name: string): Promise<Room | undefined> {
    return this.#rooms.findRoomByName(name);
  }

  /** Rooms oldest first, or a page of them after the room id `after`. */
  listRooms(page: RoomPage = {}): Promise<Room[]> {
    return this.#rooms.listRooms(page);
  }

  /** The room's newest `seq` and id, as committed by any process. */
  head(room: string): Promise<LogPosition> {
    return this.#logs.head(room);
  }

  /** A page of the log after a log id, in `seq` order, retention applied. */
  readLog(room: string, query: { after: string; limit: number }): Promise<LogPage> {
    return this.#logs.readLog(room, query);
  }

  /** A page of history (messages in their current state, changes skipped), oldest first. */
  readMessages(room: string, query: MessageQuery): Promise<MessagePage> {
    return this.#logs.readMessages(room, query);
  }

  /** The newest id retention dropped from the room, deleted yet or not. */
  trimmedThrough(room: string): Promise<string | undefined> {
    return this.#logs.trimmedThrough(room);
  }

  /** Deletes the oldest entries that retention no longer keeps. */
  trim(room: string): Promise<void> {
    return this.#logs.trim(room);
  }

  // ---- writes --------------------------------------------------------------------------------

  /** Queues an append; resolves with the stored message once its script has run. */
  appendMessage(draft: MessageDraft, options: AppendOptions = {}): Promise<ChatMessage> {
    if (this.#closed) return Promise.reject(storeFailed(new Error("the store is closed")));
    return new Promise((resolve, reject) => {
      this.#enqueue({ room: draft.room, draft, key: options.idempotencyKey, resolve, reject });
    });
  }

  /** Queues a change with the room's appends (the rule: `applyChange`). */
  changeMessage(change: MessageChange): Promise<ChangeEvent> {
    if (this.#closed) return Promise.reject(storeFailed(new Error("the store is closed")));
    return new Promise((resolve, reject) =>
      this.#enqueue({ room: change.room, change, resolve, reject })
    );
  }

  #enqueue(pending: PendingWrite): void {
    const { room } = pending;
    let queue = this.#queues.get(room);
    if (!queue) this.#queues.set(room, queue = []);
    queue.push(pending);
    if (!this.#draining.has(room)) this.#draining.set(room, this.#drain(room, queue));
  }

  async #drain(room: string, queue: PendingWrite[]): Promise<void> {
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, MAX_BATCH);
        try {
          settle(batch, await this.#commit(room, batch));
        } catch (error) {
          // The head this process knew may be stale now: read it again next time.
          this.#heads.delete(room);
          fail(batch, error);
        }
      }
    } finally {
      // No await between the last emptiness check and here, so no write can be stranded.
      this.#draining.delete(room);
      this.#queues.delete(room);
    }
  }

  /** Builds the batch on the head this process knows and runs the script until it commits. */
  async #commit(room: string, batch: PendingWrite[]): Promise<Outcome[]> {
    const k = this.#keys;
    this.#replicas.admit(room);
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
      const head = this.#heads.get(room) ?? await this.head(room);
      const [used, targets, accessRead] = await Promise.all([
        this.#logs.stored(room, idempotencyKeys(batch)),
        this.#logs.records(room, targetIds(batch)),
        batch.some((p) => "access" in p) ? this.roomAccess(room) : undefined,
      ]);
      let access = accessRead;
      const kept = keeps(this.#retention, head, this.#clock());
      const entries: string[] = [];
      /** What announces each new entry, when the store publishes after the replicas have it. */
      const later: string[] = [];
      const updates = new Map<string, MessageRecord>();
      /** Messages appended earlier in this batch: a change later in it may target one. */
      const appended = new Map<string, MessageRecord>();
      const claims: { key: string; value: string }[] = [];
      const builder: BatchBuilder = {
        record: (_room, id) => {
          const found = updates.get(id) ?? appended.get(id) ?? targets.get(id);
          return found && kept(found) ? found : undefined;
        },
        update: (record) => updates.set(record.id, record),
        access: () => access ?? {},
        setAccess: (_room, next) => access = next,
        used: (_room, key) => used.get(key),
        claim: (_room, key, message) => {
          used.set(key, message);
          claims.push({ key, value: JSON.stringify(message) });
        },
        append: (_room, id, entry) => {
          if (isMessage(entry)) appended.set(id, entry);
          this.#entryArgs(room, id, entry, entries, later);
        },
      };
      let at = head;
      const outcomes = batch.map((pending) => {
        const applied = applyWrite(pending, at, builder);
        at = applied.at;
        return applied.outcome;
      });
      if (entries.length === 0) return outcomes;
      // Written after the entries: a message appended and changed in one batch ends changed.
      const changed: [string, unknown][] = [...updates];
      if (access !== accessRead) changed.push([ACCESS_FIELD, access]);
      const keys = [k.head(room), k.ids(room), k.data(room), k.trimmed(room)];
      for (const claim of claims) keys.push(k.idempotency(room, claim.key));
      const args = [
        String(head.seq),
        String(this.#retention.maxMessages),
        this.#announce?.channel(room) ?? "",
        String(entries.length / 3),
        String(changed.length),
        String(claims.length),
        ...entries,
        ...changed.flatMap(([id, record]) => [id, JSON.stringify(record)]),
        ...claims.flatMap((claim) => [claim.value, String(IDEMPOTENCY_TTL_MS)]),
        String(at.seq),
        at.id ?? "",
      ];
      const reply = await this.#script(this.#append, keys, args) as [number, string?, string?];
      if (reply[0] === 1) {
        this.#heads.set(room, at);
        this.#noteWrites(room, at.seq - head.seq);
        if (this.#replicas.wanted > 0) {
          await this.#replicas.confirm(room, keys[0], this.#announce?.channel(room), later);
        }
        return outcomes;
      }
      if (reply[0] === -2) throw new ChatError("no_such_room", `the room '${room}' was removed`);
      if (reply[0] === 0) {
        this.#heads.set(room, { seq: Number(reply[1]), id: reply[2] || undefined });
      }
      // -1: an idempotency key was taken meanwhile; it is read again on the next try.
    }
    throw new Error(`the room's head kept moving (${MAX_CONFLICTS} attempts)`);
  }

  /**
   * Adds the script arguments of one new log entry to `entries`: id, JSON, and what to publish —
   * or "" when the store publishes once replicas have it (then the payload goes to `later`).
   */
  #entryArgs(
    room: string,
    id: string,
    entry: ChatMessage | ChangeEvent | ModerationEvent,
    entries: string[],
    later: string[],
  ): void {
    const json = JSON.stringify(entry);
    const payload = this.#announce?.payload(room, entry, json) ?? "";
    if (this.#replicas.wanted > 0 && payload !== "") {
      later.push(payload);
      entries.push(id, json, "");
    } else entries.push(id, json, payload);
  }

  // ---- retention by age ---------------------------------------------------------------------

  /** Every `trimEvery` writes of a room, deletes in the background what the age rule drops. */
  #noteWrites(room: string, n: number): void {
    if (this.#retention.maxAgeMs <= 0) return; // the append script trims by count itself
    const count = (this.#sinceTrim.get(room) ?? 0) + n;
    if (count < this.#trimEvery) {
      this.#sinceTrim.set(room, count);
      return;
    }
    this.#sinceTrim.delete(room);
    this.#trims = this.#trims.then(() => this.trim(room)).catch((error) =>
      this.#log?.("redis_trim_failed", { room, error: String(error) })
    );
  }

  /** The room's moderation state (a field of the room's data hash). */
  async roomAccess(room: string): Promise<RoomAccess> {
    const data = this.#keys.data(room);
    const json = await this.#guard(() => this.#command(["HGET", data, ACCESS_FIELD], data));
    return typeof json === "string" ? JSON.parse(json) as RoomAccess : {};
  }

  /** Queues a moderation action with the room's appends (the rule: `applyAccess`). */
  changeAccess(access: AccessChange): Promise<ModerationEvent> {
    if (this.#closed) return Promise.reject(storeFailed(new Error("the store is closed")));
    return new Promise((resolve, reject) =>
      this.#enqueue({ room: access.room.id, access, resolve, reject })
    );
  }

  /** Where the member stopped reading in the room. */
  async readPosition(memberId: string, room: string): Promise<string | undefined> {
    const key = this.#keys.readPosition(memberId, room);
    const value = await this.#guard(() => this.#command(["GET", key], key));
    return typeof value === "string" ? value : undefined;
  }

  /** Moves the member's read position forward (one script: never back). */
  async markRead(memberId: string, room: string, id: string): Promise<string> {
    if (this.#closed) throw storeFailed(new Error("the store is closed"));
    const key = this.#keys.readPosition(memberId, room);
    return String(
      await this.#guard(() => this.#script(MARK_READ, [key], [id, String(READ_POSITION_TTL_MS)])),
    );
  }

  // ---- plumbing ------------------------------------------------------------------------------

  /** Waits for queued writes and trims, then closes the client if this store owns it (once). */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      this.#closed = true;
      await Promise.all(this.#draining.values());
      await this.#trims;
      if (this.#ownsLink) await this.#link.close();
    })();
  }

  /** Sends a command; `key` routes it on a Cluster. */
  #command(args: string[], key: string): Promise<unknown> {
    return this.#link.send(args, key);
  }

  /** Runs a script on the node of its first key. */
  #script(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.#link.script(script, keys, args);
  }

  #guard<T>(work: () => Promise<T>): Promise<T> {
    return guarded(work);
  }
}
