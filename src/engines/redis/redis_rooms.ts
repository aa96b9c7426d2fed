import { ChatError } from "../../core/errors.ts";
import { nameKey } from "../../core/names.ts";
import type { RoomPage } from "../../core/store.ts";
import type { Room } from "../../core/types.ts";
import { roomsFull } from "../store_errors.ts";
import { guarded } from "./redis_guard.ts";
import type { RedisKeys } from "./redis_keys.ts";
import type { RedisLink } from "./redis_link.ts";
import { CREATE_ROOM, DROP_ROOM, SEAL_ROOM } from "./redis_scripts.ts";

/** How long a sealed (removed) room's head stays, in ms: appends to it are refused meanwhile. */
const SEALED_TTL_MS = 24 * 60 * 60_000;

/**
 * The room directory in Redis (under the `{rooms}` hash tag: one slot of a Cluster) and the
 * secrets every process shares: what the Redis store does for rooms as a whole, not their logs.
 */
export class RedisRooms {
  readonly #link: RedisLink;
  readonly #keys: RedisKeys;

  /** The directory over `link`, with the key layout `keys`. */
  constructor(link: RedisLink, keys: RedisKeys) {
    this.#link = link;
    this.#keys = keys;
  }

  /** Creates a room; the name, the count and the cap are checked in one script. */
  async createRoom(room: Room, options: { readonly maxRooms?: number } = {}): Promise<Room> {
    const k = this.#keys;
    const reply = await guarded(() =>
      this.#link.script(CREATE_ROOM, [k.roomsByName, k.roomsById, k.roomIds], [
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
    await guarded(() => this.#link.send(["SET", key, made, "NX"], key));
    const hex = await guarded(() => this.#link.send(["GET", key], key)) as string;
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
    const sealed = await guarded(() =>
      this.#link.script(SEAL_ROOM, [k.head(id)], [String(SEALED_TTL_MS)])
    );
    if (sealed !== 1) return false;
    const reply = await guarded(() =>
      this.#link.script(DROP_ROOM, [k.roomsByName, k.roomsById, k.roomIds], [
        id,
        nameKey(room.name),
      ])
    );
    return reply === 1;
  }

  /** The room with this id. */
  async getRoom(id: string): Promise<Room | undefined> {
    const k = this.#keys;
    const json = await guarded(() => this.#link.send(["HGET", k.roomsById, id], k.roomsById));
    return typeof json === "string" ? JSON.parse(json) as Room : undefined;
  }

  /** The room with this name (case-insensitive). */
  async findRoomByName(name: string): Promise<Room | undefined> {
    const k = this.#keys;
    const id = await guarded(() =>
      this.#link.send(["HGET", k.roomsByName, nameKey(name)], k.roomsByName)
    );
    return typeof id === "string" ? await this.getRoom(id) : undefined;
  }

  /** Rooms oldest first, or a page of them after the room id `after`. */
  async listRooms(page: RoomPage = {}): Promise<Room[]> {
    const k = this.#keys;
    const start = page.after === undefined ? "-" : `(${page.after}`;
    const limit = page.limit === undefined ? [] : ["LIMIT", "0", String(page.limit)];
    const ids = await guarded(() =>
      this.#link.send(["ZRANGE", k.roomIds, start, "+", "BYLEX", ...limit], k.roomIds)
    ) as string[];
    if (ids.length === 0) return [];
    const rooms = await guarded(() =>
      this.#link.send(["HMGET", k.roomsById, ...ids], k.roomsById)
    ) as (
      | string
      | null
    )[];
    return rooms.flatMap((json) => json ? [JSON.parse(json) as Room] : []);
  }
}
