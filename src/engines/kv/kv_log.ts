import { EMPTY_LOG, type LogPosition } from "../../core/log_order.ts";
import {
  isMessage,
  type LogRecord,
  publicEntry,
  publicMessage,
} from "../../core/message_changes.ts";
import type {
  Clock,
  LogEntry,
  LogPage,
  MessagePage,
  MessageQuery,
  StoredMessage,
} from "../../core/types.ts";
import { keeps, type Retention } from "../retention.ts";
import { kvGuarded } from "./kv_busy.ts";
import { HEAD, MESSAGE, TRIMMED } from "./kv_keys.ts";
import { type KvGets, kvGets } from "./kv_gets.ts";

/** Keys deleted per commit when trimming. */
const DELETE_CHUNK = 200;

/**
 * Reading a room's log in Deno KV (message keys sorted by room then id, so every page is one range
 * read in `seq` order) with retention applied as read, and deleting what retention drops.
 */
export class KvLog {
  readonly #kv: Deno.Kv;
  /** Its point reads, coalesced with the other parts' (one SQLite thread serves them all). */
  readonly #gets: KvGets;
  readonly #retention: Retention;
  readonly #clock: Clock;

  /** The logs in `kv`, kept as `retention` says. */
  constructor(kv: Deno.Kv, retention: Retention, clock: Clock) {
    this.#kv = kv;
    this.#gets = kvGets(kv);
    this.#retention = retention;
    this.#clock = clock;
  }

  /** The room's newest `seq` and id, as committed by any handle. */
  async head(room: string): Promise<LogPosition> {
    const entry = await kvGuarded(() => this.#gets.get<LogPosition>([HEAD, room]));
    return entry.value ?? EMPTY_LOG;
  }

  /** Deletes what retention no longer keeps in a room, oldest first. */
  async trim(room: string): Promise<void> {
    while (await this.trimChunk(room));
  }

  /** Deletes one chunk of what retention dropped; true if more may remain. */
  async trimChunk(room: string): Promise<boolean> {
    const head = await this.head(room);
    // Without an age limit nothing is dropped until the room holds more than `maxMessages`: no
    // read at all (most rooms, most of the time).
    if (this.#retention.maxAgeMs <= 0 && head.seq <= this.#retention.maxMessages) return false;
    const kept = keeps(this.#retention, head, this.#clock());
    const prefix = [MESSAGE, room];
    // The oldest alone first: when it is kept, so is everything after it (a list reads a whole
    // batch of records before the first is looked at).
    for await (const oldest of this.#kv.list<LogRecord>({ prefix }, { limit: 1 })) {
      if (kept(oldest.value)) return false;
    }
    const doomed: Deno.KvKey[] = [];
    const list = this.#kv.list<LogRecord>({ prefix }, { limit: DELETE_CHUNK });
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
    return kvGuarded(async () => {
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
    return kvGuarded(async () => {
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

  /** The newest id retention dropped from the room, deleted yet or not. */
  trimmedThrough(room: string): Promise<string | undefined> {
    return kvGuarded(async () => {
      const kept = await this.#keeps(room);
      let newest: string | undefined;
      for await (const e of this.#kv.list<LogRecord>({ prefix: [MESSAGE, room] })) {
        if (kept(e.value)) break;
        newest = e.key[2] as string;
      }
      return newest ?? (await this.#kv.get<string>([TRIMMED, room])).value ?? undefined;
    });
  }
}
