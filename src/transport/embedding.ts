import { ChatError } from "../core/errors.ts";
import type { MemberInfo, MessageHook } from "../core/hooks.ts";
import type { ChatMessage } from "../core/types.ts";
import { BUILT_IN_COMMANDS } from "../wire/commands.ts";

/** A connection asking to come in, as the connect hook sees it. */
export interface ConnectInfo {
  /** The upgrade request (headers, URL, query). */
  readonly request: Request;
  /** The display name asked for (or the token's), validated; none for a guest. */
  readonly name?: string;
  /** The room to join at once (id or name). */
  readonly room: string;
}

/**
 * What the connect hook decides: nothing (come in), `{ refuse }` (the upgrade is refused with
 * `403 forbidden` and that reason), or `{ name, data }`: the display name to use instead (made
 * unique as usual) and data to attach to the member, which later hooks and commands see.
 */
export type ConnectVerdict = void | undefined | { readonly refuse: string } | {
  readonly name?: string;
  readonly data?: unknown;
};

/** An embedder's hooks into the life of a connection. */
export interface ChatHooks {
  /** Before a connection is accepted. */
  readonly onConnect?: (info: ConnectInfo) => ConnectVerdict | Promise<ConnectVerdict>;
  /** Before each message is stored: may refuse it or rewrite its text. */
  readonly onMessage?: MessageHook;
  /** After a member's connection closed (it has left its rooms). */
  readonly onDisconnect?: (member: MemberInfo) => void;
}

/** Where a notice goes: everyone, a room (id or name), or a member (id or name). */
export type NoticeTo = "everyone" | { readonly room: string } | { readonly member: string };

/** What a command handler gets: who asked, the frame's fields, and the server's voice. */
export interface CommandContext {
  /** The member who sent the command. */
  readonly member: MemberInfo;
  /** Ids of the rooms the member is in. */
  readonly rooms: readonly string[];
  /** Every field of the command's frame (validate what you use). */
  readonly fields: Readonly<Record<string, unknown>>;
  /** Stores a message in a room in the server's name (`as`, default `Server`). */
  post(room: string, message: string, as?: string): Promise<ChatMessage>;
  /** Pushes a `notice` (not stored) to everyone, a room or a member, on every node. */
  notify(to: NoticeTo, message: string): Promise<void>;
}

/**
 * An embedder's command: its answer (an object) is sent to the sender as
 * `{"event": "<command>", ...answer, "re"}`; a thrown `ChatError` becomes an `error` event.
 */
export type CommandHandler = (context: CommandContext) => object | void | Promise<object | void>;

/** Refuses command names that the protocol already uses. */
export function checkCommandNames(commands: Readonly<Record<string, CommandHandler>>): void {
  for (const name of Object.keys(commands)) {
    if (BUILT_IN_COMMANDS.has(name) || !/^[a-z][a-z0-9_-]{0,31}$/.test(name)) {
      throw new ChatError(
        "invalid_field",
        `'${name}' cannot be a custom command (built-in, or not 1-32 of a-z 0-9 _ -)`,
      );
    }
  }
}
