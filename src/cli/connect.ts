/**
 * `deno task connect --host H --port P --username U` (or `HOST`, `PORT`, `USER_NAME`): the
 * terminal client of seed 002. Prints `Connecting to host:port as name...`, then, once connected,
 * `Type your messages (press Ctrl+C to exit):` and the room's lines as `name: message` and
 * `Server: ...`; every line typed (or piped) is sent. `/join room` (moves you there), `/rooms`,
 * `/list`, `/me` and `/quit` (exit 0) are commands. A server that refuses the connection (a bad
 * name, a token) is one line on stderr and exit 1; one that cannot be reached is retried for
 * `CONNECT_RETRY_S` seconds (30), saying so, then the same. A dropped connection is retried with
 * backoff and resumed with `since`: no line is lost or shown twice, and lines typed meanwhile are
 * sent once it is back. At the end of a piped input it waits for its lines to be stored, then exits.
 *
 * @module
 */
import { FINAL_CLOSE_CODES } from "../wire/close_codes.ts";

type Event = Record<string, unknown>;

/** The client's settings, from flags over the environment. */
interface Options {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
}

function parseOptions(args: string[]): Options {
  let host = Deno.env.get("HOST") || "localhost";
  let port = Deno.env.get("PORT") || "8000";
  let username = Deno.env.get("USER_NAME") || undefined;
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].includes("=") ? args[i].split(/=(.*)/s, 2) : [args[i]];
    const value = () => inline ?? args[++i] ?? fail(`${flag} needs a value`);
    if (flag === "--host" || flag === "-h") host = value();
    else if (flag === "--port" || flag === "-p") port = value();
    else if (flag === "--username" || flag === "--name" || flag === "-u") username = value();
    else fail(`unknown option '${args[i]}'`);
  }
  const n = Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`the port must be 1-65535, got '${port}'`);
  return { host, port: n, username };
}

/** Ends the client with one line on stderr and exit code 1 (a refusal, an unreachable server). */
function giveUp(message: string): never {
  console.error(`connect: ${message}`);
  Deno.exit(1);
}

/**
 * Why a WebSocket upgrade failed: the server's own words (`{"error", "message"}` with its status),
 * read from a plain upgrade request, or `undefined` when nothing answers at all.
 */
async function refusal(host: string, port: number, path: string): Promise<string | undefined> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: host, port });
  } catch {
    return undefined;
  }
  try {
    const request = [
      `GET ${path} HTTP/1.1`,
      `Host: ${host}:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Version: 13",
      `Sec-WebSocket-Key: ${btoa(crypto.randomUUID().slice(0, 16))}`,
      "",
      "",
    ].join("\r\n");
    await conn.write(new TextEncoder().encode(request));
    const buffer = new Uint8Array(16 * 1024);
    const read = await conn.read(buffer) ?? 0;
    const text = new TextDecoder().decode(buffer.subarray(0, read));
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
    if (status === 101) return "";
    const body = text.slice(text.indexOf("\r\n\r\n") + 4);
    try {
      const error = JSON.parse(body);
      return `${error.message ?? error.error} (${status} ${error.error})`;
    } catch {
      return `the server answered ${status || "something else than HTTP"}`;
    }
  } finally {
    conn.close();
  }
}

function fail(message: string): never {
  console.error(
    `connect: ${message}\nusage: deno task connect [--host H] [--port P] [--username U]`,
  );
  Deno.exit(2);
}

/** One terminal session: the socket, the rooms with their resume cursors, the unsent lines. */
class TerminalClient {
  #socket?: WebSocket;
  #name: string | undefined;
  #current?: string;
  readonly #rooms = new Map<string, { name: string; last?: string }>();
  /** Lines not yet acknowledged, by request id, in the order typed. */
  readonly #pending = new Map<string, { room?: string; text: string; sent: boolean }>();
  /** The member ids this client has had (one per connection): its own messages in a replay. */
  readonly #ids = new Set<string>();
  #next = 0;
  #attempt = 0;
  #stopping = false;
  #drained?: () => void;
  readonly #encoder = new TextEncoder();
  /** Whether a connection ever opened (before that, a failure is a refusal or an outage). */
  #everOpened = false;
  /** Until when an unreachable server is retried before giving up. */
  #retryUntil = 0;
  /** The room a `/join` moves to, until its `joined` arrives. */
  #moving?: string;

  constructor(private readonly options: Options) {
    this.#name = options.username;
  }

  #print(line: string): void {
    Deno.stdout.writeSync(this.#encoder.encode(`${line}\n`));
  }

  /** Opens (or reopens) the socket: the first room with its cursor, the others after `me`. */
  open(): void {
    const { host, port } = this.options;
    const query = new URLSearchParams();
    if (this.#name) query.set("name", this.#name);
    const [first, ...others] = [...this.#rooms.entries()];
    if (first) {
      query.set("room", first[0]);
      if (first[1].last) query.set("since", first[1].last);
    }
    const path = `/ws?${query}`;
    const socket = new WebSocket(`ws://${host}:${port}${path}`);
    this.#socket = socket;
    socket.onopen = () => {
      this.#attempt = 0;
      if (!this.#everOpened) {
        this.#everOpened = true;
        this.#print("Type your messages (press Ctrl+C to exit):");
      }
      for (const [id, room] of others) {
        socket.send(JSON.stringify({ command: "join", room: id, since: room.last }));
      }
      // The answer to this comes after every replay: lines the replay shows as stored are not
      // sent again, the others are (see #handle).
      socket.send(JSON.stringify({ command: "me", id: "resync" }));
    };
    socket.onmessage = (message) => this.#handle(JSON.parse(String(message.data)));
    socket.onclose = (close) => {
      if (this.#socket !== socket || this.#stopping) return;
      for (const line of this.#pending.values()) line.sent = false;
      if (FINAL_CLOSE_CODES.has(close.code)) {
        this.#print(`Server: disconnected (${close.code} ${close.reason})`);
        Deno.exit(1);
      }
      const delay = Math.min(10_000, 250 * 2 ** this.#attempt++) * (0.5 + Math.random());
      if (this.#everOpened) {
        setTimeout(() => this.open(), delay);
        return;
      }
      // Never connected: a refusal ends here with the server's reason; an outage is retried.
      this.#firstFailure(path).then((retry) => retry && setTimeout(() => this.open(), delay));
    };
    socket.onerror = () => {};
  }

  /** Why the first connection failed: gives up on a refusal; `true` to retry an outage. */
  async #firstFailure(path: string): Promise<boolean> {
    const { host, port } = this.options;
    const reason = await refusal(host, port, path);
    if (reason) giveUp(`the server at ${host}:${port} refused the connection: ${reason}`);
    const now = Date.now();
    if (this.#retryUntil === 0) {
      const seconds = Number(Deno.env.get("CONNECT_RETRY_S") ?? 30);
      this.#retryUntil = now + seconds * 1000;
      console.error(
        `connect: cannot reach ${host}:${port} (connection refused); retrying for ${seconds} s...`,
      );
    }
    if (now >= this.#retryUntil) giveUp(`cannot reach ${host}:${port}: is the server running?`);
    return true;
  }

  #handle(event: Event): void {
    const room = typeof event.room === "string" ? event.room : undefined;
    const prefix = room && room !== this.#current && this.#rooms.size > 1
      ? `#${this.#rooms.get(room)?.name ?? room} `
      : "";
    switch (event.event) {
      case "me":
        this.#name = String(event.member);
        this.#ids.add(String(event.id));
        if (event.re === "resync") {
          for (const [id, line] of this.#pending) this.#send(id, line);
        }
        break;
      case "joined": {
        const known = this.#rooms.get(String(event.room));
        this.#rooms.set(String(event.room), { name: String(event.name), last: known?.last });
        if (event.re === "move") {
          // `/join` moves: leave the room you were in, and say where you are now.
          const from = this.#current;
          this.#current = String(event.room);
          if (from && from !== this.#current) {
            this.#rooms.delete(from);
            this.#socket?.send(JSON.stringify({ command: "leave", room: from }));
          }
          this.#print(`Server: ${this.#name} has joined ${event.name}`);
        } else if (!known) {
          this.#current = String(event.room);
          this.#print(`Server: ${this.#name} has joined the chat`);
        }
        break;
      }
      case "broadcast": {
        const cursor = room ? this.#rooms.get(room) : undefined;
        if (cursor) cursor.last = String(event.id);
        if (typeof event.re === "string") this.#settle(event.re);
        else if (this.#ids.has(String(event.memberId))) this.#storedMeanwhile(event);
        // A message deleted since (in a replay) shows as a tombstone.
        if (event.deleted === true) this.#print(`${prefix}Server: a message was deleted`);
        else this.#print(`${prefix}${event.member}: ${event.message}`);
        break;
      }
      case "edited":
        this.#print(`${prefix}Server: a message was edited: ${event.message}`);
        break;
      case "direct":
        this.#print(`(direct) ${event.from}: ${event.message}`);
        break;
      case "join":
        this.#print(`${prefix}Server: ${event.member} has joined the chat`);
        break;
      case "leave":
        this.#print(`${prefix}Server: ${event.member} has left the chat`);
        break;
      case "renamed":
        this.#print(`${prefix}Server: ${event.from} is now ${event.to}`);
        break;
      case "notice":
        this.#print(`${prefix}Server: ${event.message}`);
        break;
      case "list":
        this.#print(
          `Server: in ${this.#rooms.get(String(room))?.name ?? room}: ${
            (event.members as string[]).join(", ")
          }`,
        );
        break;
      case "left":
        this.#rooms.delete(String(room));
        if (this.#current === room) this.#current = this.#rooms.keys().next().value;
        break;
      case "error":
        if (typeof event.re === "string") this.#settle(event.re);
        this.#print(`Server: ${event.message}`);
        break;
    }
  }

  /** A line sent before a drop whose acknowledgement was lost: the replay shows it stored. */
  #storedMeanwhile(event: Event): void {
    for (const [id, line] of this.#pending) {
      if (!line.sent && line.text === event.message) return this.#settle(id);
    }
  }

  #settle(id: string): void {
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#drained?.();
  }

  #send(id: string, line: { room?: string; text: string; sent: boolean }): void {
    if (this.#socket?.readyState !== WebSocket.OPEN || line.sent) return;
    line.sent = true;
    this.#socket.send(
      JSON.stringify({ command: "broadcast", room: line.room, message: line.text, id }),
    );
  }

  /** One typed line: a command, or a message to the current room (kept until acknowledged). */
  type(text: string): void {
    const [word, ...rest] = text.trim().split(/\s+/);
    const arg = rest.join(" ");
    if (word === "/quit") return this.quit();
    if (word === "/join" && arg) return this.#command({ command: "join", room: arg, id: "move" });
    if (word === "/rooms") return void this.#listRooms();
    if (word === "/list") return this.#command({ command: "list", room: this.#current });
    if (word === "/me") {
      this.#print(`Server: you are ${this.#name ?? "(connecting)"}`);
      return;
    }
    if (text.trim() === "") return;
    const id = `t${++this.#next}`;
    const line = { room: this.#current, text, sent: false };
    this.#pending.set(id, line);
    this.#send(id, line);
  }

  /** `/rooms`: the rooms on the server with how many are in each. */
  async #listRooms(): Promise<void> {
    const { host, port } = this.options;
    try {
      const rooms = await (await fetch(`http://${host}:${port}/rooms`)).json() as Event[];
      const shown = rooms.map((r) => `${r.name} (${r.members})`).join(", ");
      this.#print(`Server: rooms: ${shown || "none yet"}`);
    } catch (error) {
      this.#print(`Server: could not list the rooms (${(error as Error).message})`);
    }
  }

  #command(command: Event): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(command));
    else this.#print("Server: not connected yet; try again in a moment");
  }

  /** Resolves once every typed line has been acknowledged (or refused). */
  drained(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained = resolve);
  }

  /** Closes normally and exits 0. */
  quit(): never {
    this.#stopping = true;
    this.#socket?.close(1000);
    Deno.exit(0);
  }
}

const options = parseOptions(Deno.args);
console.log(`Connecting to ${options.host}:${options.port} as ${options.username ?? "a guest"}...`);
const client = new TerminalClient(options);
client.open();
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
let buffer = "";
for await (const chunk of lines) {
  buffer += chunk;
  for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
    client.type(buffer.slice(0, end).replace(/\r$/, ""));
    buffer = buffer.slice(end + 1);
  }
}
if (buffer) client.type(buffer);
// The input ended (a pipe): wait until what was typed is stored, then leave.
await client.drained();
client.quit();
