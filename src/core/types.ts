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

/** A chat message as sent for storing: the store gives it its `seq` (and settles its id and `ts`). */
export interface MessageDraft {
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

/**
 * A chat message as stored and as sent in `broadcast` events: a draft with its place in the room's
 * log. `seq` is 1 for the room's first stored event and grows by exactly 1 per stored event, the
 * same on every node; `id` grows with it (see `nextLogId`), and `ts` is the time the id carries.
 */
export interface ChatMessage extends MessageDraft {
  /** The event's position in the room's log. */
  readonly seq: number;
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

/** A member entered or left a room. */
export interface MembershipEvent {
  /** Which of the two. */
  readonly event: "join" | "leave";
  /** The room's id. */
  readonly room: string;
  /** The member's display name. */
  readonly member: string;
  /** The member's id. */
  readonly memberId: string;
}

/** A member of a room was renamed (two nodes handed out one name at once). */
export interface RenamedEvent {
  /** The event's name. */
  readonly event: "renamed";
  /** The room's id. */
  readonly room: string;
  /** The member's id. */
  readonly memberId: string;
  /** The old name. */
  readonly from: string;
  /** The new name. */
  readonly to: string;
}

/** Who a member is: sent on connect, on `me`, and again after a rename. */
export interface MeEvent {
  /** The event's name. */
  readonly event: "me";
  /** The member's assigned display name. */
  readonly member: string;
  /** The member's id. */
  readonly id: string;
  /** Ids of the rooms the member is in. */
  readonly rooms: string[];
}

/** A notice from the server (an embedder's `chat.notify`): not stored, not from a member. */
export interface NoticeEvent {
  /** The event's name. */
  readonly event: "notice";
  /** The room it was sent to, when it was sent to a room. */
  readonly room?: string;
  /** The text. */
  readonly message: string;
}

/** What the core pushes to members unasked; the transport serialises it (see `wire/events.ts`). */
export type PushEvent = ChatMessage | MembershipEvent | RenamedEvent | MeEvent | NoticeEvent;

/**
 * An event on its way to members. The core builds it once per event, not per recipient; the wire
 * serialises it once, on first send, into `text`. An event that came from another node may carry
 * only its `text` (serialised there). `seq` and `id` are set for stored events.
 */
export type Outbound =
  | { readonly event: PushEvent; text?: string; readonly seq?: number; readonly id?: string }
  | { readonly event?: undefined; text: string; readonly seq?: number; readonly id?: string };

/** Where the hub sends a member's events: the transport's socket. */
export interface Connection {
  /** Sends one event. */
  send(out: Outbound): void;
}
