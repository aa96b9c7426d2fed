/**
 * `deno task connect --host H --port P --username U [--token T]` (or `HOST`, `PORT`, `USER_NAME`,
 * `TOKEN`): the terminal client of seed 002, on the client library (`static/client.js`). Prints
 * `Connecting to host:port as name...`, then, once connected, `Type your messages (press Ctrl+C to
 * exit):` and the room's lines as `name: message` and `Server: ...`; every line typed (or piped)
 * is sent. `/join room` (moves you there), `/rooms`, `/list`, `/me` and `/quit` (exit 0) are
 * commands. A server that refuses the connection (a bad name, a token) is one line on stderr and
 * exit 1; one that cannot be reached is retried for `CONNECT_RETRY_S` seconds (30), saying so,
 * then the same. The library does the rest: a dropped connection is resumed with `since` (no
 * line lost or shown twice) and lines typed meanwhile are sent once it is back, each stored once
 * (its key). At the end of a piped input it waits for its lines to be stored, then exits.
 *
 * @module
 */
import { type ChatClient, type ChatEvent, connect, type Room } from "../../static/client.js";

/** The client's settings, from flags over the environment. */
interface Options {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly token?: string;
}

function parseOptions(args: string[]): Options {
  let host = Deno.env.get("HOST") || "localhost";
  let port = Deno.env.get("PORT") || "8000";
  let username = Deno.env.get("USER_NAME") || undefined;
  let token = Deno.env.get("TOKEN") || undefined;
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].includes("=") ? args[i].split(/=(.*)/s, 2) : [args[i]];
    const value = () => inline ?? args[++i] ?? fail(`${flag} needs a value`);
    if (flag === "--host" || flag === "-h") host = value();
    else if (flag === "--port" || flag === "-p") port = value();
    else if (flag === "--username" || flag === "--name" || flag === "-u") username = value();
    else if (flag === "--token") token = value();
    else fail(`unknown option '${args[i]}'`);
  }
  const n = Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`the port must be 1-65535, got '${port}'`);
  return { host, port: n, username, token };
}

/** Ends the client with one line on stderr and exit code 1 (a refusal, an unreachable server). */
function giveUp(message: string): never {
  console.error(`connect: ${message}`);
  Deno.exit(1);
}

function fail(message: string): never {
  console.error(
    `connect: ${message}\nusage: deno task connect [--host H] [--port P] [--username U] [--token T]`,
  );
  Deno.exit(2);
}

/**
 * Why a WebSocket upgrade failed: the server's own words (`{"error", "message"}` with its status),
 * read from a plain upgrade request, or `undefined` when nothing answers at all. (A browser-style
 * WebSocket only says "closed"; a person needs the reason.)
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

/** One terminal session on a library client: prints what happens, sends what is typed. */
class TerminalClient {
  readonly #client: ChatClient;
  readonly #encoder = new TextEncoder();
  /** The room typed lines go to (the one `/join` moved to last). */
  #room?: Room;
  /** Lines sent and not yet acknowledged (or refused). */
  readonly #sending = new Set<Promise<unknown>>();
  /** Whether a connection ever opened (before that, a failure is a refusal or an outage). */
  #everOpened = false;
  /** Until when an unreachable server is retried before giving up. */
  #retryUntil = 0;
  #stopping = false;

  constructor(private readonly options: Options) {
    const { host, port, username, token } = options;
    this.#client = connect({ url: `http://${host}:${port}`, name: username, token });
    this.#client.on("status", (status: string) => {
      if (status !== "open" || this.#everOpened) return;
      this.#everOpened = true;
      this.#print("Type your messages (press Ctrl+C to exit):");
    });
    this.#client.on("disconnected", (close: { code: number; reason: string }) => {
      if (this.#stopping) return;
      if (this.#client.status === "closed") {
        this.#print(`Server: disconnected (${close.code} ${close.reason})`);
        Deno.exit(1);
      }
      if (!this.#everOpened) void this.#firstFailure();
    });
    this.#client.on("direct", (event: ChatEvent) => {
      this.#print(`(direct) ${event.from}: ${event.message}`);
    });
    this.#client.on("notice", (event: ChatEvent) => this.#print(`Server: ${event.message}`));
    this.#client.on("error", (error: Error) => this.#print(`Server: ${error.message}`));
  }

  #print(line: string): void {
    Deno.stdout.writeSync(this.#encoder.encode(`${line}\n`));
  }

  /** Joins the first room (the server's `lobby`) and starts printing it. */
  async start(): Promise<void> {
    const room = await this.#client.join("lobby");
    this.#show(room);
    this.#room = room;
    this.#print(`Server: ${this.#client.me?.name} has joined the chat`);
  }

  /** Prints a room's events. */
  #show(room: Room): void {
    room.on("message", (event: ChatEvent) => {
      // A message deleted since (in a replay) shows as a tombstone.
      if (event.deleted === true) this.#print("Server: a message was deleted");
      else this.#print(`${event.member}: ${event.message}`);
    });
    room.on("edited", (event: ChatEvent) => {
      this.#print(`Server: a message was edited: ${event.message}`);
    });
    room.on(
      "join",
      (event: ChatEvent) => this.#print(`Server: ${event.member} has joined the chat`),
    );
    room.on(
      "leave",
      (event: ChatEvent) => this.#print(`Server: ${event.member} has left the chat`),
    );
    room.on(
      "renamed",
      (event: ChatEvent) => this.#print(`Server: ${event.from} is now ${event.to}`),
    );
    room.on("reload", () => this.#print("Server: some messages expired while you were away"));
  }

  /** Why the first connection failed: gives up on a refusal; an outage is retried (by the library). */
  async #firstFailure(): Promise<void> {
    const { host, port, username, token } = this.options;
    const query = new URLSearchParams();
    if (username) query.set("name", username);
    if (token) query.set("token", token);
    const reason = await refusal(host, port, `/ws?${query}`);
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
  }

  /** One typed line: a command, or a message to the current room (resent until stored). */
  type(text: string): void {
    const [word, ...rest] = text.trim().split(/\s+/);
    const arg = rest.join(" ");
    if (word === "/quit") return this.quit();
    if (word === "/join" && arg) return void this.#move(arg);
    if (word === "/rooms") return void this.#listRooms();
    if (word === "/list") return void this.#list();
    if (word === "/me") {
      return this.#print(`Server: you are ${this.#client.me?.name ?? "(connecting)"}`);
    }
    if (text.trim() === "") return;
    const room = this.#room;
    if (!room) return this.#print("Server: not connected yet; try again in a moment");
    const sent = room.send(text).catch((error: Error) => this.#print(`Server: ${error.message}`));
    this.#sending.add(sent);
    sent.finally(() => this.#sending.delete(sent));
  }

  /** `/join`: into the new room, out of the one you were in. */
  async #move(name: string): Promise<void> {
    try {
      const room = await this.#client.join(name);
      const from = this.#room;
      if (room === from) return this.#print(`Server: you are in ${room.name} already`);
      this.#show(room);
      this.#room = room;
      await from?.leave();
      this.#print(`Server: ${this.#client.me?.name} has joined ${room.name}`);
    } catch (error) {
      this.#print(`Server: ${(error as Error).message}`);
    }
  }

  /** `/list`: who is in the current room. */
  async #list(): Promise<void> {
    if (!this.#room) return this.#print("Server: not connected yet; try again in a moment");
    try {
      const members = await this.#room.list();
      this.#print(`Server: in ${this.#room.name}: ${members.join(", ")}`);
    } catch (error) {
      this.#print(`Server: ${(error as Error).message}`);
    }
  }

  /** `/rooms`: the rooms on the server with how many are in each. */
  async #listRooms(): Promise<void> {
    const { host, port } = this.options;
    try {
      const rooms = await (await fetch(`http://${host}:${port}/rooms`)).json() as ChatEvent[];
      const shown = rooms.map((r) => `${r.name} (${r.members})`).join(", ");
      this.#print(`Server: rooms: ${shown || "none yet"}`);
    } catch (error) {
      this.#print(`Server: could not list the rooms (${(error as Error).message})`);
    }
  }

  /** Resolves once every typed line has been acknowledged (or refused). */
  async drained(): Promise<void> {
    while (this.#sending.size > 0) await Promise.allSettled([...this.#sending]);
  }

  /** Closes normally and exits 0. */
  quit(): never {
    this.#stopping = true;
    this.#client.close();
    Deno.exit(0);
  }
}

const options = parseOptions(Deno.args);
console.log(`Connecting to ${options.host}:${options.port} as ${options.username ?? "a guest"}...`);
const client = new TerminalClient(options);
const started = client.start().catch((error) => giveUp(error.message));
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
let buffer = "";
for await (const chunk of lines) {
  buffer += chunk;
  for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
    const line = buffer.slice(0, end).replace(/\r$/, "");
    buffer = buffer.slice(end + 1);
    // Lines typed before the first room is joined wait for it, in order.
    await started;
    client.type(line);
  }
}
await started;
if (buffer) client.type(buffer);
// The input ended (a pipe): wait until what was typed is stored, then leave.
await client.drained();
client.quit();
