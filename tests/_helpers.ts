import { monotonicFactory } from "ulid";
import { type Chat, type ChatOptions, createChat } from "../src/mod.ts";

import { freePort } from "../bench/loopback.ts";
import { startTaskFlags } from "../src/cli/start_task.ts";
export { freePort, healthNode } from "../bench/loopback.ts";

/** A JSON event as a client sees it. */
export type Json = Record<string, unknown>;

/** A chat served on 127.0.0.1 on a free port. */
export interface TestServer {
  readonly chat: Chat;
  readonly port: number;
  readonly http: string;
  readonly ws: string;
  close(): Promise<void>;
}

/** A fresh BroadcastChannel namespace, so that tests running in one process never hear each other. */
export function uniqueNamespace(): string {
  return `test-${crypto.randomUUID()}`;
}

/**
 * Starts a real chat server (KV `:memory:` and an isolated bus unless told otherwise), on a free
 * port or on `listenPort` (to restart a server where its clients expect it).
 */
export async function startServer(
  options: ChatOptions = {},
  listenPort = 0,
): Promise<TestServer> {
  const chat = await createChat({
    kvPath: ":memory:",
    log: "off",
    busNamespace: uniqueNamespace(),
    ...options,
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: listenPort, onListen: () => {} },
    chat.fetch,
  );
  const port = server.addr.port;
  return {
    chat,
    port,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/ws`,
    close: async () => {
      await chat.close();
      await server.shutdown();
    },
  };
}

/** A deterministic clock the test moves by hand. */
export class FakeClock {
  /** Starts at `now`. */
  constructor(public now = Date.UTC(2026, 0, 1)) {}
  /** The current time. */
  readonly read = (): number => this.now;
  /** Moves time forward. */
  advance(ms: number): void {
    this.now += ms;
  }
}

/** Deterministic ULIDs from a seeded generator, on the given clock. */
export function seededIds(clock: FakeClock, seed = 1): () => string {
  let state = seed;
  const prng = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const next = monotonicFactory(prng);
  return () => next(clock.now);
}

/** Resolves when `condition` holds, polling (for state that no event announces), or fails. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The command `deno task start` runs (`main.ts listen`), with more arguments and settings. */
export function startCommand(
  env: Record<string, string>,
  options: { args?: readonly string[]; stdout?: "piped" | "null"; stderr?: "piped" | "null" } = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...startTaskFlags(), "main.ts", "listen", ...(options.args ?? [])],
    env: { CHAT_LOG: "off", ...env },
    stdout: options.stdout ?? "null",
    stderr: options.stderr ?? "null",
  });
}

/** A chat server in its own OS process (`main.ts listen`, as `deno task start` runs it). */
export interface ServerProcess {
  readonly port: number;
  readonly ws: string;
  readonly http: string;
  readonly child: Deno.ChildProcess;
  /** Sends a signal (default SIGTERM) and waits for the process to exit. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Starts a server process on a free loopback port with these settings, once it answers. */
export async function startProcess(env: Record<string, string>): Promise<ServerProcess> {
  const port = freePort();
  const child = startCommand({
    PORT: String(port),
    HOSTNAME: "127.0.0.1",
    CHAT_KV_PATH: ":memory:",
    ...env,
  }).spawn();
  try {
    await listening(port);
  } catch (error) {
    child.kill("SIGKILL");
    await child.status;
    throw error;
  }
  let exited: Promise<Deno.CommandStatus> | undefined;
  return {
    port,
    ws: `ws://127.0.0.1:${port}/ws`,
    http: `http://127.0.0.1:${port}`,
    child,
    stop: (signal: Deno.Signal = "SIGTERM") => {
      if (!exited) {
        try {
          child.kill(signal);
        } catch {
          // exited already
        }
        exited = child.status;
      }
      return exited;
    },
  };
}

/** Resolves once a server process answers `GET /health` on `port` (it may take a while to start). */
export async function listening(port: number, timeoutMs = 20_000): Promise<void> {
  await eventually(
    async () => {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/health`);
        await response.body?.cancel();
        return response.ok;
      } catch {
        return false;
      }
    },
    `a server to listen on port ${port}`,
    timeoutMs,
  );
}

/**
 * A real WebSocket client that records every event and awaits the ones a test expects.
 */
export class Client {
  readonly events: Json[] = [];
  readonly #waiters = new Set<{ match: (e: Json) => boolean; resolve: (e: Json) => void }>();
  #cursor = 0;
  readonly closed: Promise<CloseEvent>;
  readonly opened: Promise<void>;

  private constructor(readonly socket: WebSocket) {
    this.opened = new Promise((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("error", () => reject(new Error("socket error before open")), {
        once: true,
      });
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => socket.addEventListener("close", resolve));
    socket.binaryType = "arraybuffer";
    socket.addEventListener("message", (message) => {
      // A binary frame (a binary message, seed 001) is recorded as `{"event": "binary", bytes}`.
      const event = message.data instanceof ArrayBuffer
        ? { event: "binary", bytes: new Uint8Array(message.data) }
        : JSON.parse(String(message.data)) as Json;
      this.events.push(event);
      for (const waiter of this.#waiters) {
        if (waiter.match(event)) {
          this.#waiters.delete(waiter);
          waiter.resolve(event);
        }
      }
    });
  }

  /** Opens a socket to `url` with the given query, and waits for `joined` of the first room. */
  static async connect(url: string, query: Record<string, string> = {}): Promise<Client> {
    const client = Client.open(url, query);
    await client.opened;
    await client.next((e) => e.event === "joined");
    return client;
  }

  /** Opens a socket without waiting for anything. */
  static open(url: string, query: Record<string, string> = {}): Client {
    const params = new URLSearchParams(query).toString();
    return new Client(new WebSocket(params ? `${url}?${params}` : url));
  }

  /** The `me` event received at connection. */
  get me(): Json {
    const me = this.events.find((e) => e.event === "me");
    if (!me) throw new Error("no me event yet");
    return me;
  }

  /**
   * The next event (after the last one returned) that matches, waiting up to `timeoutMs`.
   * Events are consumed in order, so two calls never return the same event.
   */
  next(match: (e: Json) => boolean = () => true, timeoutMs = 5000): Promise<Json> {
    for (let i = this.#cursor; i < this.events.length; i++) {
      if (match(this.events[i])) {
        this.#cursor = i + 1;
        return Promise.resolve(this.events[i]);
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`timed out; last events: ${JSON.stringify(this.events.slice(-5))}`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (event: Json) => {
          clearTimeout(timer);
          this.#cursor = this.events.indexOf(event) + 1;
          resolve(event);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** The first event, past or future, that matches (ignores the cursor of {@link next}). */
  waitFor(match: (e: Json) => boolean, timeoutMs = 5000): Promise<Json> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    const cursor = this.#cursor;
    return this.next(match, timeoutMs).finally(() => this.#cursor = cursor);
  }

  /** Sends a command and returns its direct answer (matched by `re`). */
  request(command: Json, timeoutMs = 5000): Promise<Json> {
    const id = command.id ?? crypto.randomUUID();
    this.send({ ...command, id });
    return this.next((e) => e.re === id, timeoutMs);
  }

  /** Sends a JSON command. */
  send(command: Json): void {
    this.socket.send(JSON.stringify(command));
  }

  /** Sends a raw text frame. */
  sendRaw(text: string | Uint8Array<ArrayBuffer>): void {
    this.socket.send(text);
  }

  /** Every `broadcast` event received so far. */
  broadcasts(room?: string): Json[] {
    return this.events.filter((e) => e.event === "broadcast" && (!room || e.room === room));
  }

  /** Closes the socket and waits until it is closed. */
  async close(): Promise<void> {
    if (this.socket.readyState < WebSocket.CLOSING) this.socket.close(1000);
    await this.closed;
  }
}

/** Closes every client given. */
export async function closeAll(clients: Iterable<Client>): Promise<void> {
  await Promise.all([...clients].map((c) => c.close()));
}

/** A chat running in its own isolate (a Web Worker) on its own port. */
export class Isolate {
  #worker: Worker;
  #replies: ((data: Json) => void)[] = [];
  #killed = false;
  port = 0;
  nodeId = "";

  private constructor() {
    this.#worker = new Worker(new URL("./_isolate_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (event) => this.#replies.shift()?.(event.data);
  }

  #ask(message: Json): Promise<Json> {
    return new Promise((resolve) => {
      this.#replies.push(resolve);
      this.#worker.postMessage(message);
    });
  }

  /** Starts a worker serving a chat with these options. */
  static async start(options: Record<string, unknown>): Promise<Isolate> {
    const isolate = new Isolate();
    const ready = await isolate.#ask({ type: "start", options });
    isolate.port = Number(ready.port);
    isolate.nodeId = String(ready.nodeId);
    return isolate;
  }

  /** The WebSocket URL. */
  get ws(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** The HTTP base URL. */
  get http(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The hub's counters in that isolate. */
  async stats(): Promise<Json> {
    return (await this.#ask({ type: "stats" })).stats as Json;
  }

  /** Sends a notice from this isolate (`chat.notify`). */
  async notify(to: unknown, text: string): Promise<void> {
    await this.#ask({ type: "notify", to, text });
  }

  /** Keeps the isolate's event loop busy for `ms` (it answers when done). */
  block(ms: number): Promise<Json> {
    return this.#ask({ type: "block", ms });
  }

  /** Shuts the chat down cleanly, then ends the worker (nothing to do once killed). */
  async stop(): Promise<void> {
    if (this.#killed) return;
    this.#killed = true;
    await this.#ask({ type: "stop" });
    this.#worker.terminate();
  }

  /** Ends the worker at once, without a word to the others (a crash or an eviction). */
  kill(): void {
    this.#killed = true;
    this.#worker.terminate();
  }
}

/** Isolates (Web Workers) serving one chat: one bus namespace, one KV file. */
export interface Cluster {
  readonly isolates: Isolate[];
  readonly kvPath: string;
  readonly options: Record<string, unknown>;
  add(): Promise<Isolate>;
  close(): Promise<void>;
}

/** Starts `n` workers sharing one BroadcastChannel namespace and one KV file. */
export async function cluster(n: number, extra: Record<string, unknown> = {}): Promise<Cluster> {
  const dir = await Deno.makeTempDir({ prefix: "chat-isolates-" });
  const kvPath = `${dir}/chat.kv`;
  const options = {
    kvPath,
    busNamespace: uniqueNamespace(),
    heartbeatMs: 200,
    presenceTimeoutMs: 1500,
    ratePerSecond: 10_000,
    rateBurst: 10_000,
    ...extra,
  };
  const isolates: Isolate[] = [];
  for (let i = 0; i < n; i++) isolates.push(await Isolate.start(options));
  return {
    isolates,
    kvPath,
    options,
    add: async () => {
      const isolate = await Isolate.start(options);
      isolates.push(isolate);
      return isolate;
    },
    close: async () => {
      await Promise.all(isolates.map((i) => i.stop().catch(() => {})));
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Opens a raw TCP connection and sends a WebSocket upgrade request for `path`, then reads
 * nothing: a peer that vanishes or stops reading, or (with {@link rawUpgrade}) a way to see why
 * an upgrade was refused.
 */
export async function rawSocket(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  // The given headers replace the defaults of the same name (a test may forge the Host).
  const all = new Map<string, string>([
    ["Host", `127.0.0.1:${port}`],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
    ["Sec-WebSocket-Version", "13"],
  ]);
  for (const [name, value] of Object.entries(headers)) {
    for (const known of all.keys()) {
      if (known.toLowerCase() === name.toLowerCase()) all.delete(known);
    }
    all.set(name, value);
  }
  const lines = [
    `GET ${path} HTTP/1.1`,
    ...[...all].map(([k, v]) => `${k}: ${v}`),
    "",
    "",
  ];
  await conn.write(new TextEncoder().encode(lines.join("\r\n")));
  return conn;
}

/** Sends a raw upgrade request and returns the status and body of the answer. */
export async function rawUpgrade(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; head: string; body: string }> {
  const conn = await rawSocket(port, path, headers);
  let text = "";
  const buf = new Uint8Array(4096);
  while (!text.includes("\r\n\r\n") || !/\}\s*$/.test(text)) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
    if (text.startsWith("HTTP/1.1 101")) break;
  }
  conn.close();
  const end = text.indexOf("\r\n\r\n");
  return {
    status: Number(text.split(" ")[1]),
    head: text.slice(0, end),
    body: text.slice(end + 4),
  };
}

/**
 * What a test receives over time (frames, lines, events), with a cursor: `next` returns the next
 * item that matches, waiting for it (woken by each new item, not by polling) up to a timeout.
 */
export class Recording<T> {
  readonly items: T[] = [];
  #cursor = 0;
  readonly #waiters = new Set<() => void>();

  /** Records an item and wakes whoever waits. */
  push(item: T): void {
    this.items.push(item);
    for (const wake of [...this.#waiters]) wake();
  }

  /** The next item (after the last one returned) that matches, waiting up to `timeoutMs`. */
  async next(match: (item: T) => boolean = () => true, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.#cursor; i < this.items.length; i++) {
        if (match(this.items[i])) {
          this.#cursor = i + 1;
          return this.items[i];
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out; last received: ${JSON.stringify(this.items.slice(-5))}`);
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
  }
}

/** A WebSocket client that records raw text frames (for the wires that do not speak JSON). */
export class TextClient {
  readonly #frames = new Recording<string>();
  readonly closed: Promise<CloseEvent>;

  private constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => socket.addEventListener("close", resolve));
    socket.addEventListener("message", (m) => this.#frames.push(String(m.data)));
  }

  /** Every frame received so far. */
  get frames(): string[] {
    return this.#frames.items;
  }

  /** Opens a socket to `url` with the given query and waits until it is open. */
  static async open(url: string, query: Record<string, string> = {}): Promise<TextClient> {
    const params = new URLSearchParams(query).toString();
    const client = new TextClient(new WebSocket(params ? `${url}?${params}` : url));
    await new Promise((resolve, reject) => {
      client.socket.addEventListener("open", resolve, { once: true });
      client.socket.addEventListener("error", () => reject(new Error("socket error")), {
        once: true,
      });
    });
    return client;
  }

  /** The next frame (after the last one returned) that matches, waiting up to `timeoutMs`. */
  next(match: (frame: string) => boolean = () => true, timeoutMs = 5000): Promise<string> {
    return this.#frames.next(match, timeoutMs);
  }

  /** Sends a text frame. */
  send(text: string): void {
    this.socket.send(text);
  }

  /** Closes the socket and waits until it is closed. */
  async close(): Promise<void> {
    if (this.socket.readyState < WebSocket.CLOSING) this.socket.close(1000);
    await this.closed;
  }
}

/**
 * A client WebSocket that sends extra headers on its upgrade (a Deno extension of the standard
 * constructor, not in the types every check uses).
 */
export function webSocketWithHeaders(url: string, headers: Record<string, string>): WebSocket {
  const Extended = WebSocket as unknown as new (
    url: string,
    options: { headers: Record<string, string> },
  ) => WebSocket;
  return new Extended(url, { headers });
}
