import type { ChatMessage, MessagePage, MessageQuery, Room } from "./types.ts";

/**
 * Where rooms and history live. Implementations: `store/memory_store.ts` (tests, throwaway) and
 * `store/kv_store.ts` (Deno KV). Failures reject with a `ChatError` (`store_failed`, `room_exists`).
 */
export interface Store {
  /** Creates a room; rejects with `room_exists` (details.id = existing id) if the name is taken. */
  createRoom(room: Room): Promise<Room>;
  /** The room with this id, if any. */
  getRoom(id: string): Promise<Room | undefined>;
  /** The room with this name, compared case-insensitively, if any. */
  findRoomByName(name: string): Promise<Room | undefined>;
  /** Every room, oldest first. */
  listRooms(): Promise<Room[]>;
  /** Resolves once the message is durable; rejects with `store_failed` otherwise. */
  appendMessage(message: ChatMessage): Promise<void>;
  /** A page of a room's history, oldest first. */
  readMessages(room: string, query: MessageQuery): Promise<MessagePage>;
  /** The id of the newest message that retention dropped from the room, if any. */
  trimmedThrough(room: string): Promise<string | undefined>;
  /** Waits for pending writes, then releases resources. */
  close(): Promise<void>;
}
