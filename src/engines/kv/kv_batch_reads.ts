/**
 * What a KV batch reads before it is built: the records its changes and replies target (and
 * their threads' first messages), the access of rooms it moderates, and what its idempotency
 * keys stored before. Ten keys a call (KV's limit).
 *
 * @module
 */
import { isMessage, type LogRecord, type MessageRecord } from "../../core/message_changes.ts";
import type { RoomAccess } from "../../core/room_access.ts";
import type { ChatMessage } from "../../core/types.ts";
import type { PendingWrite } from "../batch_writes.ts";
import { ACCESS, IDEMPOTENCY, MESSAGE } from "./kv_keys.ts";

/** Getting many keys at once is limited to 10 per call. */
const GET_MANY = 10;

/** How a batch finds a message record: by room and id. */
export function recordKey(room: string, id: string): string {
  return `${room}\u0000${id}`;
}

/**
 * The records of the messages the batch's changes and replies target, and of the threads'
 * first messages they touch, kept by retention, by {@link recordKey}; a missing or dropped one
 * is absent.
 */
export async function targetRecords(
  kv: Deno.Kv,
  batch: readonly PendingWrite[],
  kept: (room: string) => (record: MessageRecord) => boolean,
): Promise<Map<string, MessageRecord>> {
  const found = new Map<string, MessageRecord>();
  const ids = batch.flatMap((p): [string, string][] => {
    if ("change" in p) return [[p.room, p.change.target]];
    if (!("draft" in p) || p.draft.replyTo === undefined) return [];
    return [[p.room, p.draft.replyTo]];
  });
  await readRecords(kv, ids, found, kept);
  // Second round: the first messages of the threads those records are in.
  const roots = [...found.values()].flatMap((r): [string, string][] =>
    r.thread === undefined || found.has(recordKey(r.room, r.thread)) ? [] : [[r.room, r.thread]]
  );
  await readRecords(kv, roots, found, kept);
  return found;
}

/** The access records of the rooms the batch's moderation actions change, by room. */
export async function accessesOf(
  kv: Deno.Kv,
  batch: readonly PendingWrite[],
): Promise<Map<string, RoomAccess>> {
  const rooms = [...new Set(batch.flatMap((p) => "access" in p ? [p.room] : []))];
  const found = new Map<string, RoomAccess>();
  for (let i = 0; i < rooms.length; i += GET_MANY) {
    const chunk = rooms.slice(i, i + GET_MANY);
    const entries = await kv.getMany<RoomAccess[]>(chunk.map((room) => [ACCESS, room]));
    entries.forEach((entry, j) => found.set(chunk[j], entry.value ?? {}));
  }
  return found;
}

/** Reads message records by room and id into `found` (retention applied), ten keys a call. */
async function readRecords(
  kv: Deno.Kv,
  ids: [string, string][],
  found: Map<string, MessageRecord>,
  kept: (room: string) => (record: MessageRecord) => boolean,
): Promise<void> {
  const keys = ids.map(([room, id]) => [MESSAGE, room, id] as Deno.KvKey);
  for (let i = 0; i < keys.length; i += GET_MANY) {
    const entries = await kv.getMany<LogRecord[]>(keys.slice(i, i + GET_MANY));
    for (const entry of entries) {
      const record = entry.value;
      if (!record || !isMessage(record)) continue;
      if (!kept(record.room)(record)) continue;
      found.set(recordKey(record.room, record.id), record);
    }
  }
}

/** The messages already stored under the batch's idempotency keys, by room and key. */
export async function usedKeys(
  kv: Deno.Kv,
  batch: readonly PendingWrite[],
): Promise<Map<string, ChatMessage>> {
  const keys = batch.flatMap((p) =>
    "key" in p && p.key !== undefined ? [[IDEMPOTENCY, p.room, p.key] as Deno.KvKey] : []
  );
  const used = new Map<string, ChatMessage>();
  for (let i = 0; i < keys.length; i += GET_MANY) {
    const entries = await kv.getMany<ChatMessage[]>(keys.slice(i, i + GET_MANY));
    for (const entry of entries) {
      if (entry.value) used.set(entry.key.join("\u0000"), entry.value);
    }
  }
  return used;
}
