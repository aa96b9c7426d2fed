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
  /** Set when only its list may see it (see `room_access.ts`). */
  readonly private?: true;
  /** The member id of the identity that created it (its owner), when there was one. */
  readonly owner?: string;
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
  /** The text (absent from a binary message). */
  readonly message?: string;
  /** A binary message's bytes, as base64 (seed 001's binary frames); absent from a text one. */
  readonly binary?: string;
  /** When it was sent, in ms since the epoch. */
  readonly ts: number;
  /** A direct message's recipient name (direct messages only; see `core/direct.ts`). */
  readonly to?: string;
  /** The id of the message of the same room this one answers (see `core/replies.ts`). */
  readonly replyTo?: string;
  /** Member ids of the room's members the text names with `@name` (see `core/mentions.ts`). */
  readonly mentions?: readonly string[];
}

/**
 * A chat message as stored and as sent in `broadcast` events: a draft with its place in the room's
 * log. `seq` is 1 for the room's first stored event and grows by exactly 1 per stored event, the
 * same on every node; `id` grows with it (see `nextLogId`), and `ts` is the time the id carries.
 */
export interface ChatMessage extends MessageDraft {
  /** The event's position in the room's log. */
  readonly seq: number;
  /** When its author last edited it (absent if never). */
  readonly editedAt?: number;
  /** Reactions, as counts by emoji (absent when none). */
  readonly reactions?: Readonly<Record<string, number>>;
  /**
   * A reply's thread: the id of the message that started it (the target of `replyTo`, or that
   * target's own thread when it is a reply too). Set by the store with `replyTo`.
   */
  readonly thread?: string;
  /** How many replies the message's thread has (absent when none; a thread's first message only). */
  readonly replies?: number;
}

/** A deleted message as history and replay show it: its place, no text, no author. */
export interface Tombstone {
  /** Always `broadcast`, in the place of the message. */
  readonly event: "broadcast";
  /** The room's id. */
  readonly room: string;
  /** The deleted message's id. */
  readonly id: string;
  /** Its position in the room's log. */
  readonly seq: number;
  /** When it was sent. */
  readonly ts: number;
  /** Always true. */
  readonly deleted: true;
  /** No text: it was taken back. */
  readonly message?: undefined;
  /** No author shown. */
  readonly member?: undefined;
  /** No author shown. */
  readonly memberId?: undefined;
  /** No replies shown (its thread is still read with `?thread=`). */
  readonly replies?: undefined;
}

/** A stored message in its current state: as sent, edited, reacted to, or a tombstone. */
export type StoredMessage = ChatMessage | Tombstone;

/** Fields every change event carries: its own place in the room's log, and who made it. */
export interface ChangeBase {
  /** The room's id. */
  readonly room: string;
  /** The id of the message changed. */
  readonly id: string;
  /** The change's position in the room's log. */
  readonly seq: number;
  /** The change's own id in the log (a cursor for `since`, as a message id is). */
  readonly logId: string;
  /** When it was made. */
  readonly ts: number;
  /** The member id of whoever made it. */
  readonly memberId: string;
}

/** A message's author changed its text. */
export interface EditedEvent extends ChangeBase {
  /** The event's name. */
  readonly event: "edited";
  /** The new text. */
  readonly message: string;
  /** When (ms since the epoch). */
  readonly editedAt: number;
}

/** A message's author (or a moderator of the room) took it back. */
export interface DeletedEvent extends ChangeBase {
  /** The event's name. */
  readonly event: "deleted";
  /** The member id of the moderator who deleted it, when not its author. */
  readonly by?: string;
}

/** A member toggled a reaction on a message. */
export interface ReactionEvent extends ChangeBase {
  /** The event's name. */
  readonly event: "reaction";
  /** The emoji. */
  readonly emoji: string;
  /** The member's name. */
  readonly member: string;
  /** Whether the member's reaction is now on. */
  readonly on: boolean;
}

/** A stored change to an earlier message of the room. */
export type ChangeEvent = EditedEvent | DeletedEvent | ReactionEvent;

/** Fields every moderation event carries: its place in the room's log, and who did it. */
interface ModerationBase {
  readonly room: string;
  readonly seq: number;
  /** The event's id in the log (a cursor for `since`); `id` is the same. */
  readonly logId: string;
  readonly id: string;
  readonly ts: number;
  /** The member id of whoever did it. */
  readonly by: string;
  /** Whoever did it, by name. */
  readonly byName: string;
  /** Whom it is about: the name. */
  readonly member: string;
  /** Whom it is about: the member id. */
  readonly memberId: string;
}

/** A stored moderation action, as the room's members (and history's replay) see it. */
export type ModerationEvent =
  | ModerationBase & {
    readonly event: "invited";
    /** The room's name. */
    readonly name: string;
    /** The invited member id. */
    readonly to: string;
  }
  | ModerationBase & { readonly event: "role"; readonly role: "moderator" | "member" }
  | ModerationBase & { readonly event: "kicked" }
  | ModerationBase & { readonly event: "banned"; readonly until?: number }
  | ModerationBase & { readonly event: "unbanned" }
  | ModerationBase & { readonly event: "muted"; readonly until: number };

/** One entry of a room's log as read: a message in its current state, a change, or a moderation. */
export type LogEntry = StoredMessage | ChangeEvent | ModerationEvent;

/** A page of a room's log (every kind of stored event), in `seq` order. */
export interface LogPage {
  /** The entries, in `seq` order. */
  readonly entries: LogEntry[];
  /** Whether entries lie beyond the page. */
  readonly more: boolean;
}

/** A page of messages, oldest first; `more` tells whether messages lie beyond it. */
export interface MessagePage {
  /** The messages, oldest first. */
  readonly messages: StoredMessage[];
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

/**
 * The joins and leaves of a large room over a short window, as one event (rooms above
 * `CHAT_LARGE_ROOM` members; smaller rooms get `join` and `leave`).
 */
export interface PresenceDiffEvent {
  /** The event's name. */
  readonly event: "presence_diff";
  /** The room's id. */
  readonly room: string;
  /** Who joined. */
  readonly joins: readonly { readonly member: string; readonly memberId: string }[];
  /** Who left. */
  readonly leaves: readonly { readonly member: string; readonly memberId: string }[];
  /** The room's member count after these changes. */
  readonly count: number;
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
  /** The session to keep (added by the transport without tokens; see `transport/sessions.ts`). */
  readonly session?: string;
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

/** Someone is typing in a room (not stored). */
export interface TypingEvent {
  /** The event's name. */
  readonly event: "typing";
  /** The room's id. */
  readonly room: string;
  /** The member's name. */
  readonly member: string;
  /** The member's id. */
  readonly memberId: string;
}

/** A direct message from one member to another. */
export interface DirectEvent {
  /** The event's name. */
  readonly event: "direct";
  /** The message's id. */
  readonly id: string;
  /** The sender's name. */
  readonly from: string;
  /** The sender's member id. */
  readonly fromId: string;
  /** The recipient's name. */
  readonly to: string;
  /** The recipient's member id. */
  readonly toId: string;
  /** The text. */
  readonly message: string;
  /** When it was sent. */
  readonly ts: number;
}

/** A room with its member count, as `GET /rooms` lists it. */
export interface RoomSummary {
  /** The room's id. */
  readonly id: string;
  /** The room's name. */
  readonly name: string;
  /** Members connected to it on every node. */
  readonly members: number;
}

/** The room list, to a connection that watches it (`rooms`): again after every change. */
export interface RoomsEvent {
  /** The event's name. */
  readonly event: "rooms";
  /** The rooms, oldest first, as `GET /rooms` lists them. */
  readonly rooms: readonly RoomSummary[];
}

/** Where a member stopped reading in a room: to every connection of that member. */
export interface ReadEvent {
  /** The event's name. */
  readonly event: "read";
  /** The room's id. */
  readonly room: string;
  /** The id of the last message read. */
  readonly id: string;
}

/** What the core pushes to members unasked; the transport serialises it (see `wire/events.ts`). */
export type PushEvent =
  | LogEntry
  | MembershipEvent
  | PresenceDiffEvent
  | RenamedEvent
  | MeEvent
  | NoticeEvent
  | TypingEvent
  | DirectEvent
  | ReadEvent
  | RoomsEvent;

/**
 * An event on its way to members. The core builds it once per event, not per recipient; the wire
 * serialises it once, on first send, into `text`. An event that came from another node may carry
 * only its `text` (serialised there). `seq` and `id` are set for stored events.
 */
export type Outbound =
  | {
    readonly event: PushEvent;
    text?: string;
    /** A binary message's bytes, decoded once for every wire that sends them (null: none). */
    bytes?: Uint8Array | null;
    readonly seq?: number;
    readonly id?: string;
  }
  | {
    readonly event?: undefined;
    text: string;
    bytes?: Uint8Array | null;
    readonly seq?: number;
    readonly id?: string;
  };

/** Where the hub sends a member's events: the transport's socket. */
export interface Connection {
  /** Sends one event. */
  send(out: Outbound): void;
}
