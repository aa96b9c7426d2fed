import { ChatError } from "./errors.ts";
import { type LogPosition, logTime, nextLogId } from "./log_order.ts";
import type {
  ChangeEvent,
  ChatMessage,
  LogEntry,
  ModerationEvent,
  StoredMessage,
} from "./types.ts";

/** A change to a stored message, as asked for; the store gives it its place in the log. */
export type MessageChange =
  | {
    readonly kind: "edit";
    readonly room: string;
    /** The message to change. */
    readonly target: string;
    /** Who asks (only the author may). */
    readonly memberId: string;
    /** A candidate id for the change's own log entry (see `nextLogId`). */
    readonly id: string;
    /** The new text. */
    readonly message: string;
  }
  | {
    readonly kind: "delete";
    readonly room: string;
    readonly target: string;
    readonly memberId: string;
    readonly id: string;
    /** Set when the room's owner or a moderator deletes (the core checked the role). */
    readonly moderated?: true;
  }
  | {
    readonly kind: "react";
    readonly room: string;
    readonly target: string;
    readonly memberId: string;
    readonly id: string;
    /** The reacting member's name. */
    readonly member: string;
    /** The emoji toggled. */
    readonly emoji: string;
  };

/**
 * A message as a store keeps it: the message in its current state, plus who reacted with what
 * (so that a reaction toggles) and, once deleted, the mark. {@link publicMessage} is what readers
 * get.
 */
export interface MessageRecord extends ChatMessage {
  /** Member ids by emoji. */
  readonly reactedBy?: Readonly<Record<string, readonly string[]>>;
  /** Set once the author deleted it (its text is gone). */
  readonly deleted?: true;
}

/** An entry of a store's log: a message record, a change or a moderation (with its own `logId`). */
export type LogRecord = MessageRecord | ChangeEvent | ModerationEvent;

/** Distinct emojis one message may carry. */
export const MAX_EMOJIS_PER_MESSAGE = 32;

/**
 * Reactions one message may carry in all (who reacted is kept, so that a reaction toggles): with
 * at most 32 emojis and a 4,000-character text, the record stays under 40 KB, well inside a Deno
 * KV value (64 KiB), whatever the number of members. Past it a reaction is refused on its own.
 */
export const MAX_REACTIONS_PER_MESSAGE = 1000;

/** The id under which a log entry is stored: its own id (a change's `logId`, a message's id). */
export function logIdOf(entry: LogRecord | LogEntry): string {
  return "logId" in entry ? entry.logId : entry.id;
}

/** Whether a log entry is a message (rather than a change to one). */
export function isMessage(entry: LogRecord): entry is MessageRecord {
  return entry.event === "broadcast";
}

/** What readers see of a record: tombstones without text or author; reactions as counts. */
export function publicMessage(record: MessageRecord): StoredMessage {
  if (record.deleted) {
    const { room, id, seq, ts } = record;
    return { event: "broadcast", room, id, seq, ts, deleted: true };
  }
  if (record.reactedBy === undefined) return record;
  const { reactedBy: _, ...message } = record;
  return message;
}

/** What readers see of any log entry. */
export function publicEntry(record: LogRecord): LogEntry {
  return isMessage(record) ? publicMessage(record) : record;
}

/**
 * Applies a change to the record of its target at the room's head `at`, as every store does in
 * the same atomic step that gives the change its `seq`. Throws `not_found` for a message that is
 * not there (never stored, deleted, or dropped by retention) and `forbidden` when someone other
 * than the author edits or deletes.
 */
export function applyChange(
  record: MessageRecord | undefined,
  change: MessageChange,
  at: LogPosition,
): { record: MessageRecord; event: ChangeEvent } {
  if (!record || record.deleted || record.room !== change.room) {
    throw new ChatError("not_found", `no message '${change.target}' in this room`, {
      target: change.target,
    });
  }
  const logId = nextLogId(at.id, change.id);
  const base = {
    room: change.room,
    id: record.id,
    seq: at.seq + 1,
    logId,
    ts: logTime(logId),
    memberId: change.memberId,
  };
  const moderated = change.kind === "delete" && change.moderated === true;
  if (change.kind !== "react" && record.memberId !== change.memberId && !moderated) {
    throw new ChatError("forbidden", `only its author may ${change.kind} a message`);
  }
  switch (change.kind) {
    case "edit":
      return {
        record: { ...record, message: change.message, editedAt: base.ts },
        event: { ...base, event: "edited", message: change.message, editedAt: base.ts },
      };
    case "delete": {
      const { reactedBy: _r, reactions: _c, editedAt: _e, ...rest } = record;
      return {
        record: { ...rest, message: "", deleted: true },
        event: record.memberId === change.memberId
          ? { ...base, event: "deleted" }
          : { ...base, event: "deleted", by: change.memberId },
      };
    }
    case "react":
      return toggleReaction(record, change, base);
  }
}

function toggleReaction(
  record: MessageRecord,
  change: Extract<MessageChange, { kind: "react" }>,
  base: Omit<ChangeEvent, "event" | "message" | "editedAt">,
): { record: MessageRecord; event: ChangeEvent } {
  const reactedBy: Record<string, readonly string[]> = { ...record.reactedBy };
  const who = reactedBy[change.emoji] ?? [];
  const on = !who.includes(change.memberId);
  if (on && who.length === 0 && Object.keys(reactedBy).length >= MAX_EMOJIS_PER_MESSAGE) {
    throw new ChatError("too_large", `a message carries at most ${MAX_EMOJIS_PER_MESSAGE} emojis`, {
      limit: MAX_EMOJIS_PER_MESSAGE,
    });
  }
  if (
    on &&
    Object.values(reactedBy).reduce((n, ids) => n + ids.length, 0) >= MAX_REACTIONS_PER_MESSAGE
  ) {
    throw new ChatError(
      "too_large",
      `a message carries at most ${MAX_REACTIONS_PER_MESSAGE} reactions`,
      { limit: MAX_REACTIONS_PER_MESSAGE },
    );
  }
  const now = on ? [...who, change.memberId] : who.filter((id) => id !== change.memberId);
  if (now.length > 0) reactedBy[change.emoji] = now;
  else delete reactedBy[change.emoji];
  const counts = Object.fromEntries(Object.entries(reactedBy).map(([e, ids]) => [e, ids.length]));
  const { reactedBy: _r, reactions: _c, ...rest } = record;
  const next: MessageRecord = Object.keys(counts).length === 0
    ? rest
    : { ...rest, reactions: counts, reactedBy };
  return {
    record: next,
    event: { ...base, event: "reaction", emoji: change.emoji, member: change.member, on },
  };
}
