/**
 * Writing to a room's log: a member's message (text or binary), a message posted in the server's
 * name or sent over HTTP, and changes (edit, delete, react). Each is validated, rate-limited and
 * judged by the embedder's hook, committed by the store (which gives it its `seq`), then handed to
 * the room's feed here — the author's connection gets its acknowledgement in the event's place —
 * and to the other nodes. Nobody hears of an event that history will not have.
 *
 * @module
 */
import type { Arrivals } from "./arrivals.ts";
import { ChatError } from "./errors.ts";
import type { MemberInfo, MessageHook, MessageVerdict } from "./hooks.ts";
import type { ChangeRequest, HubObserver } from "./hub_types.ts";
import type { LocalConnection } from "./local_connection.ts";
import type { LocalRooms } from "./local_rooms.ts";
import { validateCursor, validateEmoji, validateMessageText } from "./message.ts";
import type { MessageChange } from "./message_changes.ts";
import { findMentions, type Mentionable } from "./mentions.ts";
import type { Viewer } from "./moderation.ts";
import { nameKey, validateAuthorName, validateDisplayName } from "./names.ts";
import { storedEntry } from "./room_feed.ts";
import type { RoomFeeds } from "./room_feeds.ts";
import type { AppendOptions, Store } from "./store.ts";
import type {
  ChangeEvent,
  ChatMessage,
  Clock,
  IdSource,
  MessageDraft,
  ModerationEvent,
  Outbound,
  Room,
} from "./types.ts";

/** The author of messages an embedder posts in the server's name. */
const SERVER_AUTHOR = "server";
/** How long `sendAsServer` waits at most for connections still arriving. */
const ARRIVAL_WAIT_MS = 2000;

/**
 * Judges the event stored under a once-only key (the first one stored under it): a key names one
 * message, so the same key with another text or author (`same` false) is the client's mistake.
 */
function keyedOnce(stored: ChatMessage, key: string | undefined, same: boolean): void {
  if (key === undefined || same) return;
  throw new ChatError("key_reused", "this key was used for a different message", { id: stored.id });
}

/** What writing needs: the store, the feeds and this node's members, and how rooms are found. */
export interface RoomWritesDeps {
  readonly store: Store;
  readonly feeds: RoomFeeds;
  readonly locals: LocalRooms;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly maxMessageLength: number;
  readonly onMessage?: MessageHook;
  readonly observer?: HubObserver;
  readonly arrivals: Arrivals;
  /** A room by id or name (created when `create`). */
  readonly resolveRoom: (ref: string, create?: boolean) => Promise<Room>;
  /** The member's room `ref` (its only room when absent), or why not (`not_in_room`, ...). */
  readonly roomOf: (member: LocalConnection, ref?: string) => Room | Promise<never>;
  /** Who may write in a room: refuses a muted or banned member (`muted`, `banned`). */
  readonly checkWrite: (
    room: Room,
    member: { readonly memberId: string; readonly admin?: boolean },
  ) => void;
  /** The member's role in a room it is in. */
  readonly roleIn: (
    room: Room,
    member: { readonly memberId: string; readonly admin?: boolean },
  ) => string;
  /** A room as a visitor may see and write in it (`no_such_room`, `banned`, `muted`). */
  readonly visitToWrite: (ref: string, viewer: Viewer | undefined) => Promise<Room>;
  /** Who is in a room now, on every node (whom a message's `@name` may mention). */
  readonly membersOf: (room: string) => Iterable<Mentionable>;
  /** Told of each message stored (for the counters). */
  readonly stored: () => void;
}

/** A member's message's options. */
export interface SendOptions {
  /** Once-only: the same key from the same member in the same room stores once (24 h). */
  readonly key?: string;
  /** The id of the message of the same room it answers (`not_found` when it is not there). */
  readonly replyTo?: string;
}

/** Messages and changes, from any author, into rooms' logs. */
export class RoomWrites {
  /** Writes over these parts. */
  constructor(private readonly deps: RoomWritesDeps) {}

  /**
   * Validates, rate-limits, stores and then delivers a message. The returned promise resolves with
   * the stored message only after the store has committed it; nobody receives a message that
   * history will not have. `acknowledge` is called in the message's place in the room's `seq`
   * order, so the sender sees its own message where everyone else does.
   */
  sendMessage(
    member: LocalConnection,
    message: string,
    ref?: string,
    acknowledge?: (out: Outbound) => void,
    options: SendOptions = {},
  ): Promise<ChatMessage> {
    try {
      const room = this.deps.roomOf(member, ref);
      if (room instanceof Promise) return room;
      validateMessageText(message, this.deps.maxMessageLength);
      this.deps.checkWrite(room, member);
      const { key } = options;
      const replyTo = options.replyTo === undefined
        ? undefined
        : validateCursor(options.replyTo, "replyTo");
      member.takeMessage();
      // Once-only sends: the key is the member's own, in this room (the store keeps it a day).
      const keyed = key === undefined
        ? undefined
        : { idempotencyKey: `ws:${member.memberId}:${key}` };
      const append = (text: string) =>
        this.#append(
          member,
          this.#draft(member, room, text, replyTo),
          acknowledge,
          keyed,
          (stored) =>
            keyedOnce(stored, key, stored.memberId === member.memberId && stored.message === text),
        );
      const hook = this.deps.onMessage;
      if (!hook) return append(message);
      // Judged one at a time per member, so that its messages are stored in the order sent.
      const role = this.deps.roleIn(room, member);
      const judged = member.judging.then(() =>
        hook({ member: this.#info(member), room, message, role })
      );
      member.judging = judged.catch(() => {});
      return judged.then((verdict) => append(this.#judged(verdict, message)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Stores a binary message (seed 001's binary frames: bytes, not text) in the member's single
   * room, rate-limited like text; at most four bytes per character of `CHAT_MAX_MESSAGE` (what the
   * longest text may take). The message hook judges text only, so it does not see these.
   */
  sendBinary(
    member: LocalConnection,
    bytes: Uint8Array,
    acknowledge?: (out: Outbound) => void,
  ): Promise<ChatMessage> {
    try {
      const room = this.deps.roomOf(member);
      if (room instanceof Promise) return room;
      this.deps.checkWrite(room, member);
      const max = this.deps.maxMessageLength * 4;
      if (bytes.length === 0) throw new ChatError("invalid_field", "a binary message is empty");
      if (bytes.length > max) {
        throw new ChatError("too_large", `a binary message may be at most ${max} bytes`, {
          limit: max,
        });
      }
      member.takeMessage();
      const { message: _, ...draft } = this.#draft(member, room, "");
      return this.#append(member, { ...draft, binary: bytes.toBase64() }, acknowledge);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Stores a message in the server's name (an embedder's bot or announcement) in a room, by id or
   * name (created if missing), delivered to its members like any other.
   */
  async sendAsServer(ref: string, message: string, author = "Server"): Promise<ChatMessage> {
    await this.deps.arrivals.settled(ARRIVAL_WAIT_MS);
    const room = await this.deps.resolveRoom(ref, true);
    validateMessageText(message, this.deps.maxMessageLength);
    const name = validateAuthorName(author);
    const server = { memberId: SERVER_AUTHOR, name };
    return await this.#append(server, this.#draft(server, room, message));
  }

  /**
   * Stores a message sent over HTTP or gRPC by `name` (a bot, a webhook: no socket), in an
   * existing room that the sender (`viewer`: its token or session) may write in. With an
   * idempotency key, a retry returns the message stored the first time.
   */
  async sendAsVisitor(
    ref: string,
    message: string,
    name: string,
    idempotencyKey?: string,
    replyTo?: string,
    viewer?: Viewer,
  ): Promise<ChatMessage> {
    const room = await this.deps.visitToWrite(ref, viewer);
    validateMessageText(message, this.deps.maxMessageLength);
    const author = validateDisplayName(name);
    const id = `http:${nameKey(author)}`;
    const hook = this.deps.onMessage;
    // The embedder's judge sees every message, whatever way it came in.
    const text = hook
      ? this.#judged(
        await hook({ member: { id, name: author, data: undefined }, room, message }),
        message,
      )
      : message;
    const sender = { memberId: id, name: author };
    return await this.#append(
      sender,
      this.#draft(sender, room, text, replyTo),
      undefined,
      { idempotencyKey },
      (stored) =>
        keyedOnce(stored, idempotencyKey, stored.member === author && stored.message === text),
    );
  }

  /**
   * Edits, deletes or toggles a reaction on a message of one of the member's rooms: a stored
   * event of the room's log (delivered in `seq` order like messages; the member's connection
   * gets it as `acknowledge`). Only the author edits or deletes (`forbidden`); a message that is
   * not there is `not_found`. Edits and reactions share the member's message budget.
   */
  change(
    member: LocalConnection,
    request: ChangeRequest,
    acknowledge?: (out: Outbound) => void,
  ): Promise<ChangeEvent> {
    try {
      const room = this.deps.roomOf(member, request.room);
      if (room instanceof Promise) return room;
      const target = validateCursor(request.target, "target");
      const base = { room: room.id, target, memberId: member.memberId, id: this.deps.ids() };
      let change: MessageChange;
      if (request.kind === "edit") {
        const message = validateMessageText(request.message, this.deps.maxMessageLength);
        change = { ...base, kind: "edit", message };
      } else if (request.kind === "react") {
        change = {
          ...base,
          kind: "react",
          member: member.name,
          emoji: validateEmoji(request.emoji),
        };
      } else {
        // The room's owner and moderators delete anyone's message (the event says `by`).
        const moderated = this.deps.roleIn(room, member) !== "member";
        change = moderated
          ? { ...base, kind: "delete", moderated: true }
          : { ...base, kind: "delete" };
      }
      if (change.kind !== "delete") member.takeMessage();
      return this.#commit(
        member,
        room.id,
        () => this.deps.store.changeMessage(change),
        acknowledge,
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The text to store after the message hook's verdict (`forbidden` when it refused). */
  #judged(verdict: MessageVerdict, message: string): string {
    if (verdict && "refuse" in verdict) throw new ChatError("forbidden", verdict.refuse);
    if (!verdict || !("message" in verdict)) return message;
    return validateMessageText(verdict.message, this.deps.maxMessageLength);
  }

  /** A message to store: mentions found among the room's members now, the reply's target. */
  #draft(
    member: { memberId: string; name: string },
    room: Room,
    message: string,
    replyTo?: string,
  ): MessageDraft {
    // Listing the room's members costs: only a text with an `@` needs them.
    const mentions = message.includes("@")
      ? findMentions(message, this.deps.membersOf(room.id))
      : [];
    return {
      event: "broadcast",
      room: room.id,
      id: this.deps.ids(),
      member: member.name,
      memberId: member.memberId,
      message,
      ts: this.deps.clock(),
      ...(replyTo === undefined ? {} : { replyTo }),
      ...(mentions.length === 0 ? {} : { mentions }),
    };
  }

  #info(member: LocalConnection): MemberInfo {
    return { id: member.memberId, name: member.name, data: member.data };
  }

  #append(
    author: { memberId: string; id?: string },
    draft: MessageDraft,
    acknowledge?: (out: Outbound) => void,
    options?: AppendOptions,
    /** Judges what the store gave back before anyone hears of it (throws to refuse). */
    accept?: (stored: ChatMessage) => void,
  ): Promise<ChatMessage> {
    return this.#commit(author, draft.room, async () => {
      const stored = await this.deps.store.appendMessage(draft, options);
      accept?.(stored);
      this.deps.stored();
      return stored;
    }, acknowledge);
  }

  /**
   * Writes one event of a room's log, then hands it to the room's feed (the author's connection
   * gets `acknowledge` in the event's place) and to the other nodes.
   */
  commit<T extends ChatMessage | ChangeEvent | ModerationEvent>(
    author: { memberId: string; id?: string },
    room: string,
    write: () => Promise<T>,
    acknowledge?: (out: Outbound) => void,
  ): Promise<T> {
    return this.#commit(author, room, write, acknowledge);
  }

  async #commit<T extends ChatMessage | ChangeEvent | ModerationEvent>(
    author: { memberId: string; id?: string },
    room: string,
    write: () => Promise<T>,
    acknowledge?: (out: Outbound) => void,
  ): Promise<T> {
    const { feeds, locals } = this.deps;
    const authorId = author.memberId;
    feeds.beginWrite(authorId);
    try {
      // A duration, not a time of day: measured with the monotonic timer.
      const started = performance.now();
      const stored = await write();
      this.deps.observer?.committed(performance.now() - started);
      const entry = storedEntry(stored, {
        connectionId: author.id ?? "",
        send: (o) => acknowledge?.(o),
      });
      const feed = feeds.get(room);
      // A once-only send seen before returns the event stored then, long delivered: only its
      // sender is answered (everyone else has it already).
      if (feed?.started && stored.seq <= feed.position.seq) {
        entry.ack?.send(entry.out);
        return stored;
      }
      if (feed) feed.offer(entry);
      else entry.ack?.send(entry.out);
      feeds.publish(entry, room);
      return stored;
    } catch (error) {
      // A write that failed may still have been stored (an unknown outcome, or Redis storing it
      // without the replicas asked for): the room's feed reads the store, so that the members
      // here stay level with its history.
      if (error instanceof ChatError && error.code === "store_failed") feeds.get(room)?.gap();
      throw error;
    } finally {
      // Events of this author read from the store may have waited for its acknowledgement.
      feeds.endWrite(authorId, () => {
        const rooms = new Set([room]);
        for (const device of locals.devicesOf(authorId)) {
          for (const joined of device.rooms.keys()) rooms.add(joined);
        }
        return rooms;
      });
    }
  }
}
