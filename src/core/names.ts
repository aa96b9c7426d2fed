import { ChatError, type ErrorCode } from "./errors.ts";

/** The longest display name, in characters (code points) after trimming. */
export const MAX_NAME_LENGTH = 32;
/** The longest room name, in characters (code points) after trimming. */
export const MAX_ROOM_NAME_LENGTH = 64;

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;

function checkText(raw: string, max: number, what: string, code: ErrorCode): string {
  const text = raw.trim();
  const length = [...text].length;
  if (length < 1 || length > max) {
    throw new ChatError(code, `${what} must be 1-${max} characters after trimming`);
  }
  if (CONTROL.test(text)) {
    throw new ChatError(code, `${what} must not contain control characters`);
  }
  return text;
}

/** Validates a display name: 1–32 characters after trimming, no control characters. */
export function validateDisplayName(raw: string): string {
  return checkText(raw, MAX_NAME_LENGTH, "a display name", "invalid_name");
}

/** Validates a room name: 1–64 characters after trimming, no control characters. */
export function validateRoomName(raw: string): string {
  return checkText(raw, MAX_ROOM_NAME_LENGTH, "a room name", "invalid_field");
}

/** The case-insensitive key under which names are unique. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

/**
 * The first of `base`, `base-2`, `base-3`, ... whose key `isTaken` denies. The base is shortened
 * so that the suffixed name still fits in 32 characters.
 */
export function uniqueName(base: string, isTaken: (key: string) => boolean): string {
  if (!isTaken(nameKey(base))) return base;
  const chars = [...base];
  for (let n = 2;; n++) {
    const suffix = `-${n}`;
    const stem = chars.slice(0, MAX_NAME_LENGTH - suffix.length).join("").trimEnd();
    const candidate = `${stem}${suffix}`;
    if (!isTaken(nameKey(candidate))) return candidate;
  }
}

/** A generated name for a member that asked for none, such as `guest-7f3a`. */
export function guestName(random: () => number = Math.random): string {
  return `guest-${Math.floor(random() * 0x10000).toString(16).padStart(4, "0")}`;
}
