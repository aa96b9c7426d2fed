// @ts-check
/**
 * The client library's connection: one socket, reconnected by itself (backoff with jitter,
 * honouring the close codes), every joined room resumed with `since`, the outbox resent with its
 * keys, the session kept. Its rooms are `room.js`'s, its pending answers `requests.js`'s, its
 * token `token_keeper.js`'s.
 *
 * @module
 */
import { ChatClientError, Emitter } from "./events.js";
import { Requests } from "./requests.js";
import { Room } from "./room.js";
import { TokenKeeper } from "./token_keeper.js";

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
    this.#tokens = new TokenKeeper({
      token: options.token,
      getToken: options.getToken,
      renew: (token) => this.request({ command: "refresh", token }),
      renewed: (token) => this.emit("token", token),
      failed: (error) => this.emit("error", error),
    });
    this.#open();
  }

  /** @type {ConnectOptions} */
  #options;
  /** @type {WebSocket | undefined} */
  #socket;
  /** @type {string | undefined} */
  #session;
  /** @type {TokenKeeper} The token of the connection (the last one given or refreshed). */
  #tokens;
  /** @type {"connecting" | "open" | "closed"} */
  #status = "connecting";
  #attempt = 0;
  #closed = false;
  /** @type {Map<string, Room>} Joined rooms by id. */
  #rooms = new Map();
  /** Commands awaiting answers, and messages awaiting acknowledgement. */
  #requests = new Requests((frame) => this.#socket?.send(frame));
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
    const token = this.#tokens.token;
    if (token) query.set("token", token);
    if (this.#session) query.set("session", this.#session);
    // The first room is joined with the connection (resuming where it was); the rest after.
    const [first] = this.#rooms.values();
    query.set("room", first ? first.id : this.#options.room ?? "lobby");
    if (first?.last) query.set("since", first.last);
    return base.href;
  }

  /** Connects (after fetching a token when one is due); a failure to get one waits and retries. */
  async #open() {
    this.#setStatus("connecting");
    try {
      await this.#tokens.ready();
    } catch (error) {
      this.emit("error", error);
      return this.#retry();
    }
    if (this.#closed) return;
    const Impl = this.#options.WebSocket ?? globalThis.WebSocket;
    const socket = new Impl(this.#url());
    this.#socket = socket;
    socket.onmessage = (message) => {
      if (typeof message.data !== "string") return; // binary messages are not this library's
      this.#receive(/** @type {ChatEvent} */ (JSON.parse(message.data)));
    };
    socket.onclose = (close) => {
      if (this.#socket !== socket) return;
      const expired = close.code === TOKEN_EXPIRED;
      // Never reconnect with an expired token.
      this.#tokens.closed(expired);
      this.emit("disconnected", { code: close.code, reason: close.reason });
      this.#requests.disconnected();
      if (this.#closed || FINAL.has(close.code) || (expired && !this.#tokens.renewable)) {
        this.#closed = true;
        this.#setStatus("closed");
        this.#requests.closed(close.code);
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

  /** @param {ChatEvent} event */
  #receive(event) {
    const re = typeof event.re === "string" ? event.re : undefined;
    if (re !== undefined && event.event === "broadcast") {
      // Our own message's acknowledgement carries the key it was sent with.
      const key = this.#requests.keyOf(re);
      if (key !== undefined) event.key = key;
    }
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
    if (re !== undefined) this.#requests.answer(re, event);
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
    this.#tokens.opened();
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
    this.#requests.resend();
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
    return await this.#requests.ask(command, id);
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
    const token = this.#tokens.token;
    const headers = token ? { authorization: `Bearer ${token}` } : undefined;
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
    return this.#requests.queue(room, text, key, replyTo, this.#status === "open");
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
    this.#tokens.closed();
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
