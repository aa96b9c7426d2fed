import { ChatError } from "../../core/errors.ts";
import type { LogPosition } from "../../core/log_order.ts";
import { nameKey } from "../../core/names.ts";
import type { RoomPage } from "../../core/store.ts";
import type { Room } from "../../core/types.ts";
import { roomsFull } from "../store_errors.ts";
import { kvGuarded } from "./kv_busy.ts";
import { HEAD, ROOM, ROOM_COUNT, ROOM_NAME, SECRET } from "./kv_keys.ts";
import { type KvGets, kvGets } from "./kv_gets.ts";

/** The room directory in Deno KV (rooms by id and by name, their count) and the shared secrets. */
export class KvRooms {
  readonly #kv: Deno.Kv;
  /** Its point reads, coalesced with the other parts' (one SQLite thread serves them all). */
  readonly #gets: KvGets;

  /** The directory in `kv`. */
  constructor(kv: Deno.Kv) {
    this.#kv = kv;
    this.#gets = kvGets(kv);
  }

  /**
   * Creates a room; the name index is checked and written in one atomic step (a race for one name
   * has one winner), and the room count is added to in the same step. The cap is checked against
   * the count read just before, so rooms created at the same instant may pass it by as many.
   */
  async createRoom(room: Room, options: { readonly maxRooms?: number } = {}): Promise<Room> {
    const nameEntry = [ROOM_NAME, nameKey(room.name)];
    if (options.maxRooms !== undefined) {
      const count = await kvGuarded(() => this.#kv.get<Deno.KvU64>([ROOM_COUNT]));
      if ((count.value?.value ?? 0n) >= BigInt(options.maxRooms)) throw roomsFull(options.maxRooms);
    }
    const result = await kvGuarded(() =>
      this.#kv.atomic()
        .check({ key: nameEntry, versionstamp: null })
        .set(nameEntry, room.id)
        .set([ROOM, room.id], room)
        .sum([ROOM_COUNT], 1n)
        .commit()
    );
    if (result.ok) return room;
    const existing = await kvGuarded(() => this.#kv.get<string>(nameEntry));
    throw new ChatError("room_exists", `a room named '${room.name}' exists`, {
      id: existing.value,
    });
  }

  /** A secret made by the first handle to ask (a commit that only succeeds where none exists). */
  async secret(name: string): Promise<Uint8Array> {
    const key = [SECRET, name];
    for (;;) {
      const entry = await kvGuarded(() => this.#kv.get<Uint8Array>(key));
      if (entry.value) return entry.value;
      const made = crypto.getRandomValues(new Uint8Array(32));
      const result = await kvGuarded(() =>
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
      const [room, head, count] = await kvGuarded(() =>
        this.#kv.getMany<[Room, LogPosition, Deno.KvU64]>([[ROOM, id], [HEAD, id], [ROOM_COUNT]])
      );
      if (!room.value || (head.value?.seq ?? 0) > 0) return false;
      const left = (count.value?.value ?? 1n) - 1n;
      const result = await kvGuarded(() =>
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
    const entry = await kvGuarded(() => this.#gets.get<Room>([ROOM, id]));
    return entry.value ?? undefined;
  }

  /** The room with this name (case-insensitive). */
  async findRoomByName(name: string): Promise<Room | undefined> {
    const entry = await kvGuarded(() => this.#gets.get<string>([ROOM_NAME, nameKey(name)]));
    return entry.value === null ? undefined : this.getRoom(entry.value);
  }

  /** Rooms oldest first (ids are ULIDs), or a page of them, as one range read. */
  listRooms(page: RoomPage = {}): Promise<Room[]> {
    return kvGuarded(async () => {
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
}
