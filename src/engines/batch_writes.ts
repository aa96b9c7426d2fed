/**
 * The writes a store commits in batches (appends, changes to messages, moderation actions), and
 * the rule that turns each one into a log entry — once, for every engine that batches (Deno KV,
 * Redis): the engine reads what the batch needs, lets {@link applyWrite} build each entry on the
 * room's position so far, and commits the whole batch atomically at the heads it read.
 *
 * @module
 */
import { type LogPosition, logTime, nextLogId } from "../core/log_order.ts";
import { applyChange, type MessageChange, type MessageRecord } from "../core/message_changes.ts";
import { applyReply, threadOf, uncountReply } from "../core/replies.ts";
import { type AccessChange, applyAccess, type RoomAccess } from "../core/room_access.ts";
import type { ChangeEvent, ChatMessage, MessageDraft, ModerationEvent } from "../core/types.ts";
import { storeFailed } from "./store_errors.ts";

/** An entry a write stores: a message, a change to one, or a moderation action. */
export type StoredEntry = ChatMessage | ChangeEvent | ModerationEvent;

/** A write waiting for its batch: a message to append, a change to one, or a moderation action. */
export type PendingWrite =
  & { readonly room: string; readonly reject: (error: unknown) => void }
  & (
    | {
      readonly draft: MessageDraft;
      /** The append's idempotency key, if any. */
      readonly key?: string;
      readonly resolve: (stored: ChatMessage) => void;
    }
    | { readonly change: MessageChange; readonly resolve: (stored: ChangeEvent) => void }
    | { readonly access: AccessChange; readonly resolve: (stored: ModerationEvent) => void }
  );

/** What one write of a batch came to: its stored entry, or why it alone was refused. */
export type Outcome = { readonly ok: StoredEntry } | { readonly refused: unknown };

/** The ids of the messages a batch's changes and replies target (what it must read first). */
export function targetIds(batch: readonly PendingWrite[]): string[] {
  return batch.flatMap((p) =>
    "change" in p
      ? [p.change.target]
      : !("draft" in p) || p.draft.replyTo === undefined
      ? []
      : [p.draft.replyTo]
  );
}

/** The idempotency keys a batch's appends claim, in batch order. */
export function idempotencyKeys(batch: readonly PendingWrite[]): string[] {
  return batch.flatMap((p) => "key" in p && p.key !== undefined ? [p.key] : []);
}

/** Resolves each write of a committed batch with its entry, or rejects it with its refusal. */
export function settle(batch: readonly PendingWrite[], outcomes: readonly Outcome[]): void {
  batch.forEach((pending, i) => {
    const outcome = outcomes[i];
    if ("refused" in outcome) pending.reject(outcome.refused);
    // Each outcome is of its write's kind (an append's message, a change's event).
    else (pending.resolve as (stored: StoredEntry) => void)(outcome.ok);
  });
}

/** Rejects every write of a batch that could not be committed (`store_failed`). */
export function fail(batch: readonly PendingWrite[], error: unknown): void {
  for (const pending of batch) pending.reject(storeFailed(error));
}

/** The batch being built, as an engine keeps it: what the rules read, and where entries go. */
export interface BatchBuilder {
  /** A message's state as the batch sees it (changed or appended in it, else as read), if kept. */
  record(room: string, id: string): MessageRecord | undefined;
  /** Writes a message's new state with the batch. */
  update(record: MessageRecord): void;
  /** The room's access (roles, bans, mutes) as the batch sees it. */
  access(room: string): RoomAccess;
  /** Writes the room's new access with the batch. */
  setAccess(room: string, access: RoomAccess): void;
  /** The message stored first under an idempotency key (before or in this batch), if any. */
  used(room: string, key: string): ChatMessage | undefined;
  /** Claims an idempotency key for a message appended in this batch. */
  claim(room: string, key: string, message: ChatMessage): void;
  /** Adds a new entry to the room's log. */
  append(room: string, logId: string, entry: StoredEntry): void;
}

/**
 * Applies one write at `at`, the room's position in the batch so far: a moderation action moves
 * the room's access (`applyAccess`), a change moves its target (`applyChange`, a deleted reply
 * leaving its thread's count), an append gets the next `seq` and an id above the room's last (a
 * reply counted on its thread's first message); an idempotency key used before answers with the
 * message stored then. Returns the outcome and the room's position after it.
 */
export function applyWrite(
  pending: PendingWrite,
  at: LogPosition,
  batch: BatchBuilder,
): { outcome: Outcome; at: LogPosition } {
  const { room } = pending;
  try {
    if ("access" in pending) {
      const { access, event } = applyAccess(batch.access(room), pending.access, at);
      batch.setAccess(room, access);
      batch.append(room, event.logId, event);
      return { outcome: { ok: event }, at: { seq: event.seq, id: event.logId } };
    }
    if ("change" in pending) {
      const target = batch.record(room, pending.change.target);
      const { record, event } = applyChange(target, pending.change, at);
      batch.update(record);
      if (pending.change.kind === "delete" && target?.thread !== undefined) {
        const root = uncountReply(batch.record(room, target.thread));
        if (root) batch.update(root);
      }
      batch.append(room, event.logId, event);
      return { outcome: { ok: event }, at: { seq: event.seq, id: event.logId } };
    }
    const { draft, key } = pending;
    const first = key === undefined ? undefined : batch.used(room, key);
    if (first) return { outcome: { ok: first }, at };
    const id = nextLogId(at.id, draft.id);
    let message: ChatMessage = { ...draft, id, ts: logTime(id), seq: at.seq + 1 };
    if (message.replyTo !== undefined) {
      const target = batch.record(room, message.replyTo);
      const root = target && batch.record(room, threadOf(target));
      const reply = applyReply({ ...message, replyTo: message.replyTo }, target, root);
      message = reply.message;
      if (reply.root) batch.update(reply.root);
    }
    batch.append(room, id, message);
    if (key !== undefined) batch.claim(room, key, message);
    return { outcome: { ok: message }, at: { seq: message.seq, id } };
  } catch (error) {
    return { outcome: { refused: error }, at };
  }
}
