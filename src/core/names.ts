import unhomoglyph from "unhomoglyph";
import { ChatError, type ErrorCode } from "./errors.ts";

/** The longest display name, in characters (code points) after trimming. */
export const MAX_NAME_LENGTH = 50;
/** The longest room name, in characters (code points) after trimming. */
export const MAX_ROOM_NAME_LENGTH = 64;

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
/**
 * Characters that show nothing or turn text around: soft hyphen, zero-width and joiner
 * characters, bidirectional marks, embeddings, overrides and isolates, invisible operators,
 * fillers, variation selectors, the byte-order mark and the tag characters.
 */
const INVISIBLE =
  /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\u{1d173}-\u{1d17a}\u{e0000}-\u{e0fff}]/u;

/** Characters that draw nothing but are not spaces or format characters (braille blank, ...). */
const BLANK = /[\u2800\u{1d159}]/u;
/** A mark drawn on the character before it. */
const COMBINING = /\p{M}/u;
/** Marks allowed on one base character (more stack into "Zalgo" text over other lines). */
const MAX_MARKS = 2;

/** Whether nothing of the text would show: only marks, format characters, spaces and blanks. */
function rendersBlank(text: string): boolean {
  return [...text].every((c) => /[\p{M}\p{Cf}\p{Zs}]/u.test(c) || BLANK.test(c));
}

/** The most marks stacked on one base character. */
function mostMarks(text: string): number {
  let most = 0;
  let run = 0;
  for (const c of text.normalize("NFD")) {
    run = COMBINING.test(c) ? run + 1 : 0;
    most = Math.max(most, run);
  }
  return most;
}

/** NFKC-normalises and trims a name, refusing empty, long, control and invisible characters. */
function checkText(raw: string, max: number, what: string, code: ErrorCode): string {
  const text = raw.normalize("NFKC").trim();
  const length = [...text].length;
  if (length < 1 || length > max) {
    throw new ChatError(code, `${what} must be 1-${max} characters after trimming`);
  }
  if (CONTROL.test(text)) {
    throw new ChatError(code, `${what} must not contain control characters`);
  }
  if (INVISIBLE.test(text)) {
    throw new ChatError(
      code,
      `${what} must not contain invisible or direction-changing characters`,
    );
  }
  if (rendersBlank(text) || BLANK.test(text)) {
    throw new ChatError(code, `${what} must not contain characters that show nothing`);
  }
  if (mostMarks(text) > MAX_MARKS) {
    throw new ChatError(code, `${what} may carry at most ${MAX_MARKS} marks on one character`);
  }
  return text;
}

/**
 * Validates a display name: NFKC-normalised, 1–50 characters after trimming (the third round's limit, so that seed 002's names fit), no control,
 * invisible or direction-changing characters. Returns the normalised name.
 */
export function validateDisplayName(raw: string): string {
  const name = checkText(raw, MAX_NAME_LENGTH, "a display name", "invalid_name");
  // The text wire speaks as `Server: ...`: nobody may pass for it.
  if (nameKey(name) === SERVER_KEY) {
    throw new ChatError("invalid_name", `'${name}' is reserved (the server's own voice)`);
  }
  return name;
}

/** Validates a name the server itself writes in (`chat.post`'s author): `Server` is allowed. */
export function validateAuthorName(raw: string): string {
  return checkText(raw, MAX_NAME_LENGTH, "an author's name", "invalid_name");
}

/** Validates a room name like a display name, with up to 64 characters. */
export function validateRoomName(raw: string): string {
  return checkText(raw, MAX_ROOM_NAME_LENGTH, "a room name", "invalid_field");
}

/**
 * The key under which names are unique: case-insensitive, and the same for names that look the
 * same (the Unicode TR39 skeleton, through the maintained confusables table of `unhomoglyph`):
 * `alice` and `аlice` (Cyrillic а), `paypal` and `paypa1`, share one key.
 */
export function nameKey(name: string): string {
  // A character outside ASCII that looks like an ASCII one is read as that one before the case is
  // folded: `Ɩ` (Latin capital iota) looks like `l`, but its lower case `ɩ` looks like `i`.
  const asAscii = [...name.normalize("NFKC")].map((c) => {
    if (c <= "\u007f") return c;
    const looks = unhomoglyph(c);
    return /^[\x21-\x7e]$/.test(looks) ? looks : c;
  }).join("");
  return unhomoglyph(asAscii.toLowerCase().normalize("NFD")).normalize("NFD");
}

const SERVER_KEY = nameKey("Server");

/**
 * The first of `base`, `base-2`, `base-3`, ... whose key `isTaken` denies. The base is shortened
 * so that the suffixed name still fits in {@link MAX_NAME_LENGTH} characters.
 */
export function uniqueName(base: string, isTaken: (key: string) => boolean): string {
  for (const candidate of nameCandidates(base)) {
    if (!isTaken(nameKey(candidate))) return candidate;
  }
  throw new Error("unreachable: name candidates are endless");
}

/** The names tried for `base`, in order: `base`, `base-2`, `base-3`, ... (each within {@link MAX_NAME_LENGTH}). */
export function* nameCandidates(base: string): Generator<string> {
  yield base;
  const chars = [...base];
  for (let n = 2;; n++) {
    const suffix = `-${n}`;
    const stem = chars.slice(0, MAX_NAME_LENGTH - suffix.length).join("").trimEnd();
    yield `${stem}${suffix}`;
  }
}

/** A generated name for a member that asked for none, such as `guest-7f3a`. */
export function guestName(random: () => number = Math.random): string {
  return `guest-${Math.floor(random() * 0x10000).toString(16).padStart(4, "0")}`;
}

/**
 * The keys under which a list of allowed rooms (names or ids, as a token's `rooms` claim gives
 * them) is matched: name keys and upper-cased ids.
 */
export function roomAccessKeys(rooms: readonly string[]): ReadonlySet<string> {
  return new Set(rooms.flatMap((r) => [nameKey(r.trim()), r.trim().toUpperCase()]));
}

/** Whether a room is among the allowed ones (by id or by name). */
export function roomAllowed(
  allowed: ReadonlySet<string>,
  room: { readonly id: string; readonly name: string },
): boolean {
  return allowed.has(room.id) || allowed.has(nameKey(room.name));
}
