import { EMPTY_LOG, type LogPosition } from "../../core/log_order.ts";
import {
  isMessage,
  logIdOf,
  type LogRecord,
  type MessageRecord,
  publicEntry,
  publicMessage,
} from "../../core/message_changes.ts";
import type {
  ChatMessage,
  Clock,
  LogPage,
  MessagePage,
  MessageQuery,
  StoredMessage,
} from "../../core/types.ts";
import { keeps, type Retention } from "../retention.ts";
import { guarded } from "./redis_guard.ts";
import type { RedisKeys } from "./redis_keys.ts";
import type { RedisLink } from "./redis_link.ts";
import { TRIM } from "./redis_scripts.ts";

/** Ids read per round trip when paging through a room's log. */
const READ_PAGE = 200;

/**
 * Reading a room's log in Redis (a sorted set of ids, all scores 0, so ordered by id = `seq`, and a
 * hash of entries, beside a head hash), with retention applied as read, and trimming what it
 * drops. Every key of a room shares the room's hash tag: one slot of a Cluster.
 */
export class RedisLog {
  readonly #link: RedisLink;
  readonly #keys: RedisKeys;
  readonly #retention: Retention;
  readonly #clock: Clock;

  /** The logs over `link`, with the key layout `keys`, kept as `retention` says. */
  constructor(link: RedisLink, keys: RedisKeys, retention: Retention, clock: Clock) {
    this.#link = link;
    this.#keys = keys;
    this.#retention = retention;
    this.#clock = clock;
  }

  /** The room's newest `seq` and id, as committed by any process. */
  async head(room: string): Promise<LogPosition> {
    const key = this.#keys.head(room);
    const [seq, id] = await guarded(() =>
      this.#link.send(["HMGET", key, "seq", "id"], key)
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
      guarded(() =>
        this.#link.send([
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
    const values = await guarded(() =>
      this.#link.send(["HMGET", k.data(room), ...page], k.data(room))
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
    const trimmed = await guarded(() => this.#link.send(["GET", key], key));
    return typeof trimmed === "string" ? trimmed : undefined;
  }

  /** Deletes the oldest entries that retention no longer keeps. */
  async trim(room: string): Promise<void> {
    const k = this.#keys;
    const { dropped } = await this.#dropped(room, "-", 500);
    if (dropped.length > 0) {
      await this.#link.script(TRIM, [k.ids(room), k.data(room), k.trimmed(room)], dropped);
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

  /** Messages already stored under these idempotency keys of the room, by key. */
  async stored(room: string, keys: readonly string[]): Promise<Map<string, ChatMessage>> {
    const used = new Map<string, ChatMessage>();
    if (keys.length === 0) return used;
    const names = keys.map((key) => this.#keys.idempotency(room, key));
    const values = await this.#link.send(["MGET", ...names], names[0]) as (string | null)[];
    values.forEach((json, i) => {
      if (json) used.set(keys[i], JSON.parse(json) as ChatMessage);
    });
    return used;
  }

  /**
   * The records of these messages of the room, and of the first messages of the threads they
   * are in, by id (missing ones absent; retention is the caller's to apply).
   */
  async records(room: string, ids: readonly string[]): Promise<Map<string, MessageRecord>> {
    const found = new Map<string, MessageRecord>();
    await this.#readRecords(room, ids, found);
    // Second round: the first messages of the threads those records are in.
    const roots = [...found.values()].flatMap((r) =>
      r.thread === undefined || found.has(r.thread) ? [] : [r.thread]
    );
    await this.#readRecords(room, roots, found);
    return found;
  }

  async #readRecords(room: string, ids: readonly string[], found: Map<string, MessageRecord>) {
    if (ids.length === 0) return;
    const data = this.#keys.data(room);
    const values = await this.#link.send(["HMGET", data, ...ids], data) as (string | null)[];
    values.forEach((json, i) => {
      const record = json ? JSON.parse(json) as LogRecord : undefined;
      if (record && isMessage(record)) found.set(ids[i], record);
    });
  }
}
