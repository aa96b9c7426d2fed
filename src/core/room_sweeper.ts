import type { Store } from "./store.ts";
import type { Clock, Logger, Room } from "./types.ts";

/** What the sweeper needs of the chat around it. */
export interface RoomSweeperDeps {
  readonly store: Pick<Store, "listRooms" | "deleteEmptyRoom">;
  /** Members of a room on every node. */
  readonly members: (room: string) => number;
  /** Told of each room removed (this node forgets it and tells the others). */
  readonly removed: (room: Room) => void;
  readonly clock: Clock;
  /** How long a room must have existed, empty and without a message, before it goes. */
  readonly ttlMs: number;
  readonly log?: Logger;
}

/** Rooms read per page of a sweep. */
const PAGE = 500;

/**
 * Removes rooms that nobody is in and that never had a message, once they are `ttlMs` old
 * (`CHAT_ROOM_IDLE_TTL_S`): a client that creates rooms by the thousand cannot hold the room cap
 * (`CHAT_MAX_ROOMS`) for good. Their names are free again. Rooms with history stay (retention
 * decides about their messages). Every node sweeps; a removal is one atomic store step that fails
 * if the room got a message meanwhile, so two nodes sweeping at once do no harm.
 */
export class RoomSweeper {
  readonly #deps: RoomSweeperDeps;
  #timer?: ReturnType<typeof setInterval>;
  #sweeping = false;

  /** A sweeper; {@link start} runs it every so often. */
  constructor(deps: RoomSweeperDeps) {
    this.#deps = deps;
  }

  /**
   * Sweeps every half TTL, at least every second and at most every hour (a sweep reads every
   * room: on Deno Deploy, reads are billed).
   */
  start(): void {
    const every = Math.max(1000, Math.min(60 * 60_000, this.#deps.ttlMs / 2));
    this.#timer = setInterval(() => {
      this.sweep().catch((error) =>
        this.#deps.log?.("room_sweep_failed", { error: String(error) })
      );
    }, every);
  }

  /** One pass over every room; resolves with how many were removed. */
  async sweep(): Promise<number> {
    if (this.#sweeping) return 0;
    this.#sweeping = true;
    let removed = 0;
    try {
      const cutoff = this.#deps.clock() - this.#deps.ttlMs;
      let after: string | undefined;
      for (;;) {
        const page = await this.#deps.store.listRooms({ after, limit: PAGE });
        for (const room of page) {
          if (room.createdAt > cutoff || this.#deps.members(room.id) > 0) continue;
          if (await this.#deps.store.deleteEmptyRoom(room.id)) {
            removed++;
            this.#deps.removed(room);
          }
        }
        if (page.length < PAGE) break;
        after = page[page.length - 1].id;
      }
    } finally {
      this.#sweeping = false;
    }
    if (removed > 0) this.#deps.log?.("rooms_removed", { count: removed });
    return removed;
  }

  /** Stops sweeping. */
  close(): void {
    clearInterval(this.#timer);
  }
}
