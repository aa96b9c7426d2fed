/** Milliseconds since the epoch; injected so that tests drive time. */
export type Clock = () => number;

/** A source of unique, time-sortable ids (ULIDs); injected so that tests drive it. */
export type IdSource = () => string;

/** A room as stored: immutable once created. */
export interface Room {
  /** The room's ULID. */
  readonly id: string;
  /** Its display name, unique case-insensitively. */
  readonly name: string;
  /** When it was created, in ms since the epoch. */
  readonly createdAt: number;
}

/** A chat message as stored and as sent in `broadcast` events. */
export interface ChatMessage {
  /** Always `broadcast`: a stored message is sent as this event. */
  readonly event: "broadcast";
  /** The room's id. */
  readonly room: string;
  /** The message's ULID (a cursor for `since`, `before` and `after`). */
  readonly id: string;
  /** The sender's display name when it was sent. */
  readonly member: string;
  /** The sender's member id. */
  readonly memberId: string;
  /** The text. */
  readonly message: string;
  /** When it was sent, in ms since the epoch. */
  readonly ts: number;
}

/** A page of messages, oldest first; `more` tells whether messages lie beyond it. */
export interface MessagePage {
  /** The messages, oldest first. */
  readonly messages: ChatMessage[];
  /** Whether messages lie beyond the page in the direction read. */
  readonly more: boolean;
}

/** Which page of a room's history to read (ids are exclusive bounds). */
export interface MessageQuery {
  /** Only messages older than this id (newest first, then returned oldest first). */
  readonly before?: string;
  /** Only messages newer than this id (oldest first); wins over `before`. */
  readonly after?: string;
  /** The page size. */
  readonly limit: number;
}

/** One structured log line: an event name and its fields. */
export type Logger = (event: string, fields?: Record<string, unknown>) => void;

/** Where the hub sends a member's events: the transport's socket, seen as text frames. */
export interface Connection {
  /** Sends one serialised event. */
  send(text: string): void;
}

/** An event ready to send: serialised once, sent as the same string to every recipient. */
export interface Outbound {
  /** The serialised event. */
  readonly text: string;
  /** The message id, for `broadcast` events (used to drop replay duplicates). */
  readonly id?: string;
}
