import type { Room } from "./types.ts";

/** A member as an embedder's hooks and commands see it. */
export interface MemberInfo {
  /** The member's id. */
  readonly id: string;
  /** Its display name now. */
  readonly name: string;
  /** What the connect hook attached to it (undefined when nothing). */
  readonly data: unknown;
}

/** A message on its way to the store, as the message hook sees it. */
export interface MessageInfo {
  /** Who sent it. */
  readonly member: MemberInfo;
  /** Where to. */
  readonly room: Room;
  /** The text, already checked against the length limit. */
  readonly message: string;
  /** The sender's role in the room (`owner`, `moderator`, `member`). */
  readonly role?: string;
}

/**
 * What the message hook decides: nothing (store it as it is), `{ refuse }` (the sender gets a
 * `forbidden` error with that reason; nothing is stored or delivered), or `{ message }` (store
 * this text instead; it is checked against the length limit again).
 */
export type MessageVerdict = void | undefined | { readonly refuse: string } | {
  readonly message: string;
};

/**
 * Called for every message before it is stored. One member's messages are judged one at a time,
 * in order, so they are stored in the order sent even when the hook is slow.
 */
export type MessageHook = (info: MessageInfo) => MessageVerdict | Promise<MessageVerdict>;
