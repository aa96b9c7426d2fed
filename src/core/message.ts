import { encodeTime } from "ulid";
import { ChatError } from "./errors.ts";

/** Validates a chat message's text: non-blank and at most `maxLength` characters (code points). */
export function validateMessageText(text: string, maxLength: number): string {
  if (text.trim().length === 0) {
    throw new ChatError("invalid_field", "message must not be empty");
  }
  // Counting code points costs a pass over the string; only long strings can be over the limit.
  if (text.length > maxLength && [...text].length > maxLength) {
    throw new ChatError("too_large", `message is over ${maxLength} characters`, {
      limit: maxLength,
    });
  }
  return text;
}

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Whether `value` has the shape of a ULID (26 Crockford base-32 characters). */
export function isUlid(value: string): boolean {
  return ULID.test(value);
}

/** Validates an id used as a cursor (`since`, `before`, `after`). */
export function validateCursor(value: string, field: string): string {
  const upper = value.toUpperCase();
  if (!isUlid(upper)) throw new ChatError("invalid_field", `${field} must be a message id (ULID)`);
  return upper;
}

/** History pages: 50 messages unless asked, never more than 200 (the contract's limits). */
export const HISTORY_PAGE = { default: 50, max: 200 } as const;

/** Clamps a page size: default `fallback`, at most `max`; anything but a positive integer is refused. */
export function pageLimit(value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new ChatError("invalid_field", "limit must be a positive integer");
  }
  return Math.min(value, max);
}

/** The smallest ULID of millisecond `ms`: every id created before `ms` sorts below it. */
export function idFloor(ms: number): string {
  return encodeTime(Math.max(0, Math.floor(ms)), 10) + "0".repeat(16);
}

/** The longest emoji a reaction takes, in UTF-16 code units (long enough for ZWJ sequences). */
export const MAX_EMOJI_LENGTH = 32;

/** Validates a reaction's emoji: 1–32 code units, no spaces or control characters. */
export function validateEmoji(emoji: string): string {
  if (emoji.length === 0 || emoji.length > MAX_EMOJI_LENGTH || /[\s\p{Cc}]/u.test(emoji)) {
    throw new ChatError(
      "invalid_field",
      `emoji must be 1–${MAX_EMOJI_LENGTH} characters without spaces`,
      { field: "emoji" },
    );
  }
  return emoji;
}
