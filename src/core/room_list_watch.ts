/**
 * The live room list: connections that asked for it (`rooms`) are sent the list again, as a
 * `rooms` event, shortly after anything changes it — a join or a leave on any node (member
 * counts), a room made or swept away. Changes within `delayMs` are gathered into one read and one
 * event, and an unchanged list is not sent again.
 *
 * @module
 */
import type { Connection, Logger, RoomsEvent, RoomSummary } from "./types.ts";

/** How long changes are gathered before the list is read and sent (ms). */
export const ROOM_LIST_DELAY_MS = 250;

/** Connections watching the room list, and the timer that sends it to them. */
export class RoomListWatch {
  readonly #watchers = new Set<Connection>();
  #timer?: ReturnType<typeof setTimeout>;
  #last = "";

  /** A watch over `list` (the rooms as `GET /rooms` shows them). */
  constructor(
    private readonly list: () => Promise<RoomSummary[]>,
    private readonly options: { readonly delayMs?: number; readonly log?: Logger } = {},
  ) {}

  /** Adds a watcher; resolves with the list as it is now (its answer). */
  async watch(connection: Connection): Promise<RoomsEvent> {
    this.#watchers.add(connection);
    const rooms = await this.list();
    return { event: "rooms", rooms };
  }

  /** Removes a watcher (its connection closed). */
  unwatch(connection: Connection): void {
    this.#watchers.delete(connection);
  }

  /** Something that the list shows changed: it is sent again soon (once for many changes). */
  changed(): void {
    if (this.#watchers.size === 0 || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => this.#send(), this.options.delayMs ?? ROOM_LIST_DELAY_MS);
  }

  async #send(): Promise<void> {
    try {
      const rooms = await this.list();
      const text = JSON.stringify({ event: "rooms", rooms });
      if (text === this.#last) return;
      this.#last = text;
      const out = { event: { event: "rooms" as const, rooms }, text };
      for (const watcher of this.#watchers) watcher.send(out);
    } catch (error) {
      // The store is away: the next change tries again.
      this.options.log?.("room_list_failed", { error: String(error) });
    } finally {
      this.#timer = undefined;
    }
  }

  /** Stops the timer. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#watchers.clear();
  }
}
