import type { PresenceDiffEvent } from "./types.ts";

/** Who joined or left, as a diff lists them. */
interface Who {
  readonly member: string;
  readonly memberId: string;
}

interface Pending {
  readonly joins: Map<string, Who>;
  readonly leaves: Map<string, Who>;
}

/**
 * Joins and leaves of large rooms, gathered per room and sent as one `presence_diff` event per
 * room every `delayMs` (after Phoenix Presence's `presence_diff`). A storm of 1,000 arrivals then
 * costs each member a handful of events instead of 1,000: the announcements grow with the room
 * times the number of flushes, not with the square of the room. A member who joins and leaves
 * within one window cancels out.
 */
export class PresenceDiffs {
  readonly #pending = new Map<string, Pending>();
  readonly #delayMs: number;
  readonly #send: (room: string, event: PresenceDiffEvent) => void;
  readonly #count: (room: string) => number;
  #timer?: ReturnType<typeof setTimeout>;

  /** Diffs flushed every `delayMs` to `send`; `count` gives a room's member count at flush. */
  constructor(options: {
    delayMs: number;
    send: (room: string, event: PresenceDiffEvent) => void;
    count: (room: string) => number;
  }) {
    this.#delayMs = options.delayMs;
    this.#send = options.send;
    this.#count = options.count;
  }

  /** Records a join or a leave of a room, to go out with the room's next diff. */
  add(kind: "join" | "leave", room: string, who: Who): void {
    let pending = this.#pending.get(room);
    if (!pending) this.#pending.set(room, pending = { joins: new Map(), leaves: new Map() });
    const [into, other] = kind === "join"
      ? [pending.joins, pending.leaves]
      : [pending.leaves, pending.joins];
    // A join and a leave of the same member in one window cancel out.
    if (other.delete(who.memberId)) return;
    into.set(who.memberId, who);
    this.#timer ??= setTimeout(() => this.flush(), this.#delayMs);
  }

  /** Sends every room's pending diff now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const [room, { joins, leaves }] of pending) {
      if (joins.size === 0 && leaves.size === 0) continue;
      this.#send(room, {
        event: "presence_diff",
        room,
        joins: [...joins.values()],
        leaves: [...leaves.values()],
        count: this.#count(room),
      });
    }
  }

  /** Stops the timer (what is pending is dropped: the node is going away). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
  }
}
