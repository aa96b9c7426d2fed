import { type LogPosition } from "./log_order.ts";
import { idFloor } from "./message.ts";
import type { Store } from "./store.ts";
import { logIdOf } from "./message_changes.ts";
import type { LogEntry, Logger, Outbound } from "./types.ts";

/** The sender's acknowledgement of a message, sent in the message's place in the log. */
export interface Acknowledgement {
  /** The author's connection (on this node): it gets the acknowledgement instead of the event. */
  readonly connectionId: string;
  /** Sends the acknowledgement. */
  readonly send: (out: Outbound) => void;
}

/** A stored event on its way to this node's members of a room. */
export interface FeedEntry {
  /** Its place in the room's log. */
  readonly seq: number;
  /** Its id. */
  readonly id: string;
  /** Its author's member id. */
  readonly memberId: string;
  /** The event, serialised at most once for every recipient. */
  readonly out: Outbound;
  /** Present when this node stored it for one of its members. */
  readonly ack?: Acknowledgement;
}

/**
 * Whose write a stored event was (its acknowledgement may be on the way to that member): the
 * author, or a moderation's actor (`by`), not the member it is about.
 */
export function writerOf(entry: LogEntry): string {
  return ("by" in entry && entry.by !== undefined ? entry.by : entry.memberId) ?? "";
}

/** The feed entry of a stored event (message, change, moderation), as committed or read back. */
export function storedEntry(entry: LogEntry, ack?: Acknowledgement): FeedEntry {
  const id = logIdOf(entry);
  const memberId = writerOf(entry);
  return { seq: entry.seq, id, memberId, out: { event: entry, seq: entry.seq, id }, ack };
}

/** What a feed is built from. */
export interface RoomFeedDeps {
  /** The room. */
  readonly room: string;
  /** Where the room's log is read from: the head at start, and what the bus did not bring. */
  readonly store: Pick<Store, "head" | "readLog">;
  /** Hands an entry to this node's members of the room; called in `seq` order, once per `seq`. */
  readonly deliver: (entry: FeedEntry) => void;
  /**
   * Whether the author (a member id) is a member of this node with appends still in flight: its
   * acknowledgement is on its way, and an entry read from the store waits for it.
   */
  readonly awaitsAck: (memberId: string) => boolean;
  /** How long an event that arrived ahead of a missing one waits before the store is asked. */
  readonly graceMs: number;
  /** Structured log lines (repairs, skips). */
  readonly log?: Logger;
}

/** Counters of a feed. */
export interface FeedStats {
  /** Times the store was read to fill a gap. */
  repairs: number;
  /** Events delivered from those reads. */
  repaired: number;
}

const REPAIR_PAGE = 200;
const FROM_START = idFloor(0);

/** Something to run once the feed has delivered up to `seq`. */
interface Waiter {
  readonly seq: number;
  readonly then: () => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** How long a waiter waits at most for its position. */
const WAIT_MAX_MS = 2000;

/**
 * One room's stored events, in `seq` order, for this node's members. Events arrive from two
 * sides (this node's own commits, and the bus from other nodes) in any order, and the bus may
 * lose some; the feed delivers each `seq` once, in order, holding those that come early. A gap
 * that the bus does not fill within `graceMs` (or that the bus reports) is read from the store,
 * which has every event before one that was published, since events are committed first.
 */
export class RoomFeed {
  /** Resolves once the room's head is known; rejects if the store cannot say. */
  readonly ready: Promise<void>;
  /** Counters. */
  readonly stats: FeedStats = { repairs: 0, repaired: 0 };
  readonly #deps: RoomFeedDeps;
  readonly #ahead = new Map<number, FeedEntry>();
  /** What waits for a position to be delivered (a remote leave, after the leaver's messages). */
  #waiting: Waiter[] = [];
  #position?: LogPosition;
  #startSeq = 0;
  #gapBeforeStart = false;
  #timer?: ReturnType<typeof setTimeout>;
  #repairing = false;
  /** A gap was reported during a repair: read again as soon as it ends. */
  #repairAgain = false;
  /** Repairs that failed in a row (the store was away): the next try waits longer. */
  #failures = 0;
  #closed = false;

  /** Starts a feed: reads the room's head, from which it delivers. */
  constructor(deps: RoomFeedDeps) {
    this.#deps = deps;
    this.ready = this.#start();
    this.ready.catch(() => {});
  }

  /**
   * Runs `then` once events up to `seq` are delivered (at once if they are; when the feed
   * closes, at the latest). A gap before `seq` is repaired from the store as usual.
   */
  whenDelivered(seq: number, then: () => void): void {
    if (this.#closed || (this.#position && this.#position.seq >= seq)) return then();
    // Bounded: a position that never comes (a store this node does not share) delays, never loses.
    const waiter = { seq, then, timer: setTimeout(() => this.#runWaiting(waiter), WAIT_MAX_MS) };
    this.#waiting.push(waiter);
    if (this.#position) this.#schedule(this.#deps.graceMs);
  }

  /** Runs what waited for a position now delivered (or `late`, whose wait is over). */
  #runWaiting(late?: Waiter): void {
    if (this.#waiting.length === 0) return;
    const reached = this.#closed ? Infinity : this.#position?.seq ?? 0;
    const due = this.#waiting.filter((w) => w.seq <= reached || w === late);
    if (due.length === 0) return;
    this.#waiting = this.#waiting.filter((w) => !due.includes(w));
    for (const w of due) {
      clearTimeout(w.timer);
      w.then();
    }
  }

  /** The last event delivered (the head when the feed started, before any). */
  get position(): LogPosition {
    return this.#position ?? { seq: 0 };
  }

  /** Whether the head is known (before that, nothing is delivered). */
  get started(): boolean {
    return this.#position !== undefined;
  }

  /** The room's `seq` when the feed started: it delivers what comes after. */
  get startSeq(): number {
    return this.#startSeq;
  }

  async #start(): Promise<void> {
    const head = await this.#deps.store.head(this.#deps.room);
    if (this.#closed) return;
    this.#position = head;
    this.#startSeq = head.seq;
    for (const seq of this.#ahead.keys()) if (seq <= head.seq) this.#ahead.delete(seq);
    this.#drain();
    if (this.#gapBeforeStart) this.#schedule(0);
  }

  /** Takes an event from this node's commit or from the bus. */
  offer(entry: FeedEntry): void {
    if (this.#closed) return;
    const seq = entry.seq;
    if (this.#position && seq <= this.#position.seq) return; // delivered already
    const held = this.#ahead.get(seq);
    if (!held || (!held.ack && entry.ack)) this.#ahead.set(seq, entry);
    this.#drain();
  }

  /** Delivers what is next in order; schedules a repair if something is missing. */
  drain(): void {
    this.#drain();
  }

  #drain(): void {
    const position = this.#position;
    if (!position || this.#closed) return;
    let at = position;
    for (;;) {
      const next = this.#ahead.get(at.seq + 1);
      if (!next || (!next.ack && this.#deps.awaitsAck(next.memberId))) break;
      this.#ahead.delete(at.seq + 1);
      at = { seq: next.seq, id: next.id };
      this.#position = at;
      this.#deps.deliver(next);
    }
    this.#runWaiting();
    if (this.#ahead.size > 0 || this.#waiting.length > 0) this.#schedule(this.#deps.graceMs);
  }

  /** The bus lost something (or went live only now): read the store now. */
  gap(): void {
    if (this.#position) this.#schedule(0);
    else this.#gapBeforeStart = true;
  }

  #schedule(delay: number): void {
    if (this.#closed) return;
    if (this.#repairing) {
      if (delay === 0) this.#repairAgain = true;
      return;
    }
    if (this.#timer !== undefined) {
      if (delay > 0) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#repair().then(() => this.#failures = 0, (error) => {
        // The store is away (Redis restarting, KV busy): what was missed is still owed, so try
        // again, backing off from 100 ms to 5 s.
        this.#failures++;
        this.#deps.log?.("feed_repair_failed", { room: this.#deps.room, error: String(error) });
        this.#schedule(Math.min(5000, 100 * 2 ** this.#failures));
      });
    }, delay);
  }

  async #repair(): Promise<void> {
    if (this.#closed || !this.#position) return;
    this.#repairing = true;
    this.#repairAgain = false;
    const before = this.#position.seq;
    try {
      for (;;) {
        const after: string = this.#position.id ?? FROM_START;
        const page = await this.#deps.store.readLog(this.#deps.room, {
          after,
          limit: REPAIR_PAGE,
        });
        if (this.#closed) return;
        const first = page.entries[0];
        if (first && first.seq > this.#position.seq + 1) {
          // Retention dropped what this node missed: there is nothing to deliver in between.
          this.#deps.log?.("feed_skipped", {
            room: this.#deps.room,
            from: this.#position.seq + 1,
            to: first.seq - 1,
          });
          this.#position = { seq: first.seq - 1, id: this.#position.id };
        }
        const reached = this.#position.seq;
        for (const entry of page.entries) {
          if (entry.seq > reached) this.offer(storedEntry(entry));
        }
        if (!page.more || this.#position.seq === reached) break;
      }
    } finally {
      this.#repairing = false;
      this.stats.repairs++;
      this.stats.repaired += this.#position.seq - before;
    }
    if (this.#repairAgain) this.#schedule(0);
    else if (this.#ahead.size > 0) this.#schedule(this.#deps.graceMs);
  }

  /** Stops delivering and cancels any repair. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#ahead.clear();
    this.#runWaiting();
  }
}
