import { ChatError } from "../../core/errors.ts";
import { EMPTY_LOG, type LogPosition, logTime, nextLogId } from "../../core/log_order.ts";
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
import { nameKey } from "../../core/names.ts";
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
  StoredMessage,
} from "../../core/types.ts";
import { applyReply, threadOf, uncountReply } from "../../core/replies.ts";
import {
  type AccessChange,
  applyAccess,
  type ModerationEvent,
  type RoomAccess,
} from "../../core/room_access.ts";
import { roomsFull, storeFailed } from "../store_errors.ts";
import { RedisKeys } from "./redis_keys.ts";
import type { RedisLink } from "./redis_link.ts";
import {
  appendScript,
  CREATE_ROOM,
  DROP_ROOM,
  MARK_READ,
  SEAL_ROOM,
  TRIM,
} from "./redis_scripts.ts";
import { keeps, type Retention } from "../retention.ts";

/** A write waiting for its room's next script call: a message to append, or a change to one. */
type Pending =
  & { readonly reject: (error: unknown) => void }
  & (
    | {
      readonly draft: MessageDraft;
      readonly key?: string;
      readonly resolve: (stored: ChatMessage) => void;
    }
    | { readonly change: MessageChange; readonly resolve: (stored: ChangeEvent) => void }
    | { readonly access: AccessChange; readonly resolve: (stored: ModerationEvent) => void }
  );

/** Where a room's access record lives: a field of the room's data hash (never a log id). */
const ACCESS_FIELD = "access";

type Outcome = { readonly ok: ChatMessage | ChangeEvent | ModerationEvent } | {
  readonly refused: unknown;
};

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

/** How long an append waits for replicas unless told, in ms. */
export const WAIT_TIMEOUT_MS = 1000;

/**
 * How long a room's writes are refused at once after its replicas did not confirm one, in ms
 * (each refused write would otherwise wait the whole `WAIT` timeout to fail).
 */
const UNDER_REPLICATED_MS = 1000;

/** How long a sealed (removed) room's head stays, in ms: appends to it are refused meanwhile. */
const SEALED_TTL_MS = 24 * 60 * 60_000;

/** Writes of one room sent in one script call at most. */
const MAX_BATCH = 200;
/** Tries before an append gives up because other processes keep moving the room's head. */
const MAX_CONFLICTS = 64;
const READ_PAGE = 200;

/**
 * Rooms and history in Redis, designed after Centrifugo's Redis engine: each room's log is a
 * sorted set of ids (all scores 0, so ordered by id, which is `seq` order) and a hash of entries,
 * beside a head hash (`seq`, last id). One Lua script per batch checks that the head is where this
 * process last saw it, appends, publishes each entry on the room's channel, moves the head and
 * trims by count — so an acknowledged message is in Redis and announced, atomically. A process
 * that lost a race reads the new head from the script's answer and retries. Writes of one room go
 * one batch at a time, in call order; different rooms go in parallel (each its own hash tag).
 */
export class RedisStore implements Store {
  readonly #link: RedisLink;
  readonly #keys: RedisKeys;
  readonly #retention: Retention;
  readonly #clock: Clock;
  readonly #log?: Logger;
  readonly #announce?: Announce;
  readonly #ownsLink: boolean;
  readonly #waitReplicas: number;
  readonly #waitTimeoutMs: number;
  readonly #append: string;
  readonly #queues = new Map<string, Pending[]>();
  readonly #draining = new Map<string, Promise<void>>();
  readonly #heads = new Map<string, LogPosition>();
  readonly #sinceTrim = new Map<string, number>();
  /**
   * Rooms whose replicas did not confirm the last write, until when their writes are refused
   * without being tried (one write a second still tries: it finds out when a replica is back).
   */
  readonly #underReplicated = new Map<string, number>();
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
    this.#waitReplicas = options.waitReplicas ?? 0;
    this.#waitTimeoutMs = options.waitTimeoutMs ?? WAIT_TIMEOUT_MS;
    this.#append = appendScript(link.publishCommand);
    this.#trimEvery = Math.max(1, Math.min(100, Math.floor(options.retention.maxMessages / 10)));
  }

  // ---- rooms ---------------------------------------------------------------------------------

  /** Creates a room; the name, the count and the cap are checked in one script. */
  async createRoom(room: Room, options: { readonly maxRooms?: number } = {}): Promise<Room> {
    const k = this.#keys;
    const reply = await this.#guard(() =>
      this.#script(CREATE_ROOM, [k.roomsByName, k.roomsById, k.roomIds], [
        nameKey(room.name),
        room.id,
        JSON.stringify(room),
        String(options.maxRooms ?? -1),
      ])
    ) as [number, string?];
    if (reply[0] === 1) return room;
    if (reply[0] === -1) throw roomsFull(options.maxRooms!);
    throw new ChatError("room_exists", `a room named '${room.name}' exists`, { id: reply[1] });
  }

  /** A secret made by the first process to ask (SET NX), hex in Redis. */
  async secret(name: string): Promise<Uint8Array> {
    const key = this.#keys.secret(name);
    const made = Array.from(crypto.getRandomValues(new Uint8Array(32)))
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    await this.#guard(() => this.#command(["SET", key, made, "NX"], key));
    const hex = await this.#guard(() => this.#command(["GET", key], key)) as string;
    return Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
  }

  /**
   * Removes a room that never had an event, in two scripts (the room's head and the directory are
   * in different slots of a Cluster): the first seals the head unless the room has events — from
   * then on no append lands — and the second takes the room out of the directory.
   */
  async deleteEmptyRoom(id: string): Promise<boolean> {
    const room = await this.getRoom(id);
    if (!room) return false;
    const k = this.#keys;
    const sealed = await this.#guard(() =>
      this.#script(SEAL_ROOM, [k.head(id)], [String(SEALED_TTL_MS)])
    );
    if (sealed !== 1) return false;
    this.#heads.delete(id);
    const reply = await this.#guard(() =>
      this.#script(DROP_ROOM, [k.roomsByName, k.roomsById, k.roomIds], [id, nameKey(room.name)])
    );
    return reply === 1;
  }

  /** The room with this id. */
  async getRoom(id: string): Promise<Room | undefined> {
    const k = this.#keys;
    const json = await this.#guard(() => this.#command(["HGET", k.roomsById, id], k.roomsById));
    return typeof json === "string" ? JSON.parse(json) as Room : undefined;
  }

  /** The room with this name (case-insensitive). */
  async findRoomByName(name: string): Promise<Room | undefined> {
    const k = this.#keys;
    const id = await this.#guard(() =>
      this.#command(["HGET", k.roomsByName, nameKey(name)], k.roomsByName)
    );
    return typeof id === "string" ? await this.getRoom(id) : undefined;
  }

  /** Rooms oldest first, or a page of them after the room id `after`. */
  async listRooms(page: RoomPage = {}): Promise<Room[]> {
    const k = this.#keys;
    const start = page.after === undefined ? "-" : `(${page.after}`;
    const limit = page.limit === undefined ? [] : ["LIMIT", "0", String(page.limit)];
    const ids = await this.#guard(() =>
      this.#command(["ZRANGE", k.roomIds, start, "+", "BYLEX", ...limit], k.roomIds)
    ) as string[];
    if (ids.length === 0) return [];
    const rooms = await this.#guard(() =>
      this.#command(["HMGET", k.roomsById, ...ids], k.roomsById)
    ) as (
      | string
      | null
    )[];
    return rooms.flatMap((json) => json ? [JSON.parse(json) as Room] : []);
  }

  // ---- writes --------------------------------------------------------------------------------

  /** Queues an append; resolves with the stored message once its script has run. */
  appendMessage(draft: MessageDraft, options: AppendOptions = {}): Promise<ChatMessage> {
    if (this.#closed) return Promise.reject(storeFailed(new Error("the store is closed")));
    return new Promise((resolve, reject) => {
      this.#enqueue(draft.room, { draft, key: options.idempotencyKey, resolve, reject });
    });
  }

  /** Queues a change with the room's appends (the rule: `applyChange`). */
  changeMessage(change: MessageChange): Promise<ChangeEvent> {
    if (this.#closed) return Promise.reject(storeFailed(new Error("the store is closed")));
    return new Promise((resolve, reject) =>
      this.#enqueue(change.room, { change, resolve, reject })
    );
  }

  #enqueue(room: string, pending: Pending): void {
    let queue = this.#queues.get(room);
    if (!queue) this.#queues.set(room, queue = []);
    queue.push(pending);
    if (!this.#draining.has(room)) this.#draining.set(room, this.#drain(room, queue));
  }

  async #drain(room: string, queue: Pending[]): Promise<void> {
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, MAX_BATCH);
        try {
          const outcomes = await this.#commit(room, batch);
          batch.forEach((pending, i) => {
            const outcome = outcomes[i];
            if ("refused" in outcome) pending.reject(outcome.refused);
            else {(pending.resolve as (
                stored: ChatMessage | ChangeEvent | ModerationEvent,
              ) => void)(outcome.ok);}
          });
        } catch (error) {
          // The head this process knew may be stale now: read it again next time.
          this.#heads.delete(room);
          for (const pending of batch) pending.reject(storeFailed(error));
        }
      }
    } finally {
      // No await between the last emptiness check and here, so no write can be stranded.
      this.#draining.delete(room);
      this.#queues.delete(room);
    }
  }

  /** Builds the batch on the head this process knows and runs the script until it commits. */
  async #commit(room: string, batch: Pending[]): Promise<Outcome[]> {
    const k = this.#keys;
    const until = this.#underReplicated.get(room);
    if (until !== undefined && this.#clock() < until) {
      throw new Error(
        `not stored: the room's shard had fewer than ${this.#waitReplicas} replicas a moment ago`,
      );
    }
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
      const head = this.#heads.get(room) ?? await this.head(room);
      const [used, targets, accessRead] = await Promise.all([
        this.#usedKeys(room, batch),
        this.#targets(room, batch),
        batch.some((p) => "access" in p) ? this.roomAccess(room) : undefined,
      ]);
      let access = accessRead;
      let accessChanged = false;
      const kept = keeps(this.#retention, head, this.#clock());
      let at = head;
      const entries: string[] = [];
      /** What announces each new entry, when the store publishes after the replicas have it. */
      const later: string[] = [];
      const updates = new Map<string, MessageRecord>();
      /** Messages appended earlier in this batch: a change later in it may target one. */
      const appended = new Map<string, MessageRecord>();
      const claims: { key: string; value: string }[] = [];
      /** A message's current state in this batch, if kept. */
      const current = (id: string) => {
        const found = updates.get(id) ?? appended.get(id) ?? targets.get(id);
        return found && kept(found) ? found : undefined;
      };
      const outcomes = batch.map((pending): Outcome => {
        if ("access" in pending) {
          try {
            const applied = applyAccess(access ?? {}, pending.access, at);
            access = applied.access;
            accessChanged = true;
            at = { seq: applied.event.seq, id: applied.event.logId };
            this.#entryArgs(room, applied.event.logId, applied.event, entries, later);
            return { ok: applied.event };
          } catch (error) {
            return { refused: error };
          }
        }
        if ("change" in pending) {
          const target = pending.change.target;
          try {
            const found = current(target);
            const { record, event } = applyChange(found, pending.change, at);
            updates.set(target, record);
            if (pending.change.kind === "delete" && found?.thread !== undefined) {
              const root = uncountReply(current(found.thread));
              if (root) updates.set(root.id, root);
            }
            at = { seq: event.seq, id: event.logId };
            this.#entryArgs(room, event.logId, event, entries, later);
            return { ok: event };
          } catch (error) {
            return { refused: error };
          }
        }
        const { draft, key } = pending;
        const first = key === undefined ? undefined : used.get(key);
        if (first) return { ok: first };
        const id = nextLogId(at.id, draft.id);
        let message: ChatMessage = { ...draft, id, ts: logTime(id), seq: at.seq + 1 };
        if (message.replyTo !== undefined) {
          try {
            const target = current(message.replyTo);
            const root = target && current(threadOf(target));
            const reply = applyReply({ ...message, replyTo: message.replyTo }, target, root);
            message = reply.message;
            if (reply.root) updates.set(reply.root.id, reply.root);
          } catch (error) {
            return { refused: error };
          }
        }
        at = { seq: message.seq, id };
        appended.set(id, message);
        this.#entryArgs(room, id, message, entries, later);
        if (key !== undefined) {
          used.set(key, message);
          claims.push({ key, value: JSON.stringify(message) });
        }
        return { ok: message };
      });
      if (entries.length === 0) return outcomes;
      // Written after the entries: a message appended and changed in one batch ends changed.
      const changed: [string, unknown][] = [...updates];
      if (accessChanged) changed.push([ACCESS_FIELD, access]);
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
        if (this.#waitReplicas > 0) await this.#replicated(room, keys[0], later);
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
    if (this.#waitReplicas > 0 && payload !== "") {
      later.push(payload);
      entries.push(id, json, "");
    } else entries.push(id, json, payload);
  }

  /**
   * Waits until enough replicas have the room's batch, then announces it. When they do not
   * confirm in time (a shard whose replica is gone: after a failover, until a replica is back),
   * the batch fails — it is not acknowledged — but it is in the room's log on the master, so it is
   * announced all the same: readers stay level with history, and a sender retrying with its
   * idempotency key gets the stored message back. For the next second the room's writes are
   * refused at once, unstored; then one is tried again.
   */
  async #replicated(room: string, key: string, payloads: string[]): Promise<void> {
    const wanted = this.#waitReplicas;
    const confirmed = await this.#link.waitReplicas(key, wanted, this.#waitTimeoutMs);
    const channel = this.#announce?.channel(room);
    if (channel !== undefined) {
      for (const payload of payloads) this.#link.publish(channel, payload).catch(() => {});
    }
    if (confirmed >= wanted) {
      this.#underReplicated.delete(room);
      return;
    }
    this.#underReplicated.set(room, this.#clock() + UNDER_REPLICATED_MS);
    throw new Error(
      `stored, but ${confirmed} of ${wanted} replicas confirmed it within ${this.#waitTimeoutMs} ms (not acknowledged)`,
    );
  }

  /** Messages already stored under the batch's idempotency keys, by key. */
  async #usedKeys(room: string, batch: Pending[]): Promise<Map<string, ChatMessage>> {
    const keys = batch.flatMap((p) => "key" in p && p.key !== undefined ? [p.key] : []);
    const used = new Map<string, ChatMessage>();
    if (keys.length === 0) return used;
    const names = keys.map((key) => this.#keys.idempotency(room, key));
    const values = await this.#command(["MGET", ...names], names[0]) as (string | null)[];
    values.forEach((json, i) => {
      if (json) used.set(keys[i], JSON.parse(json) as ChatMessage);
    });
    return used;
  }

  /**
   * The records of the messages the batch's changes and replies target, and of the threads'
   * first messages they touch, by id (missing ones absent).
   */
  async #targets(room: string, batch: Pending[]): Promise<Map<string, MessageRecord>> {
    const ids = batch.flatMap((p) =>
      "change" in p
        ? [p.change.target]
        : !("draft" in p) || p.draft.replyTo === undefined
        ? []
        : [p.draft.replyTo]
    );
    const found = new Map<string, MessageRecord>();
    await this.#readRecords(room, ids, found);
    // Second round: the first messages of the threads those records are in.
    const roots = [...found.values()].flatMap((r) =>
      r.thread === undefined || found.has(r.thread) ? [] : [r.thread]
    );
    await this.#readRecords(room, roots, found);
    return found;
  }

  async #readRecords(room: string, ids: string[], found: Map<string, MessageRecord>) {
    if (ids.length === 0) return;
    const data = this.#keys.data(room);
    const values = await this.#command(["HMGET", data, ...ids], data) as (
      | string
      | null
    )[];
    values.forEach((json, i) => {
      const record = json ? JSON.parse(json) as LogRecord : undefined;
      if (record && isMessage(record)) found.set(ids[i], record);
    });
  }

  // ---- reads ---------------------------------------------------------------------------------

  /** The room's newest `seq` and id, as committed by any process. */
  async head(room: string): Promise<LogPosition> {
    const key = this.#keys.head(room);
    const [seq, id] = await this.#guard(() =>
      this.#command(["HMGET", key, "seq", "id"], key)
    ) as (string | null)[];
    return seq === null ? EMPTY_LOG : { seq: Number(seq), id: id || undefined };
  }

  /** A page of the log after a log id, in `seq` order, retention applied. */
  async readLog(room: string, query: { after: string; limit: number }): Promise<LogPage> {
    const { records, more } = await this.#range(room, `(${query.after}`, "+", query.limit, false);
    return { entries: records.map(publicEntry), more };
  }

  /** A page of history (messages in their current state, changes skipped), oldest first. */
  async readMessages(room: string, query: MessageQuery): Promise<MessagePage> {
    const forward = query.after !== undefined;
    let bound = forward ? `(${query.after}` : query.before === undefined ? "+" : `(${query.before}`;
    const messages: StoredMessage[] = [];
    for (;;) {
      const page = await this.#range(
        room,
        bound,
        forward ? "+" : "-",
        Math.max(READ_PAGE, query.limit + 1),
        !forward,
      );
      for (const record of page.records) {
        if (isMessage(record)) messages.push(publicMessage(record));
        if (messages.length > query.limit) break;
      }
      if (messages.length > query.limit || !page.more || page.records.length === 0) break;
      bound = `(${page.ids[page.ids.length - 1]}`;
    }
    const more = messages.length > query.limit;
    const taken = messages.slice(0, query.limit);
    return { messages: forward ? taken : taken.reverse(), more };
  }

  /**
   * Up to `limit` kept records from `from` towards `to` (by id; `reverse` for newest first), and
   * whether the range goes on. Retention is applied as read: dropped records are skipped.
   */
  async #range(
    room: string,
    from: string,
    to: string,
    limit: number,
    reverse: boolean,
  ): Promise<{ records: LogRecord[]; more: boolean; ids: string[] }> {
    const k = this.#keys;
    const [head, ids] = await Promise.all([
      this.head(room),
      this.#guard(() =>
        this.#command([
          "ZRANGE",
          k.ids(room),
          from,
          to,
          "BYLEX",
          ...(reverse ? ["REV"] : []),
          "LIMIT",
          "0",
          String(limit + 1),
        ], k.ids(room))
      ) as Promise<string[]>,
    ]);
    const more = ids.length > limit;
    const page = ids.slice(0, limit);
    if (page.length === 0) return { records: [], more: false, ids: [] };
    const values = await this.#guard(() =>
      this.#command(["HMGET", k.data(room), ...page], k.data(room))
    ) as (
      | string
      | null
    )[];
    const kept = keeps(this.#retention, head, this.#clock());
    const records: LogRecord[] = [];
    for (const json of values) {
      if (!json) continue; // trimmed between the two reads
      const record = JSON.parse(json) as LogRecord;
      if (kept(record)) records.push(record);
    }
    return { records, more, ids: page };
  }

  /** The newest id retention dropped from the room, deleted yet or not. */
  async trimmedThrough(room: string): Promise<string | undefined> {
    let newest: string | undefined;
    for (let bound = "-";;) {
      const { ids, dropped } = await this.#dropped(room, bound, READ_PAGE);
      if (dropped.length > 0) newest = dropped[dropped.length - 1];
      if (dropped.length === 0 || dropped.length < ids.length) break;
      bound = `(${ids[ids.length - 1]}`;
    }
    if (newest !== undefined) return newest;
    const key = this.#keys.trimmed(room);
    const trimmed = await this.#guard(() => this.#command(["GET", key], key));
    return typeof trimmed === "string" ? trimmed : undefined;
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
      this.#enqueue(access.room.id, { access, resolve, reject })
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

  /** Deletes the oldest entries that retention no longer keeps. */
  async trim(room: string): Promise<void> {
    const k = this.#keys;
    const { dropped } = await this.#dropped(room, "-", 500);
    if (dropped.length > 0) {
      await this.#script(TRIM, [k.ids(room), k.data(room), k.trimmed(room)], dropped);
    }
  }

  /**
   * A page of a room's log ids from `from` (up to `limit`), and those of them retention no longer
   * keeps: always the oldest ones, since what it drops is a prefix of the room.
   */
  async #dropped(
    room: string,
    from: string,
    limit: number,
  ): Promise<{ ids: string[]; dropped: string[] }> {
    const { ids, records } = await this.#range(room, from, "+", limit, false);
    const kept = new Set(records.map(logIdOf));
    const end = ids.findIndex((id) => kept.has(id));
    return { ids, dropped: end < 0 ? ids : ids.slice(0, end) };
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

  async #guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ChatError) throw error;
      throw storeFailed(error);
    }
  }
}
