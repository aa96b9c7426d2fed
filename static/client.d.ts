/**
 * The types of the client library (`client.js`), written against the server's own event types
 * (`src/core/types.ts`): one source of truth for both sides.
 *
 * @module
 */
import type {
  ChatMessage,
  DirectEvent,
  MembershipEvent,
  MessageDraft,
  NoticeEvent,
  ReadEvent,
  Tombstone,
} from "../src/core/types.ts";

export type {
  ChatMessage,
  DirectEvent,
  MembershipEvent,
  MessageDraft,
  NoticeEvent,
  ReadEvent,
  Tombstone,
};

/** An event from the server (`broadcast`, `join`, `leave`, `edited`, ...; see the protocol). */
export type ChatEvent = Record<string, unknown> & { event: string };

/** A stored message as the library hands it out: a `broadcast` event (text, binary or deleted). */
export type MessageEvent = (ChatMessage | Tombstone) & { readonly re?: string };

/** How to reach the server, and as whom. */
export interface ConnectOptions {
  /** The server's address (`http(s)://host:port`, or `ws(s)://`). */
  url: string;
  /** The display name wanted. */
  name?: string;
  /** A token, when the server requires one. */
  token?: string;
  /**
   * Gives a fresh token: called to connect (when `token` is absent or expiring), before the
   * token expires (the connection is refreshed in place, `refresh`) and after the server closed
   * the connection for an expired token (`4001`). Without it, `4001` closes the client.
   */
  getToken?: () => string | Promise<string>;
  /** A session from an earlier `me` (the same member again). */
  session?: string;
  /** The room to be in from the start (default: the server's `lobby`); `join` it for its handle. */
  room?: string;
  /** A WebSocket implementation (default: the global one). */
  WebSocket?: typeof WebSocket;
}

/** An error the server answered with; `code` is its error code (`rate_limited`, ...). */
export declare class ChatClientError extends Error {
  /** An error with the server's code and message. */
  constructor(code: string, message: string, details?: Record<string, unknown>);
  /** The error code. */
  readonly code: string;
  /** What else the server said. */
  readonly details: Record<string, unknown>;
}

/** A tiny event emitter: `on` returns the function that stops listening. */
export declare class Emitter {
  /** Listens to `name`; returns the function that stops it (subclasses type each name). */
  // deno-lint-ignore no-explicit-any
  on(name: string, handler: (value: any) => void): () => void;
  /** Calls every listener of `name` with `value`. */
  emit(name: string, value: unknown): void;
}

/** One joined room: its events, and what a member does in it. */
export declare class Room extends Emitter {
  /** A room handle, made by `ChatClient.join`. */
  constructor(client: ChatClient, joined: ChatEvent);
  /** The room's id. */
  readonly id: string;
  /** The room's name. */
  readonly name: string;
  /** The members' names, as of the last `joined` or `list` (kept up by joins and leaves). */
  members: string[];
  /** The last `seq` handed out. */
  seq: number;
  /** The id of the last stored event seen: where a resume starts. */
  last: string | undefined;
  /** The last `joined` answer (`seq`, `members`; `count` and `more` in a large room). */
  joined: ChatEvent;
  /** Where this member stopped reading (on any device), kept up by `read` events. */
  readUpTo: string | undefined;
  /** Messages after `readUpTo` when joined (counted up to 1000). */
  unread: number;
  /** Your role here: `owner`, `moderator` or `member` (kept up by `role` events). */
  role: string;
  /** Whether only its list may see it. */
  readonly private: boolean;
  /**
   * Every broadcast of the room once, in `seq` order, across reconnections; the
   * acknowledgement of your own send carries the `key` it was sent with.
   */
  on(name: "message", handler: (event: MessageEvent & { key?: string }) => void): () => void;
  /** The room was joined again after a reconnection (the new `joined` answer). */
  on(name: "joined", handler: (event: ChatEvent) => void): () => void;
  /** Someone joined or left. */
  on(name: "join" | "leave", handler: (event: MembershipEvent) => void): () => void;
  /** You were kicked or banned: the room is not resumed any more. */
  on(name: "removed", handler: (event: ChatEvent) => void): () => void;
  /** This member's read position moved (on this or another device). */
  on(name: "read", handler: (event: ReadEvent) => void): () => void;
  /** A resume could not recover everything (retention dropped some): reload history. */
  on(name: "reload" | "gap", handler: (event: ChatEvent) => void): () => void;
  /** Any other event of the room (`edited`, `deleted`, `reaction`, `typing`, ...). */
  on(name: string, handler: (event: ChatEvent) => void): () => void;
  /**
   * Sends a message; resolves with the stored `broadcast` event once stored, whatever
   * reconnections happen meanwhile (it is resent with its key, and stored once).
   */
  send(text: string, options?: { key?: string; replyTo?: string }): Promise<ChatMessage>;
  /** Says you read up to the message `id` (never moves back): the `read` event. */
  read(id: string): Promise<ReadEvent>;
  /** A page of the thread of message `id`: its replies, oldest first. */
  thread(
    id: string,
    query?: { before?: string; limit?: number },
  ): Promise<{ messages: MessageEvent[]; more: boolean }>;
  /** Messages containing `q` (case-insensitive), newest matches first by page. */
  search(
    q: string,
    query?: { before?: string; limit?: number },
  ): Promise<{ messages: MessageEvent[]; more: boolean; next?: string }>;
  /** A page of history before `before` (or the newest): the `history` event. */
  history(query?: { before?: string; limit?: number }): Promise<ChatEvent>;
  /** Who is in the room now. */
  list(): Promise<string[]>;
  /** Edits one of your messages: the `edited` event. */
  edit(target: string, message: string): Promise<ChatEvent>;
  /** Deletes one of your messages: the `deleted` event. */
  delete(target: string): Promise<ChatEvent>;
  /** Toggles your reaction to a message: the `reaction` event. */
  react(target: string, emoji: string): Promise<ChatEvent>;
  /**
   * A moderation command (owners and moderators; `role` the owner only): resolves with the
   * stored event (`invited`, `role`, `kicked`, `banned`, `unbanned`, `muted`).
   */
  moderate(
    action: "invite" | "role" | "kick" | "ban" | "unban" | "mute",
    to: string,
    options?: { seconds?: number; role?: "moderator" | "member" },
  ): Promise<ChatEvent>;
  /** Says you are typing (the server relays at most one a second). */
  typing(): void;
  /** Leaves the room (it is not resumed any more). */
  leave(): Promise<void>;
  /** An event of this room from the server (the client calls this). */
  receive(event: ChatEvent): void;
}

/** A connection to the chat: rooms, requests, the outbox, reconnection. */
export declare class ChatClient extends Emitter {
  /** Opens the connection (use `connect`). */
  constructor(options: ConnectOptions);
  /** Who this connection is (from the last `me`). */
  me: { id: string; name: string } | undefined;
  /** The connection's state. */
  readonly status: "connecting" | "open" | "closed";
  /** The session to keep (give it back as `session` to be the same member later). */
  readonly session: string | undefined;
  /** `connecting`, `open`, `closed`. */
  on(name: "status", handler: (status: "connecting" | "open" | "closed") => void): () => void;
  /** A direct message to you. */
  on(name: "direct", handler: (event: DirectEvent) => void): () => void;
  /** A notice from the server. */
  on(name: "notice", handler: (event: NoticeEvent) => void): () => void;
  /** You were invited to a room you are not in (join it by its id). */
  on(name: "invited", handler: (event: ChatEvent) => void): () => void;
  /** A socket closed (the client reconnects unless the code is final or `close` was called). */
  on(
    name: "disconnected",
    handler: (close: { code: number; reason: string }) => void,
  ): () => void;
  /** The room list changed (after `watchRooms`). */
  on(
    name: "rooms",
    handler: (rooms: { id: string; name: string; members: number }[]) => void,
  ): () => void;
  /** The token was replaced in place (`refresh`), before it expired. */
  on(name: "token", handler: (token: string) => void): () => void;
  /** An error not tied to a request. */
  on(name: "error", handler: (error: ChatClientError) => void): () => void;
  /** Any other event. */
  on(name: string, handler: (event: ChatEvent) => void): () => void;
  /**
   * Joins a room (by id or name; a new name makes a room, private with `{ private: true }`);
   * resolves once joined.
   */
  join(ref: string, options?: { private?: boolean }): Promise<Room>;
  /** Forgets a room the server took this member out of (not resumed any more). */
  forget(room: Room): void;
  /** The room list now, and a `rooms` event whenever it changes (across reconnections). */
  watchRooms(): Promise<{ id: string; name: string; members: number }[]>;
  /** Leaves a room (see `Room.leave`). */
  leave(room: Room): Promise<void>;
  /** Sends a command and resolves with the server's answer to it (rejects with its error). */
  request(command: Record<string, unknown>, id?: string): Promise<ChatEvent>;
  /** A GET of the server's HTTP API (with the connection's token), as JSON. */
  // deno-lint-ignore no-explicit-any
  get(path: string, query: Record<string, string | number | undefined>): Promise<any>;
  /** Sends a command that has no answer. */
  fire(command: Record<string, unknown>): void;
  /** Queues a message until it is acknowledged (see `Room.send`). */
  outbox(room: string, text: string, key: string, replyTo?: string): Promise<ChatMessage>;
  /** Sends a direct message to a member (name or id); resolves with the stored event. */
  direct(to: string, message: string): Promise<DirectEvent>;
  /** Closes the connection for good (nothing is resent). */
  close(): void;
}

/** Connects to a chat server; the client reconnects by itself until `close`. */
export declare function connect(options: ConnectOptions): ChatClient;
