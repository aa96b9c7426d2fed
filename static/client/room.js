// @ts-check
/**
 * One joined room of the client library: its events handed out once each in `seq` order, and
 * what a member does in it, asked of the connection that holds it.
 *
 * @module
 */
import { Emitter } from "./events.js";

/**
 * @typedef {Record<string, unknown> & { event: string }} ChatEvent
 * An event from the server.
 */

/**
 * What a room asks of its connection (the library's `ChatClient`).
 * @typedef {object} RoomClient
 * @property {{ id: string, name: string } | undefined} me Who the connection is.
 * @property {(command: Record<string, unknown>, id?: string) => Promise<ChatEvent>} request
 * @property {(path: string, query: Record<string, string | number | undefined>) => Promise<any>} get
 * @property {(command: Record<string, unknown>) => void} fire
 * @property {(room: string, text: string, key: string, replyTo?: string) => Promise<ChatEvent>} outbox
 * @property {(room: Room) => void} forget
 * @property {(room: Room) => Promise<void>} leave
 */

/** A random key for a once-only send. */
function newKey() {
  return crypto.randomUUID();
}

/** One joined room: its events, and what a member does in it. */
export class Room extends Emitter {
  /**
   * A room handle, made by `ChatClient.join`.
   * @param {RoomClient} client
   * @param {ChatEvent} joined
   */
  constructor(client, joined) {
    super();
    this.#client = client;
    /** The room's id. */
    this.id = String(joined.room);
    /** The room's name. */
    this.name = String(joined.name);
    /** @type {string[]} The members' names, as of the last `joined` or `list`. */
    this.members = /** @type {string[]} */ (joined.members ?? []);
    /** The last `seq` handed out (every event of the room after it is yet to come). */
    this.seq = Number(joined.seq ?? 0);
    /** @type {string | undefined} The id of the last stored event seen: where a resume starts. */
    this.last = undefined;
    /** @type {ChatEvent} The last `joined` answer (`count` and `more` in a large room). */
    this.joined = joined;
    /** @type {string | undefined} Where this member stopped reading (on any device). */
    this.readUpTo = typeof joined.readUpTo === "string" ? joined.readUpTo : undefined;
    /** Messages after it when joined (the server counts up to 1000). */
    this.unread = Number(joined.unread ?? 0);
    /** @type {string} Your role here: `owner`, `moderator` or `member` (kept up by `role` events). */
    this.role = String(joined.role ?? "member");
    /** Whether only its list may see it. */
    this.private = joined.private === true;
  }

  /** @type {RoomClient} */
  #client;

  /**
   * Sends a message; resolves with the stored `broadcast` event (once stored, whatever
   * reconnections happen meanwhile: it is resent with its key, and stored once).
   * @param {string} text
   * @param {{ key?: string, replyTo?: string }} [options] `replyTo`: the id of the message it
   *   answers (the reply joins that message's thread)
   * @returns {Promise<ChatEvent>}
   */
  send(text, options = {}) {
    return this.#client.outbox(this.id, text, options.key ?? newKey(), options.replyTo);
  }

  /**
   * Says you read the room up to the message `id` (never moves back); every connection of yours
   * gets a `read` event. Resolves with the position after.
   * @param {string} id
   * @returns {Promise<ChatEvent>} the `read` event
   */
  read(id) {
    // The command's `id` is the message read (the protocol's field), echoed as `re`.
    return this.#client.request({ command: "read", room: this.id }, id);
  }

  /**
   * A page of the thread of message `id` (its replies, oldest first; `before` for older ones).
   * @param {string} id
   * @param {{ before?: string, limit?: number }} [query]
   * @returns {Promise<{ messages: ChatEvent[], more: boolean }>}
   */
  thread(id, query = {}) {
    return this.#client.get(`/rooms/${this.id}/messages`, { thread: id, ...query });
  }

  /**
   * Messages whose text contains `q` (case-insensitive), newest matches first by page; with
   * `more`, go on with `before` set to `next` (or the oldest message of the page).
   * @param {string} q
   * @param {{ before?: string, limit?: number }} [query]
   * @returns {Promise<{ messages: ChatEvent[], more: boolean, next?: string }>}
   */
  search(q, query = {}) {
    return this.#client.get(`/rooms/${this.id}/messages`, { q, ...query });
  }

  /**
   * A page of history before `before` (or the newest).
   * @param {{ before?: string, limit?: number }} [query]
   * @returns {Promise<ChatEvent>} the `history` event
   */
  history(query = {}) {
    return this.#client.request({ command: "history", room: this.id, ...query });
  }

  /**
   * Who is in the room now.
   * @returns {Promise<string[]>}
   */
  async list() {
    const answer = await this.#client.request({ command: "list", room: this.id });
    this.members = /** @type {string[]} */ (answer.members);
    return this.members;
  }

  /**
   * Edits one of your messages.
   * @param {string} target
   * @param {string} message
   * @returns {Promise<ChatEvent>} the `edited` event
   */
  edit(target, message) {
    return this.#client.request({ command: "edit", room: this.id, target, message });
  }

  /**
   * Deletes one of your messages.
   * @param {string} target
   * @returns {Promise<ChatEvent>} the `deleted` event
   */
  delete(target) {
    return this.#client.request({ command: "delete", room: this.id, target });
  }

  /**
   * Toggles your reaction to a message.
   * @param {string} target
   * @param {string} emoji
   * @returns {Promise<ChatEvent>} the `reaction` event
   */
  react(target, emoji) {
    return this.#client.request({ command: "react", room: this.id, target, emoji });
  }

  /**
   * A moderation command (owners and moderators; `role` the owner only): `invite`, `kick`,
   * `unban` take `to` (a name while connected, or a member id); `ban` takes `seconds` (absent:
   * until `unban`), `mute` requires it; `role` takes `role` (`moderator` or `member`). Resolves
   * with the stored event; rejects with `forbidden`, `no_such_member`, ...
   * @param {"invite" | "role" | "kick" | "ban" | "unban" | "mute"} action
   * @param {string} to
   * @param {{ seconds?: number, role?: "moderator" | "member" }} [options]
   * @returns {Promise<ChatEvent>}
   */
  moderate(action, to, options = {}) {
    return this.#client.request({ command: action, room: this.id, to, ...options });
  }

  /**
   * Says you are typing (the server relays at most one a second).
   * @returns {void}
   */
  typing() {
    this.#client.fire({ command: "typing", room: this.id });
  }

  /**
   * Leaves the room (it is not resumed any more).
   * @returns {Promise<void>}
   */
  async leave() {
    await this.#client.leave(this);
  }

  /**
   * An event of this room from the server: stored ones once each, in `seq` order.
   * @param {ChatEvent} event
   * @returns {void}
   */
  receive(event) {
    if (typeof event.seq === "number") {
      if (event.seq <= this.seq) return; // a replay of something already handed out
      if (event.seq > this.seq + 1) this.emit("gap", { from: this.seq + 1, to: event.seq - 1 });
      this.seq = event.seq;
      this.last = String(event.logId ?? event.id);
    }
    switch (event.event) {
      case "broadcast":
        return this.emit("message", event);
      case "read":
        if (this.readUpTo === undefined || String(event.id) > this.readUpTo) {
          this.readUpTo = String(event.id);
        }
        return this.emit("read", event);
      case "role":
        if (event.memberId === this.#client.me?.id) this.role = String(event.role);
        return this.emit("role", event);
      case "kicked":
      case "banned":
        this.emit(event.event, event);
        // Taken out of the room: it is not resumed any more.
        if (event.memberId === this.#client.me?.id) {
          this.#client.forget(this);
          this.emit("removed", event);
        }
        return;
      case "join":
        if (!this.members.includes(String(event.member))) this.members.push(String(event.member));
        return this.emit("join", event);
      case "leave":
        this.members = this.members.filter((m) => m !== event.member);
        return this.emit("leave", event);
      default:
        return this.emit(String(event.event), event);
    }
  }
}
