import { ChatError } from "./errors.ts";
import { isUlid } from "./message.ts";
import { MAX_ROOM_NAME_LENGTH, nameKey, validateRoomName } from "./names.ts";
import type { RoomPage, Store } from "./store.ts";
import type { Clock, IdSource, Room } from "./types.ts";

/** What a new room is made with: its owner (a member id) and whether it is private. */
export interface NewRoom {
  readonly owner?: string;
  readonly private?: boolean;
}

/** How long a room found is trusted without asking the store again. */
const CACHE_MS = 30_000;

/**
 * Rooms by id and by name: found in a local cache, else in the store, created on demand. A room
 * never changes, but an idle empty one may be removed (see `room_sweeper.ts`): the node that
 * removes it tells the others ({@link forget}), and a cached room is trusted for 30 s at most in
 * case that word was lost.
 */
export class RoomDirectory {
  readonly #byId = new Map<string, { room: Room; at: number }>();
  readonly #byName = new Map<string, { room: Room; at: number }>();
  /** Creations under way, by name key: joins of one new name at once share one. */
  readonly #creating = new Map<string, Promise<Room>>();

  /** A directory over the store, making ids and timestamps with the given sources. */
  constructor(
    private readonly store: Store,
    private readonly ids: IdSource,
    private readonly clock: Clock,
    private readonly maxRooms?: number,
  ) {}

  /**
   * Creates a room (owned by `owner`, a member id, when given; seen only by its list when
   * `private`); rejects with `room_exists` (details.id) when the name is taken.
   */
  async create(rawName: string, options: NewRoom = {}): Promise<Room> {
    const name = validateRoomName(rawName);
    const room = await this.store.createRoom(
      {
        id: this.ids(),
        name,
        createdAt: this.clock(),
        ...(options.private ? { private: true as const } : {}),
        ...(options.owner === undefined ? {} : { owner: options.owner }),
      },
      { maxRooms: this.maxRooms },
    );
    return this.#remember(room);
  }

  /**
   * Finds a room by id or name; with `create`, a missing name is created (after `beforeCreate`,
   * which may refuse by throwing).
   */
  async resolve(
    ref: string,
    create = false,
    beforeCreate?: () => void,
    options: NewRoom = {},
  ): Promise<Room> {
    const trimmed = ref.trim();
    if (trimmed === "") throw new ChatError("invalid_field", "room must not be empty");
    // No room has a longer name: refuse it as a bad reference, not as a store failure.
    if (trimmed.length > MAX_ROOM_NAME_LENGTH && [...trimmed].length > MAX_ROOM_NAME_LENGTH) {
      throw new ChatError(
        "invalid_field",
        `room must be a room id or a name of at most ${MAX_ROOM_NAME_LENGTH} characters`,
        { field: "room" },
      );
    }
    const upper = trimmed.toUpperCase();
    if (isUlid(upper)) {
      const byId = this.#cached(this.#byId, upper) ?? await this.store.getRoom(upper);
      if (byId) return this.#remember(byId);
    }
    const byName = this.#cached(this.#byName, nameKey(trimmed)) ??
      await this.store.findRoomByName(trimmed);
    if (byName) return this.#remember(byName);
    if (!create) throw new ChatError("no_such_room", `no room '${trimmed}'`);
    // Many joining one new name at once make one room, and count as one creation.
    const key = nameKey(trimmed);
    const pending = this.#creating.get(key);
    if (pending) return await pending;
    beforeCreate?.();
    const creating = this.#createOrFind(trimmed, options);
    this.#creating.set(key, creating);
    try {
      return await creating;
    } finally {
      this.#creating.delete(key);
    }
  }

  async #createOrFind(name: string, options: NewRoom): Promise<Room> {
    try {
      return await this.create(name, options);
    } catch (error) {
      // Another member (perhaps on another node) created it a moment ago.
      if (error instanceof ChatError && error.code === "room_exists") {
        return this.resolve(String(error.details.id));
      }
      throw error;
    }
  }

  /** A page of rooms, oldest first. */
  list(page: RoomPage): Promise<Room[]> {
    return this.store.listRooms(page);
  }

  /** Forgets a room that was removed (here or on another node). */
  forget(room: { readonly id: string; readonly name: string }): void {
    this.#byId.delete(room.id);
    this.#byName.delete(nameKey(room.name));
  }

  #cached(map: Map<string, { room: Room; at: number }>, key: string): Room | undefined {
    const hit = map.get(key);
    if (!hit) return undefined;
    if (this.clock() - hit.at < CACHE_MS) return hit.room;
    map.delete(key);
    return undefined;
  }

  #remember(room: Room): Room {
    const at = this.clock();
    this.#byId.set(room.id, { room, at });
    this.#byName.set(nameKey(room.name), { room, at });
    return room;
  }
}
