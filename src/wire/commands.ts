import { ChatError } from "../core/errors.ts";
import { validateCursor } from "../core/message.ts";

/** A client command, parsed and typed. `id` is echoed as `re` in the direct answer. */
export type Command =
  | { readonly command: "me"; readonly id?: string }
  | {
    readonly command: "join";
    readonly id?: string;
    readonly room: string;
    readonly since?: string;
    /** A new room made by this join is private (only its list may see it). */
    readonly private?: boolean;
  }
  | { readonly command: "leave"; readonly id?: string; readonly room: string }
  | {
    readonly command: "broadcast";
    readonly id?: string;
    readonly room?: string;
    readonly message: string;
    /** Once-only: the same key from the same member in the same room stores once (24 h). */
    readonly key?: string;
    /** The id of the message of the room this one answers. */
    readonly replyTo?: string;
  }
  | {
    readonly command: "list";
    readonly id?: string;
    readonly room?: string;
    /** In a large room: where the page of names starts. */
    readonly offset?: number;
  }
  | {
    readonly command: "history";
    readonly id?: string;
    readonly room?: string;
    /** Direct messages with this member (id or name) instead of a room's messages. */
    readonly with?: string;
    readonly before?: string;
    readonly limit?: number;
  }
  | {
    readonly command: "direct";
    readonly id?: string;
    readonly to: string;
    readonly message: string;
  }
  | { readonly command: "typing"; readonly id?: string; readonly room?: string }
  | {
    readonly command: "edit";
    readonly id?: string;
    readonly room?: string;
    readonly target: string;
    readonly message: string;
  }
  | {
    readonly command: "delete";
    readonly id?: string;
    readonly room?: string;
    readonly target: string;
  }
  | {
    readonly command: "react";
    readonly id?: string;
    readonly room?: string;
    readonly target: string;
    readonly emoji: string;
  }
  | {
    /** A moderation command (`room_access.ts`): who may see, join and write in a room. */
    readonly command: "invite" | "role" | "kick" | "ban" | "unban" | "mute";
    readonly id?: string;
    readonly room: string;
    /** Whom it is about: a name (while connected) or a member id. */
    readonly to: string;
    /** `ban` (absent: until `unban`) and `mute`: how long. */
    readonly seconds?: number;
    /** `role`: `moderator` or `member`. */
    readonly role?: string;
  }
  | {
    /** Where the member stopped reading in a room (never moves back). */
    readonly command: "read";
    readonly id?: string;
    readonly room: string;
    /** The message read up to (the frame's `id`). */
    readonly message: string;
  }
  | {
    /** The room list now, and again (`rooms` events) whenever it changes. */
    readonly command: "rooms";
    readonly id?: string;
  }
  | {
    /** A fresh token for the same subject: the connection lives until its expiry. */
    readonly command: "refresh";
    readonly id?: string;
    readonly token: string;
  }
  | {
    /** A command an embedder added (`commands` of `createChat`), with the frame's fields. */
    readonly command: "custom";
    readonly id?: string;
    readonly name: string;
    readonly fields: Readonly<Record<string, unknown>>;
  };

/** The commands of the protocol; an embedder's commands may not take these names. */
export const BUILT_IN_COMMANDS: ReadonlySet<string> = new Set([
  "me",
  "join",
  "leave",
  "broadcast",
  "list",
  "history",
  "direct",
  "typing",
  "edit",
  "delete",
  "react",
  "refresh",
  "rooms",
  "read",
  "invite",
  "role",
  "kick",
  "ban",
  "unban",
  "mute",
  "custom",
]);

/** A parsed frame: a command, or an error to answer (with the `re` to echo when one was given). */
export type ParsedFrame =
  | { readonly ok: true; readonly command: Command }
  | { readonly ok: false; readonly error: ChatError; readonly re?: string };

type Fields = Record<string, unknown>;

function required(fields: Fields, name: string): string {
  const value = fields[name];
  if (value === undefined || value === null) {
    throw new ChatError("missing_field", `'${name}' is required`, { field: name });
  }
  if (typeof value !== "string") {
    throw new ChatError("invalid_field", `'${name}' must be a string`, { field: name });
  }
  return value;
}

function optional(fields: Fields, name: string): string | undefined {
  return fields[name] === undefined || fields[name] === null ? undefined : required(fields, name);
}

/** A once-only send's `key`: 1–64 characters. */
function optionalKey(fields: Fields): string | undefined {
  const key = optional(fields, "key");
  if (key !== undefined && (key.length < 1 || key.length > 64)) {
    throw new ChatError("invalid_field", "'key' must be 1-64 characters", { field: "key" });
  }
  return key;
}

function optionalNumber(fields: Fields, name: string): number | undefined {
  const value = fields[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number") {
    throw new ChatError("invalid_field", `'${name}' must be a number`, { field: name });
  }
  return value;
}

function optionalBoolean(fields: Fields, name: string): boolean | undefined {
  const value = fields[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") {
    throw new ChatError("invalid_field", `'${name}' must be true or false`, { field: name });
  }
  return value;
}

function optionalCursor(fields: Fields, name: string): string | undefined {
  const value = optional(fields, name);
  return value === undefined ? undefined : validateCursor(value, name);
}

function toCommand(
  fields: Fields,
  name: string,
  id: string | undefined,
  custom: ReadonlySet<string>,
): Command {
  switch (name) {
    case "me":
      return { command: "me", id };
    case "join":
      return {
        command: "join",
        id,
        room: required(fields, "room"),
        since: optionalCursor(fields, "since"),
        private: optionalBoolean(fields, "private"),
      };
    case "leave":
      return { command: "leave", id, room: required(fields, "room") };
    case "broadcast":
      return {
        command: "broadcast",
        id,
        room: optional(fields, "room"),
        message: required(fields, "message"),
        key: optionalKey(fields),
        replyTo: optionalCursor(fields, "replyTo"),
      };
    case "list":
      return {
        command: "list",
        id,
        room: optional(fields, "room"),
        offset: optionalNumber(fields, "offset"),
      };
    case "history":
      return {
        command: "history",
        id,
        room: optional(fields, "room"),
        with: optional(fields, "with"),
        before: optionalCursor(fields, "before"),
        limit: optionalNumber(fields, "limit"),
      };
    case "direct":
      return {
        command: "direct",
        id,
        to: required(fields, "to"),
        message: required(fields, "message"),
      };
    case "typing":
      return { command: "typing", id, room: optional(fields, "room") };
    case "edit":
      return {
        command: "edit",
        id,
        room: optional(fields, "room"),
        target: required(fields, "target"),
        message: required(fields, "message"),
      };
    case "delete":
      return {
        command: "delete",
        id,
        room: optional(fields, "room"),
        target: required(fields, "target"),
      };
    case "react":
      return {
        command: "react",
        id,
        room: optional(fields, "room"),
        target: required(fields, "target"),
        emoji: required(fields, "emoji"),
      };
    case "refresh":
      return { command: "refresh", id, token: required(fields, "token") };
    case "rooms":
      return { command: "rooms", id };
    case "invite":
    case "role":
    case "kick":
    case "ban":
    case "unban":
    case "mute":
      return {
        command: name,
        id,
        room: required(fields, "room"),
        to: required(fields, "to"),
        seconds: optionalNumber(fields, "seconds"),
        role: optional(fields, "role"),
      };
    case "read":
      // The frame's `id` is the message read (the contract's field); it is echoed as `re` too.
      return {
        command: "read",
        id,
        room: required(fields, "room"),
        message: validateCursor(required(fields, "id"), "id"),
      };
    default:
      if (custom.has(name)) return { command: "custom", id, name, fields };
      throw new ChatError("unknown_command", `unknown command '${name.slice(0, 64)}'`);
  }
}

const NONE: ReadonlySet<string> = new Set();

/**
 * Parses one text frame (with the names of an embedder's commands, which parse as `custom`). A frame whose first non-blank character is not `{` is a `broadcast` of
 * its text; one starting with `{` must be a JSON object with a string `command`, else `bad_json`.
 */
export function parseFrame(frame: string, custom: ReadonlySet<string> = NONE): ParsedFrame {
  const start = frame.trimStart();
  if (!start.startsWith("{")) {
    return { ok: true, command: { command: "broadcast", message: frame } };
  }
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    return { ok: false, error: new ChatError("bad_json", "the frame is not valid JSON") };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: new ChatError("bad_json", "the frame is not a JSON object") };
  }
  const fields = value as Fields;
  const re = typeof fields.id === "string" ? fields.id : undefined;
  if (typeof fields.command !== "string") {
    return { ok: false, re, error: new ChatError("bad_json", "'command' must be a string") };
  }
  try {
    return { ok: true, command: toCommand(fields, fields.command, re, custom) };
  } catch (error) {
    if (error instanceof ChatError) return { ok: false, error, re };
    throw error;
  }
}
