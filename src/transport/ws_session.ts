import { ChatError, toChatError } from "../core/errors.ts";
import type { Hub } from "../core/hub.ts";
import type { MemberInfo } from "../core/hooks.ts";
import type { LocalConnection } from "../core/local_connection.ts";
import type { Connection, Logger, Outbound } from "../core/types.ts";
import { INTERNAL_ERROR, TOKEN_EXPIRED, TOO_LARGE, TRY_AGAIN_LATER } from "../wire/close_codes.ts";
import type { Command } from "../wire/commands.ts";
import { type Frame, type Wire, wireNamed } from "../wire/wires.ts";
import type { CommandHandler } from "./embedding.ts";
import { type CommandContext, dispatch } from "./ws_commands.ts";
import type { Grant } from "./tokens.ts";
import { atExpiry } from "./expiry.ts";
import { joinedEvent } from "../wire/events.ts";

/** What a session needs besides its socket and the hub. */
export interface SessionOptions {
  readonly name?: string;
  readonly room: string;
  readonly since?: string;
  /** Rooms (names or ids) the member's token allows; all when absent. */
  readonly allowedRooms?: readonly string[];
  /** The token's subject: its connections are one member. Absent without tokens. */
  readonly subject?: string;
  /** The token says `admin: true` (a moderator in every room). */
  readonly admin?: boolean;
  /**
   * Without tokens, the session this connection is (a resumed one, or a new one): its id makes
   * the member (one member on every connection of it), and every `me` carries a fresh session.
   */
  readonly session?: {
    readonly id: string;
    /** Signs the session string for a name (renewing its expiry). */
    readonly issue: (name: string) => string;
  };
  /**
   * When the member's token expires (ms since the epoch): then the client is sent
   * `token_expired` and the socket closes with 4001, unless a `refresh` moved it.
   */
  readonly expiresAt?: number;
  readonly maxFrameBytes: number;
  readonly maxBufferedBytes: number;
  readonly log: Logger;
  /** Told of every error sent to the client (for the metrics). */
  readonly onRefused?: (code: string) => void;
  /** What the connect hook attached to the member. */
  readonly data?: unknown;
  /** The embedder's commands, by name. */
  readonly commands?: ReadonlyMap<string, CommandHandler>;
  /** Called once the member has left (the embedder's disconnect hook). */
  readonly onDisconnect?: (member: MemberInfo) => void;
  /** How this client talks (`/ws?wire=`); the JSON wire when absent. */
  readonly wire?: Wire;
  /** Extra context for log lines (remote address, origin). */
  readonly logFields?: Record<string, unknown>;
  /** The client's address, when known (for per-address limits). */
  readonly address?: string;
  /** Verifies a token sent with `refresh`; absent when tokens are off. */
  readonly refresh?: (token: string) => Promise<Grant>;
  /** Told when the client sent a frame over the limit (the socket is being closed with 1009). */
  readonly onOversized?: () => void;
}

const encoder = new TextEncoder();

/** The size of a frame in bytes, computed only when the cheap bounds cannot decide. */
function frameBytes(data: string | ArrayBuffer | Blob, limit: number): number {
  if (typeof data !== "string") return data instanceof Blob ? data.size : data.byteLength;
  // UTF-8 needs at least one and at most three bytes per UTF-16 code unit.
  if (data.length > limit || data.length * 3 <= limit) return data.length;
  return encoder.encode(data).length;
}

/**
 * One WebSocket connection: it admits the member, parses frames in order, dispatches commands to
 * the hub and maps errors to `error` events and close codes. It knows nothing of storage.
 */
export class WsSession {
  #member?: LocalConnection;
  #queue: Promise<void> = Promise.resolve();
  /** Cancels the token's expiry timer. */
  #cancelExpiry?: () => void;
  #gone = false;
  readonly #connection: Connection;
  readonly #customNames: ReadonlySet<string>;
  readonly #wire: Wire;

  /** Wires a freshly upgraded socket to the hub. */
  /** Broadcasts sent and not yet stored: a leave or a close waits for them. */
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(
    readonly socket: WebSocket,
    private readonly hub: Hub,
    private readonly options: SessionOptions,
  ) {
    this.#wire = options.wire ?? wireNamed("json")!;
    socket.binaryType = "arraybuffer"; // binary messages are read at once, in order
    this.#connection = {
      send: (out: Outbound) => this.#sendText(this.#wire.push(this.#withSession(out))),
    };
    this.#customNames = new Set(options.commands?.keys());
    // The client sees its socket open before the server runs `onopen`: from now until the member
    // is in its first room, it is arriving (a notice to that room waits for it).
    let arrived!: () => void;
    hub.arrivals.track(new Promise<void>((resolve) => arrived = resolve));
    socket.onopen = () =>
      this.#enqueue(async () => {
        try {
          await this.#open();
        } finally {
          arrived();
        }
      });
    socket.onmessage = (event) => this.#onFrame(event.data);
    socket.onclose = (event) => {
      arrived(); // a socket that never opened arrives nowhere
      this.#enqueue(async () => {
        await this.#sent(); // its last messages reach the others before its leave
        this.#closed(event.code, event.reason);
      });
    };
    socket.onerror = () => {};
  }

  /** The `me` event, with a fresh session (renewed expiry, current name) when there is one. */
  #me(member: LocalConnection): object {
    const me = this.hub.me(member);
    const session = this.options.session;
    return session ? { ...me, session: session.issue(member.name) } : me;
  }

  /** Every `me` carries the session, the hub's too (after a rename: with the new name). */
  #withSession(out: Outbound): Outbound {
    const session = this.options.session;
    if (!session || out.event?.event !== "me") return out;
    return { event: { ...out.event, session: session.issue(out.event.member) } };
  }

  /** Notes a broadcast in flight (stored and acknowledged when `done` settles). */
  #sending(done: Promise<unknown>): void {
    this.#inFlight.add(done);
    done.finally(() => this.#inFlight.delete(done));
  }

  /** Resolves once every broadcast sent so far is stored (or refused). */
  async #sent(): Promise<void> {
    if (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** The member, once admitted. */
  get member(): LocalConnection | undefined {
    return this.#member;
  }

  /** The client's address, when known. */
  get address(): string | undefined {
    return this.options.address;
  }

  /** Sends a frame; a socket whose unsent backlog passes the bound is closed with 1013. */
  send(text: Frame): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(text);
    if (this.socket.bufferedAmount > this.options.maxBufferedBytes) {
      this.close(TRY_AGAIN_LATER, "too slow: the unsent backlog passed its bound");
    }
  }

  /** Closes the socket with a code and reason, once. */
  close(code: number, reason: string): void {
    if (
      this.socket.readyState === WebSocket.CLOSED || this.socket.readyState === WebSocket.CLOSING
    ) {
      return;
    }
    this.options.log("ws_closing", { ...this.#fields(), code, reason });
    this.socket.close(code, reason);
    // A peer that stopped reading may never answer the close frame: leave the rooms now
    // rather than when (if ever) the close handshake completes.
    this.#enqueue(() => this.#closed(code, reason));
  }

  #fields(): Record<string, unknown> {
    return {
      ...this.options.logFields,
      memberId: this.#member?.memberId,
      member: this.#member?.name,
    };
  }

  #enqueue(work: () => Promise<void> | void): void {
    this.#queue = this.#queue.then(work).catch((error) => {
      this.options.log("ws_internal_error", { ...this.#fields(), error: String(error) });
      this.close(INTERNAL_ERROR, "internal error");
    });
  }

  async #open(): Promise<void> {
    let member: LocalConnection;
    try {
      member = await this.hub.connect(
        this.#connection,
        this.options.name,
        this.options.allowedRooms,
        this.options.subject ??
          (this.options.session ? `session:${this.options.session.id}` : undefined),
        {
          noDirect: this.options.wire?.directs === false,
          client: this.options.subject === undefined
            ? this.options.address
            : `sub:${this.options.subject}`,
          admin: this.options.admin,
        },
      );
    } catch (error) {
      const chatError = toChatError(error);
      if (chatError.code !== "store_failed") throw error;
      // Names could not be claimed (Redis away): the client should come back, not give up.
      this.#sendError(chatError);
      return this.close(TRY_AGAIN_LATER, "storage unavailable; try again");
    }
    member.data = this.options.data;
    this.#member = member;
    if (this.options.expiresAt !== undefined) this.#expireAt(this.options.expiresAt);
    this.options.log("ws_open", this.#fields());
    if (this.#wire.greets) this.#sendText(this.#wire.answer(this.#me(member)));
    try {
      await this.#join(this.options.room, this.options.since, undefined, !this.#wire.greets);
      if (!this.#wire.greets) this.#sendText(this.#wire.arrived(member.name));
    } catch (error) {
      this.#refuse(error);
    }
  }

  /** Closes the connection when its token expires: one timer, moved by each `refresh`. */
  #expireAt(ms: number): void {
    this.#cancelExpiry?.();
    this.#cancelExpiry = atExpiry(ms, () => {
      this.#sendError(new ChatError("token_expired", "your token expired; connect with a new one"));
      this.close(TOKEN_EXPIRED, "token expired");
    });
  }

  /** A fresh token for the same subject extends the connection to its expiry. */
  async #refresh(token: string): Promise<{ event: "refreshed"; exp: number }> {
    if (!this.options.refresh || this.options.subject === undefined) {
      throw new ChatError("invalid_field", "this connection has no token to refresh", {
        field: "token",
      });
    }
    const grant = await this.options.refresh(token);
    if (grant.subject !== this.options.subject) {
      throw new ChatError("forbidden", "the new token is for another subject");
    }
    this.#expireAt(grant.exp * 1000);
    return { event: "refreshed", exp: grant.exp };
  }

  #closed(code: number, reason: string): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#cancelExpiry?.();
    this.options.log("ws_close", { ...this.#fields(), code, reason });
    const member = this.#member;
    if (!member) return;
    this.hub.disconnect(member);
    try {
      this.options.onDisconnect?.({ id: member.memberId, name: member.name, data: member.data });
    } catch (error) {
      this.options.log("hook_failed", { hook: "onDisconnect", error: String(error) });
    }
  }

  #onFrame(data: string | ArrayBuffer | Blob): void {
    if (frameBytes(data, this.options.maxFrameBytes) > this.options.maxFrameBytes) {
      this.close(TOO_LARGE, `frame over ${this.options.maxFrameBytes} bytes`);
      this.options.onOversized?.();
      return;
    }
    if (typeof data !== "string") {
      // Seed 001's binary messages: JSON and basic wires only (the text wires speak lines).
      if (!(data instanceof ArrayBuffer) || !this.#wire.greets && this.#wire.name !== "basic") {
        this.#sendError(new ChatError("bad_json", "binary frames are not supported on this wire"));
        return;
      }
      const bytes = new Uint8Array(data);
      this.#enqueue(() => this.#runBinary(bytes));
      return;
    }
    for (const parsed of this.#wire.parse(data, this.#customNames)) {
      if (!parsed.ok) this.#sendError(parsed.error, parsed.re);
      else this.#enqueue(() => this.#run(parsed.command));
    }
  }

  /** A binary frame: a message of the connection's single room; its acknowledgement is itself. */
  #runBinary(bytes: Uint8Array): void {
    const member = this.#member;
    if (!member || this.socket.readyState !== WebSocket.OPEN) return;
    this.#sending(
      this.hub.sendBinary(member, bytes, (out) => this.#sendText(this.#wire.acknowledge(out)))
        .catch((error) => this.#refuse(error)),
    );
  }

  async #run(command: Command): Promise<void> {
    if (!this.#member || this.socket.readyState !== WebSocket.OPEN) return;
    try {
      await dispatch(this.#commands(), this.#member, command);
    } catch (error) {
      this.#refuse(error, command.id);
    }
  }

  #context?: CommandContext;

  /** What the commands of this connection act through (see `ws_commands.ts`), made once. */
  #commands(): CommandContext {
    return this.#context ??= {
      hub: this.hub,
      answer: (event, re) => this.#sendText(this.#wire.answer(event, re)),
      acknowledge: (re) => (out) => this.#sendText(this.#wire.acknowledge(out, re)),
      refuse: (error, re) => this.#refuse(error, re),
      sending: (done) => this.#sending(done),
      sent: () => this.#sent(),
      join: (room, since, re, secret) => this.#join(room, since, re, false, secret),
      refresh: (token) => this.#refresh(token),
      custom: (member, name, fields) => this.#custom(member, name, fields),
      me: (member) => this.#me(member),
    };
  }

  #refuse(error: unknown, re?: string): void {
    const chatError = toChatError(error);
    if (chatError.code === "internal" || chatError.code === "store_failed") {
      this.options.log("command_failed", {
        ...this.#fields(),
        code: chatError.code,
        error: chatError.message,
      });
    }
    this.#sendError(chatError, re);
  }

  #sendError(error: ChatError, re?: string): void {
    this.options.onRefused?.(error.code);
    this.send(this.#wire.error(error, re));
  }

  /** Sends the frames the wire made; a wire that has nothing to say for an event says `undefined`. */
  #sendText(text: Frame | readonly string[] | undefined): void {
    if (typeof text === "string" || text instanceof Uint8Array) this.send(text);
    else if (text) { for (const frame of text) this.send(frame); }
  }

  /** Joins a room; `quiet` for a wire that is not told it joined unless it asked. */
  async #join(
    room: string,
    since: string | undefined,
    re?: string,
    quiet = false,
    secret = false,
  ): Promise<void> {
    const joined = await this.hub.join(this.#member!, room, since, { private: secret });
    if (!quiet) this.#sendText(this.#wire.answer(joinedEvent(joined), re));
    await joined.flush(() => this.#drained());
  }

  /**
   * Resolves once the socket's unsent backlog is down to a quarter of its bound (or the socket is
   * gone): a long replay goes out at the pace the client reads. WebSockets have no drain event,
   * so this looks every few milliseconds, and only while a replay waits.
   */
  async #drained(): Promise<void> {
    const low = this.options.maxBufferedBytes / 4;
    while (this.socket.readyState === WebSocket.OPEN && this.socket.bufferedAmount > low) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Runs an embedder's command; its answer is `{"event": <name>, ...answer}`. */
  async #custom(
    member: LocalConnection,
    name: string,
    fields: Readonly<Record<string, unknown>>,
  ): Promise<object> {
    const handler = this.options.commands!.get(name)!;
    const result = await handler({
      member: { id: member.memberId, name: member.name, data: member.data },
      rooms: [...member.rooms.keys()],
      fields,
      post: (room, message, as) => this.hub.sendAsServer(room, message, as),
      notify: (to, message) => this.hub.notify(to, message),
    });
    return { ...(result ?? {}), event: name };
  }
}
