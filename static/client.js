// @ts-check
// @ts-self-types="./client.d.ts"
/**
 * The chat's client library: one ES module that browsers, Deno and Node (with a global
 * `WebSocket`) import as is, from the server (`GET /client.js`) or from the package
 * (`@edge-chat/server/client`). It keeps one socket, reconnects by itself (backoff with jitter,
 * honouring the close codes), resumes every joined room with `since`, resends what was not
 * acknowledged with its `key` (so it is stored once), keeps the session, and hands each room's
 * messages out once, in `seq` order.
 *
 * @example
 * ```js
 * import { connect } from "http://127.0.0.1:8000/client.js";
 * const chat = connect({ url: "http://127.0.0.1:8000", name: "ann" });
 * const room = await chat.join("lobby");
 * room.on("message", (event) => console.log(`${event.member}: ${event.message}`));
 * const stored = await room.send("hi"); // rejects with an Error whose .code is the error code
 * chat.close();
 * ```
 *
 * @module
 */

/** Close codes after which the client does not reconnect (normal, policy, frame too large). */
const FINAL = new Set([1000, 1008, 1009]);
/** The connection's token expired: reconnect with a fresh one (from `getToken`). */
const TOKEN_EXPIRED = 4001;
/** The longest wait between reconnection attempts, in ms. */
const MAX_BACKOFF_MS = 10_000;

/**
 * @typedef {Record<string, unknown> & { event: string }} ChatEvent
 * An event from the server (`broadcast`, `join`, `leave`, `edited`, ...; see the protocol).
 */

/**
 * @typedef {object} ConnectOptions
 * @property {string} url The server's address (`http(s)://host:port`, or `ws(s)://`).
 * @property {string} [name] The display name wanted.
 * @property {string} [token] A token, when the server requires one.
 * @property {() => string | Promise<string>} [getToken] Gives a fresh token: called to connect
 *   (when `token` is absent or expiring), before the token expires (the connection is refreshed
 *   in place) and after the server closed it for an expired token (`4001`).
 * @property {string} [session] A session from an earlier `me` (the same member again).
 * @property {string} [room] The room to be in from the start (default: the server's `lobby`).
 * @property {typeof WebSocket} [WebSocket] A WebSocket implementation (default: the global one).
 */

/** An error the server answered with; `code` is its error code (`rate_limited`, ...). */
export class ChatClientError extends Error {
  /**
   * An error with the server's code and message.
   * @param {string} code
   * @param {string} message
   * @param {Record<string, unknown>} [details]
   */
  constructor(code, message, details = {}) {
    super(message);
    this.name = "ChatClientError";
    /** The error code. */
    this.code = code;
    /** What else the server said. */
    this.details = details;
  }
}

/**
 * A message waiting for its acknowledgement.
 * @typedef {{ room: string, text: string, key: string, replyTo?: string, resolve: (e: ChatEvent) => void, reject: (e: Error) => void }} OutboxEntry
 */

/** A tiny event emitter: `on` returns the function that stops listening. */
export class Emitter {
  /** @type {Map<string, Set<(value: any) => void>>} */
  #handlers = new Map();

  /**
   * Listens to `name`; returns the function that stops it.
   * @param {string} name
   * @param {(value: any) => void} handler
   * @returns {() => void}
   */
  on(name, handler) {
    let set = this.#handlers.get(name);
    if (!set) this.#handlers.set(name, set = new Set());
    set.add(handler);
    return () => set.delete(handler);
  }

  /**
   * Calls every listener of `name` with `value`.
   * @param {string} name
   * @param {unknown} value
   * @returns {void}
   */
  emit(name, value) {
    for (const handler of this.#handlers.get(name) ?? []) handler(value);
  }
}

/**
 * When a token expires (its `exp`, in ms), read without verifying; `undefined` if it says none.
 * @param {string | undefined} token
 * @returns {number | undefined}
 */
function expiryOf(token) {
  try {
    const part = String(token).split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    const exp = JSON.parse(atob(part)).exp;
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long before its expiry a token is replaced: a fifth of its life, between 0.5 s and 60 s.
 * @param {number} lifetimeMs
 */
function refreshMargin(lifetimeMs) {
  return Math.min(60_000, Math.max(500, lifetimeMs / 5));
}

/** A random key for a once-only send. */
function newKey() {
  return crypto.randomUUID();
}

/** One joined room: its events, and what a member does in it. */
export class Room extends Emitter {
  /**
   * A room handle, made by `ChatClient.join`.
   * @param {ChatClient} client
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

  /** @type {ChatClient} */
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

/** A connection to the chat: rooms, requests, the outbox, reconnection. */
export class ChatClient extends Emitter {
  /**
   * Opens the connection (use `connect`).
   * @param {ConnectOptions} options
   */
  constructor(options) {
    super();
    new URL(options.url); // a bad address throws here, not later
    this.#options = options;
    this.#session = options.session;
    this.#token = options.token;
    this.#open();
  }

  /** @type {ConnectOptions} */
  #options;
  /** @type {WebSocket | undefined} */
  #socket;
  /** @type {string | undefined} */
  #session;
  /** @type {string | undefined} The token of the connection (the last one given or refreshed). */
  #token;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #refreshTimer;
  /** @type {"connecting" | "open" | "closed"} */
  #status = "connecting";
  #attempt = 0;
  #nextId = 0;
  #closed = false;
  /** @type {Map<string, Room>} Joined rooms by id. */
  #rooms = new Map();
  /** @type {Map<string, { resolve: (e: ChatEvent) => void, reject: (e: Error) => void }>} */
  #pending = new Map();
  /** @type {Map<string, OutboxEntry>} */
  #outbox = new Map();
  /**
   * Who this connection is (from the last `me`).
   * @type {{ id: string, name: string } | undefined}
   */
  me = undefined;

  /**
   * The connection's state: `connecting`, `open` or `closed`.
   * @returns {"connecting" | "open" | "closed"}
   */
  get status() {
    return this.#status;
  }

  /**
   * The session to keep (give it back as `session` to be the same member later).
   * @returns {string | undefined}
   */
  get session() {
    return this.#session;
  }

  /** @param {"connecting" | "open" | "closed"} status */
  #setStatus(status) {
    if (this.#status === status) return;
    this.#status = status;
    this.emit("status", status);
  }

  #url() {
    const base = new URL(this.#options.url);
    base.protocol = base.protocol === "https:" || base.protocol === "wss:" ? "wss:" : "ws:";
    base.pathname = base.pathname.replace(/\/?$/, "/ws");
    const query = base.searchParams;
    if (this.#options.name) query.set("name", this.me?.name ?? this.#options.name);
    if (this.#token) query.set("token", this.#token);
    if (this.#session) query.set("session", this.#session);
    // The first room is joined with the connection (resuming where it was); the rest after.
    const [first] = this.#rooms.values();
    query.set("room", first ? first.id : this.#options.room ?? "lobby");
    if (first?.last) query.set("since", first.last);
    return base.href;
  }

  /** Whether the token should be replaced before it is used (absent, expired or expiring). */
  #tokenStale() {
    if (!this.#token) return true;
    const exp = expiryOf(this.#token);
    return exp !== undefined && exp - Date.now() < 500;
  }

  /** Connects (after fetching a token when one is due); a failure to get one waits and retries. */
  async #open() {
    this.#setStatus("connecting");
    if (this.#options.getToken && this.#tokenStale()) {
      try {
        this.#token = await this.#options.getToken();
      } catch (error) {
        this.emit("error", new ChatClientError("token_failed", `getToken failed: ${error}`));
        return this.#retry();
      }
      if (this.#closed) return;
    }
    const Impl = this.#options.WebSocket ?? globalThis.WebSocket;
    const socket = new Impl(this.#url());
    this.#socket = socket;
    socket.onmessage = (message) => {
      if (typeof message.data !== "string") return; // binary messages are not this library's
      this.#receive(/** @type {ChatEvent} */ (JSON.parse(message.data)));
    };
    socket.onclose = (close) => {
      if (this.#socket !== socket) return;
      clearTimeout(this.#refreshTimer);
      this.emit("disconnected", { code: close.code, reason: close.reason });
      this.#failPending(new ChatClientError("disconnected", "the connection closed"));
      const expired = close.code === TOKEN_EXPIRED;
      if (expired) this.#token = undefined; // never reconnect with the expired one
      if (this.#closed || FINAL.has(close.code) || (expired && !this.#options.getToken)) {
        this.#closed = true;
        this.#setStatus("closed");
        for (const entry of this.#outbox.values()) {
          entry.reject(new ChatClientError("closed", `the connection closed (${close.code})`));
        }
        this.#outbox.clear();
        return;
      }
      this.#retry();
    };
    socket.onerror = () => {};
  }

  /** Connects again after a backoff with jitter. */
  #retry() {
    this.#setStatus("connecting");
    const base = Math.min(MAX_BACKOFF_MS, 250 * 2 ** this.#attempt++);
    setTimeout(() => this.#closed || this.#open(), base * (0.5 + Math.random()));
  }

  /** Schedules the token's replacement before it expires (with `getToken` only). */
  #scheduleRefresh() {
    clearTimeout(this.#refreshTimer);
    const exp = expiryOf(this.#token);
    if (!this.#options.getToken || exp === undefined) return;
    const issued = this.#tokenIssuedAt ?? Date.now();
    const at = exp - refreshMargin(exp - issued);
    this.#refreshTimer = setTimeout(() => this.#refresh(), Math.max(0, at - Date.now()));
  }

  /** @type {number | undefined} When the current token was received. */
  #tokenIssuedAt;

  /**
   * Replaces the connection's token in place (`refresh`). When that fails the server closes
   * the connection at the expiry (`4001`) and the client reconnects with a fresh token.
   */
  async #refresh() {
    const socket = this.#socket;
    try {
      const token = await /** @type {() => string | Promise<string>} */ (this.#options.getToken)();
      if (this.#socket !== socket || this.#status !== "open") return;
      await this.request({ command: "refresh", token });
      this.#token = token;
      this.#tokenIssuedAt = Date.now();
      this.emit("token", token);
      this.#scheduleRefresh();
    } catch (error) {
      this.emit(
        "error",
        error instanceof ChatClientError
          ? error
          : new ChatClientError("token_failed", `getToken failed: ${error}`),
      );
    }
  }

  /** @param {ChatEvent} event */
  #receive(event) {
    const re = typeof event.re === "string" ? event.re : undefined;
    // Our own message's acknowledgement carries the key it was sent with.
    const sent = re === undefined ? undefined : this.#outbox.get(re);
    if (sent && event.event === "broadcast") event.key = sent.key;
    if (event.event === "rooms" && re === undefined) this.emit("rooms", event.rooms);
    if (event.event === "me") {
      this.me = { id: String(event.id), name: String(event.member) };
      if (typeof event.session === "string") this.#session = event.session;
      if (re === undefined) this.#ready(); // the greeting of a (re)connection
      this.emit("me", event);
    }
    if (event.event === "joined" && re === undefined) {
      // The first room, joined with the connection.
      const room = this.#rooms.get(String(event.room));
      if (room) this.#rejoined(room, event);
    }
    if (re !== undefined) {
      const waiter = this.#pending.get(re);
      if (waiter) {
        this.#pending.delete(re);
        if (event.event === "error") {
          const { code, message, ...details } = event;
          waiter.reject(new ChatClientError(String(code), String(message), details));
        } else waiter.resolve(event);
      }
    }
    const room = typeof event.room === "string" ? this.#rooms.get(event.room) : undefined;
    if (room && event.event !== "joined" && event.event !== "left" && event.event !== "error") {
      room.receive(event);
    }
    if (event.event === "direct" && re === undefined) this.emit("direct", event);
    // An invitation to a room this connection is not in.
    if (event.event === "invited" && re === undefined && !room) this.emit("invited", event);
    if (event.event === "notice") this.emit("notice", event);
    if (event.event === "error" && re === undefined) {
      this.emit("error", new ChatClientError(String(event.code), String(event.message)));
    }
  }

  /** A (re)connection greeted us: join the other rooms again, then resend the outbox. */
  async #ready() {
    this.#attempt = 0;
    this.#tokenIssuedAt = Date.now();
    this.#scheduleRefresh();
    this.#setStatus("open");
    const [, ...others] = this.#rooms.values();
    for (const room of others) {
      try {
        const joined = await this.request({ command: "join", room: room.id, since: room.last });
        this.#rejoined(room, joined);
      } catch (error) {
        room.emit("error", error);
      }
    }
    for (const [id, entry] of this.#outbox) this.#sendBroadcast(id, entry);
    if (this.#watchingRooms) this.watchRooms().catch(() => {});
  }

  #watchingRooms = false;

  /**
   * The room list (as `GET /rooms`), and from now on a `rooms` event with the list whenever it
   * changes (member counts, new rooms), across reconnections.
   * @returns {Promise<{ id: string, name: string, members: number }[]>}
   */
  async watchRooms() {
    this.#watchingRooms = true;
    const answer = await this.request({ command: "rooms" });
    const rooms = /** @type {{ id: string, name: string, members: number }[]} */ (answer.rooms);
    this.emit("rooms", rooms);
    return rooms;
  }

  /**
   * @param {Room} room
   * @param {ChatEvent} joined
   */
  #rejoined(room, joined) {
    room.members = /** @type {string[]} */ (joined.members ?? room.members);
    room.joined = joined;
    room.emit("joined", joined);
    // Part of what was missed is gone: the caller should reload history.
    if (joined.recovered === false) {
      room.seq = Number(joined.seq ?? room.seq);
      room.emit("reload", joined);
    }
  }

  /**
   * Joins a room (by id or name; a new name makes a room, private with `{ private: true }`: only
   * you and those you invite may see it); resolves once joined.
   * @param {string} ref
   * @param {{ private?: boolean }} [options]
   * @returns {Promise<Room>}
   */
  async join(ref, options = {}) {
    await this.#opened();
    const joined = await this.request({
      command: "join",
      room: ref,
      ...(options.private ? { private: true } : {}),
    });
    const known = this.#rooms.get(String(joined.room));
    if (known) return known;
    const room = new Room(this, joined);
    this.#rooms.set(room.id, room);
    return room;
  }

  /**
   * Forgets a room the server took this member out of (a kick or ban): not resumed any more.
   * @param {Room} room
   * @returns {void}
   */
  forget(room) {
    this.#rooms.delete(room.id);
  }

  /**
   * Leaves a room (see `Room.leave`).
   * @param {Room} room
   * @returns {Promise<void>}
   */
  async leave(room) {
    this.#rooms.delete(room.id);
    await this.request({ command: "leave", room: room.id });
  }

  /** Resolves once the connection is open (rejects if it is closed for good). */
  #opened() {
    if (this.#status === "open") return Promise.resolve();
    if (this.#closed) return Promise.reject(new ChatClientError("closed", "the client is closed"));
    return new Promise((resolve, reject) => {
      const stop = this.on("status", (status) => {
        if (status === "connecting") return;
        stop();
        if (status === "open") resolve(undefined);
        else reject(new ChatClientError("closed", "the client is closed"));
      });
    });
  }

  /**
   * Sends a command and resolves with the server's answer to it (rejects with its error).
   * @param {Record<string, unknown>} command
   * @param {string} [id] the command's `id` (a fresh one when absent)
   * @returns {Promise<ChatEvent>}
   */
  async request(command, id) {
    await this.#opened();
    const re = id ?? `q${++this.#nextId}`;
    return await new Promise((resolve, reject) => {
      const earlier = this.#pending.get(re);
      // The same id twice in flight (a `read` of one message): both get the one answer.
      this.#pending.set(re, {
        resolve: (event) => {
          earlier?.resolve(event);
          resolve(event);
        },
        reject: (error) => {
          earlier?.reject(error);
          reject(error);
        },
      });
      this.#socket?.send(JSON.stringify({ ...command, id: re }));
    });
  }

  /**
   * A GET of the server's HTTP API (with the connection's token), as JSON; an error answer
   * rejects with its code.
   * @param {string} path
   * @param {Record<string, string | number | undefined>} query
   * @returns {Promise<any>}
   */
  async get(path, query) {
    const url = new URL(this.#options.url);
    url.protocol = url.protocol === "wss:"
      ? "https:"
      : url.protocol === "ws:"
      ? "http:"
      : url.protocol;
    url.pathname = url.pathname.replace(/\/?$/, path);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers = this.#token ? { authorization: `Bearer ${this.#token}` } : undefined;
    const response = await fetch(url, { headers });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new ChatClientError(
        String(body.error ?? "failed"),
        String(body.message ?? response.statusText),
      );
    }
    return body;
  }

  /**
   * Sends a command that has no answer.
   * @param {Record<string, unknown>} command
   * @returns {void}
   */
  fire(command) {
    if (this.#status === "open") this.#socket?.send(JSON.stringify(command));
  }

  /**
   * Queues a message until it is acknowledged: sent now if connected, resent with its key after
   * every reconnection until the server answers.
   * @param {string} room
   * @param {string} text
   * @param {string} key
   * @param {string} [replyTo]
   * @returns {Promise<ChatEvent>}
   */
  outbox(room, text, key, replyTo) {
    if (this.#closed) return Promise.reject(new ChatClientError("closed", "the client is closed"));
    return new Promise((resolve, reject) => {
      const id = `s${++this.#nextId}`;
      const entry = { room, text, key, replyTo, resolve, reject };
      this.#outbox.set(id, entry);
      if (this.#status === "open") this.#sendBroadcast(id, entry);
    });
  }

  /**
   * @param {string} id
   * @param {OutboxEntry} entry
   */
  #sendBroadcast(id, entry) {
    this.#pending.set(id, {
      resolve: (event) => {
        this.#outbox.delete(id);
        entry.resolve(event);
      },
      reject: (error) => {
        // A dropped connection resends it; an answer from the server is final.
        if (error instanceof ChatClientError && error.code === "disconnected") return;
        this.#outbox.delete(id);
        entry.reject(error);
      },
    });
    this.#socket?.send(
      JSON.stringify({
        command: "broadcast",
        room: entry.room,
        message: entry.text,
        key: entry.key,
        ...(entry.replyTo === undefined ? {} : { replyTo: entry.replyTo }),
        id,
      }),
    );
  }

  /** @param {Error} error */
  #failPending(error) {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const waiter of pending) waiter.reject(error);
  }

  /**
   * Sends a direct message to a member (name or id); resolves with the stored event.
   * @param {string} to
   * @param {string} message
   * @returns {Promise<ChatEvent>}
   */
  direct(to, message) {
    return this.request({ command: "direct", to, message });
  }

  /**
   * Closes the connection for good (nothing is resent).
   * @returns {void}
   */
  close() {
    this.#closed = true;
    clearTimeout(this.#refreshTimer);
    this.#socket?.close(1000);
    this.#setStatus("closed");
  }
}

/**
 * Connects to a chat server; the client reconnects by itself until `close`.
 * @param {ConnectOptions} options
 * @returns {ChatClient}
 */
export function connect(options) {
  return new ChatClient(options);
}
