/** Milliseconds since the epoch; injected so that tests drive time. */
export type Clock = () => number;

/** A source of unique, time-sortable ids (ULIDs); injected so that tests drive it. */
export type IdSource = () => string;

/** A room as stored: immutable once created. */
export interface Room {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
}

/** A chat message as stored and as sent in `broadcast` events. */
export interface ChatMessage {
  readonly event: "broadcast";
  readonly room: string;
  readonly id: string;
  readonly member: string;
  readonly memberId: string;
  readonly message: string;
  readonly ts: number;
}

/** A page of messages, oldest first; `more` tells whether messages lie beyond it. */
export interface MessagePage {
  readonly messages: ChatMessage[];
  readonly more: boolean;
}

/** Which page of a room's history to read (ids are exclusive bounds). */
export interface MessageQuery {
  readonly before?: string;
  readonly after?: string;
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
  readonly text: string;
  /** The message id, for `broadcast` events (used to drop replay duplicates). */
  readonly id?: string;
}
