/**
 * Replies and threads, as every store applies them in the same atomic step as the write: a reply
 * names a message of its room (`replyTo`) and belongs to the thread that message starts (or is
 * in: a reply to a reply joins the root's thread); the thread's first message counts its replies.
 * Deleting a reply takes it out of the count.
 *
 * @module
 */
import { ChatError } from "./errors.ts";
import type { MessageRecord } from "./message_changes.ts";
import type { ChatMessage } from "./types.ts";

/** The thread a record belongs to: its own id unless it is a reply. */
export function threadOf(record: MessageRecord): string {
  return record.thread ?? record.id;
}

/**
 * The message to store for a reply, and the new state of its thread's first message (absent when
 * that one is gone: the reply still counts as an answer to its target). Throws `not_found` when
 * the target is missing, deleted, of another room, or dropped by retention (`target` undefined).
 */
export function applyReply(
  message: ChatMessage & { readonly replyTo: string },
  target: MessageRecord | undefined,
  root: MessageRecord | undefined,
): { message: ChatMessage; root?: MessageRecord } {
  if (!target || target.deleted || target.room !== message.room) {
    throw new ChatError("not_found", `no message '${message.replyTo}' in this room to reply to`, {
      replyTo: message.replyTo,
    });
  }
  const thread = threadOf(target);
  const stored: ChatMessage = { ...message, thread };
  if (!root || root.deleted || root.id !== thread) return { message: stored };
  return { message: stored, root: { ...root, replies: (root.replies ?? 0) + 1 } };
}

/**
 * The thread's first message once one of its replies is deleted (its count one lower), or
 * undefined when there is nothing to change.
 */
export function uncountReply(root: MessageRecord | undefined): MessageRecord | undefined {
  if (!root || root.deleted || !root.replies) return undefined;
  const { replies, ...rest } = root;
  return replies > 1 ? { ...rest, replies: replies - 1 } : rest;
}

/** Whether a stored message belongs to the thread of `id` (a reply to it, or in its thread). */
export function inThread(message: { thread?: string; replyTo?: string }, id: string): boolean {
  return message.thread === id || message.replyTo === id;
}
