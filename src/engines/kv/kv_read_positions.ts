import { READ_POSITION_TTL_MS } from "../../core/store.ts";
import { storeFailed } from "../store_errors.ts";
import { kvGuarded, retryBusy } from "./kv_busy.ts";
import { READ } from "./kv_keys.ts";
import { type KvGets, kvGets } from "./kv_gets.ts";

/** Positions committed together at most (a commit checks one key per position: KV allows 100). */
const MAX_BATCH_CHECKS = 100;
/** Getting many keys at once is limited to 10 per call. */
const GET_MANY = 10;
/** Commits refused because another handle moved a position meanwhile are retried this often. */
const MAX_CONFLICTS = 64;

/** A read position waiting for its commit: the highest asked, and who waits for it. */
interface PendingRead {
  readonly key: Deno.KvKey;
  id: string;
  readonly waiters: { resolve: (id: string) => void; reject: (error: unknown) => void }[];
}

/** Members' read positions in Deno KV, per member and room, only ever moved forward. */
export class KvReadPositions {
  readonly #kv: Deno.Kv;
  /** Its point reads, coalesced with the other parts' (one SQLite thread serves them all). */
  readonly #gets: KvGets;
  /** Read positions waiting for their commit, by member and room. */
  readonly #reads = new Map<string, PendingRead>();
  #readsDraining?: Promise<void>;

  /** The positions in `kv`. */
  constructor(kv: Deno.Kv) {
    this.#kv = kv;
    this.#gets = kvGets(kv);
  }

  /** Where the member stopped reading in the room. */
  async readPosition(memberId: string, room: string): Promise<string | undefined> {
    const entry = await kvGuarded(() => this.#gets.get<string>([READ, memberId, room]));
    return entry.value ?? undefined;
  }

  /**
   * Moves the member's read position forward. Positions asked meanwhile go together: one read of
   * their keys and one commit checked against what it read for up to 100 of them (a conflict
   * retries only those), so that many members reading cost a few commits, not one each.
   */
  markRead(memberId: string, room: string, id: string): Promise<string> {
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

  /** Resolves once every position asked so far is committed (or failed). */
  async drained(): Promise<void> {
    await this.#readsDraining;
  }
}
