/**
 * `deno task bench:shapes`: the cost per core, by room shape. Each server runs pinned to core 0
 * and this load generator to core 1 (`taskset`, when installed; otherwise a line says the figures
 * are unpinned). Three shapes, closed loop: 100 rooms × 10 (one sender each, 8 in flight), 4 × 100
 * (16 in flight), 1 × 200 (32 in flight); frames of the same size for every server. The load
 * generator does as little as it can per delivery (counts a substring, reads the clock of one
 * delivery in 64), so that the server, not the generator, is the limit. Besides deliveries/s it
 * reports the server's CPU per message (`/proc/<pid>/stat` over the measured window) — what a
 * message costs on Deno Deploy, and how many machines a chat needs.
 *
 * Flags: `--seconds N` (measured window, default 4), `--only <text>` (servers whose name has it),
 * `--smoke` (1 s, small shapes: that it runs), `--shape 100x10` (that shape only), `--reads` (ours
 * only: every member also says where it stopped reading, once a second, as the web client does:
 * what read state costs), `--redis` (instead: ours as 2 processes on one Redis, on a Redis
 * Cluster of 3 masters, and on 3 masters with a replica each and `WAIT 1`; 100 × 10 and 1 × 200, clients spread over both processes, unpinned — a
 * cluster is many processes — and the CPU per message counting the Redis servers too).
 *
 * @module
 */
import {
  type Kind,
  path,
  pinServers,
  type Server,
  socketUrl,
  SPECS,
  startServer,
} from "./servers.ts";

const SMOKE = Deno.args.includes("--smoke");
const flag = (name: string) =>
  Deno.args.includes(name) ? Deno.args[Deno.args.indexOf(name) + 1] : undefined;
const SECONDS = Number(flag("--seconds") ?? (SMOKE ? 1 : 4));
const ONLY = flag("--only");
const READS = Deno.args.includes("--reads");
/** With `--reads`: how often each member says where it stopped reading. */
const READ_EVERY_MS = 1000;
const REDIS = Deno.args.includes("--redis");
const SERVERS = REDIS
  ? [
    "ours (2 processes + Redis)",
    "ours (2 processes + Redis Cluster, 3 masters)",
    "ours (2 processes + Redis Cluster, 3+3, WAIT 1)",
  ]
  : ["ours (KV file)", "floor (Deno relay)", "peer (Node ws)", "peer (Socket.IO 4)"];
const SHAPE = flag("--shape"); // e.g. 100x10: that shape only
const SHAPES = (SMOKE ? [{ rooms: 4, size: 5, window: 4 }] : [
  { rooms: 100, size: 10, window: 8 },
  ...(REDIS ? [] : [{ rooms: 4, size: 100, window: 16 }]),
  { rooms: 1, size: 200, window: 32 },
]).filter((s) => SHAPE === undefined || SHAPE === `${s.rooms}x${s.size}`);
/** The text of each message: about a chat line. */
const TEXT = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether `taskset` (util-linux) can pin processes here. */
async function haveTaskset(): Promise<boolean> {
  try {
    return (await new Deno.Command("taskset", { args: ["-p", String(Deno.pid)] }).output())
      .success;
  } catch {
    return false;
  }
}

/** CPU time a process has used (user + system), in seconds (Linux /proc). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the command name (which may hold spaces): state is field 3; utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

/** A message of `TEXT` characters carrying its send time and its sender. */
function body(tag: string): string {
  const head = `t=${performance.now().toFixed(1)}|${tag}|`;
  return head + "x".repeat(Math.max(0, TEXT - head.length));
}

/** One socket of the load: counts what it receives, and its own messages coming back. */
class ShapeClient {
  socket!: WebSocket;
  received = 0;
  own = 0;
  sent = 0;
  latencies: number[] = [];
  /** While set, each of its own messages coming back sends the next (closed loop). */
  window = 0;
  #acks = 0;

  /** The last delivery (its id is read only when a `read` is due). */
  last?: string;
  #reads?: ReturnType<typeof setInterval>;

  constructor(readonly kind: Kind, readonly tag: string) {}

  /** The room's id (ours, from `joined`). */
  roomId = "";

  /** Says where it stopped reading once a second (ours only), until closed. */
  startReads(): void {
    const room = this.roomId;
    // Spread over the second, as members' clients are.
    const start = setTimeout(() => {
      this.#reads = setInterval(() => {
        const text = this.last;
        if (text === undefined) return;
        const at = text.indexOf('"id":"') + 6;
        this.socket.send(
          `{"command":"read","room":"${room}","id":"${text.slice(at, at + 26)}"}`,
        );
      }, READ_EVERY_MS);
    }, Math.random() * READ_EVERY_MS);
    this.#reads = start as unknown as ReturnType<typeof setInterval>;
  }

  open(port: number, room: string): Promise<void> {
    const url = socketUrl(this.kind, port, room, this.tag);
    this.socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      this.socket.onerror = () => reject(new Error(`connection failed: ${url}`));
      const ready = () => {
        this.socket.onmessage = (m) => this.#receive(m.data as string);
        resolve();
      };
      if (this.kind === "relay") this.socket.onopen = ready;
      else {
        this.socket.onmessage = (m) => {
          const text = String(m.data);
          if (this.kind === "socketio") {
            if (text.startsWith("0{")) return this.socket.send("40");
            if (text.startsWith("40")) ready();
          } else if (text.includes('"joined"')) {
            // The room's id, for `read` (what clients send: no lookup by name).
            const at = text.indexOf('"room":"') + 8;
            this.roomId = text.slice(at, at + 26);
            ready();
          }
        };
      }
    });
  }

  #receive(text: string): void {
    if (this.kind === "socketio" && text === "2") return this.socket.send("3");
    const at = text.indexOf("t=");
    if (at < 0) return; // acknowledgements of Socket.IO, presence of ours
    this.received++;
    this.last = text;
    if (text.startsWith(this.tag, text.indexOf("|", at) + 1)) {
      this.own++;
      // One in 64 of our own comes back with its latency read (the rest are only counted).
      if ((this.own & 63) === 0) {
        const sentAt = Number(text.slice(at + 2, text.indexOf("|", at)));
        this.latencies.push(performance.now() - sentAt);
      }
      if (this.window > 0) this.fill(this.window);
    }
  }

  /** Sends until `window` of its messages are on their way (closed loop). */
  fill(window: number): void {
    while (this.sent - this.own < window) {
      this.sent++;
      const message = body(this.tag);
      if (this.kind === "ours") {
        this.socket.send(`{"command":"broadcast","message":"${message}"}`);
      } else if (this.kind === "socketio") {
        this.socket.send(`42${++this.#acks}["broadcast","${message}"]`);
      } else {
        // The relays get the frame ours would deliver for the same text: equal bytes per delivery.
        this.socket.send(
          `{"event":"broadcast","room":"01KA0000000000000000000000","id":"01KA0000000000000000000000","member":"${this.tag}","memberId":"01KA0000000000000000000000","message":"${message}","ts":1764547200000,"seq":1}`,
        );
      }
    }
  }

  close(): void {
    clearTimeout(this.#reads);
    clearInterval(this.#reads);
    this.socket.onclose = null;
    this.socket.close();
  }
}

/** One figure: a server on a shape. */
interface Figure {
  server: string;
  shape: string;
  deliveries: number;
  cpuUsPerMessage: number;
  p50: number;
  /** Share of one core the server used over the window (1 = saturated). */
  serverBusy: number;
  /** Share of one core the load generator used (near 1: it, not the server, was the limit). */
  generatorBusy: number;
  /** Share of one core its Redis servers used (all of them), if it has any. */
  backendBusy?: number;
}

/** Runs one shape against a started server. */
async function measureShape(
  server: Server,
  shape: { rooms: number; size: number; window: number },
): Promise<Figure> {
  const tag = crypto.randomUUID().slice(0, 6);
  const rooms: ShapeClient[][] = [];
  for (let r = 0; r < shape.rooms; r++) {
    const room = Array.from(
      { length: shape.size },
      (_, i) => new ShapeClient(server.kind, `s${tag}r${r}m${i}`),
    );
    // Members alternate between the server's processes (one port each).
    await Promise.all(
      room.map((c, i) => c.open(server.ports[i % server.ports.length], `shape-${tag}-${r}`)),
    );
    if (READS && server.kind === "ours") {
      for (const c of room) c.startReads();
    }
    rooms.push(room);
  }
  const all = rooms.flat();
  const senders = rooms.map((room) => room[0]);
  // Each sender keeps `window` messages in flight: the next goes when one of its own comes back
  // (no polling, no timers).
  for (const sender of senders) {
    sender.window = shape.window;
    sender.fill(shape.window);
  }
  await sleep(SMOKE ? 200 : 1000); // warm up
  const received0 = all.reduce((n, c) => n + c.received, 0);
  const cpuOf = async (pids: number[]) =>
    (await Promise.all(pids.map(cpuSeconds))).reduce((a, b) => a + b, 0);
  const servers0 = await cpuOf(server.pids);
  const backend0 = await cpuOf(server.backendPids);
  const own0 = await cpuSeconds(Deno.pid);
  for (const c of all) c.latencies.length = 0;
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const received = all.reduce((n, c) => n + c.received, 0) - received0;
  // The server's cost counts its Redis servers too (each read once per sample).
  const backend = await cpuOf(server.backendPids) - backend0;
  const cpu = await cpuOf(server.pids) - servers0 + backend;
  const own = await cpuSeconds(Deno.pid) - own0;
  const elapsed = (performance.now() - t0) / 1000;
  for (const sender of senders) sender.window = 0;
  await sleep(200); // what is in flight arrives
  for (const c of all) c.close();
  const latencies = all.flatMap((c) => c.latencies).sort((a, b) => a - b);
  const messages = received / shape.size;
  return {
    server: READS && server.kind === "ours" ? `${server.name}, reads 1/s` : server.name,
    shape: `${shape.rooms} × ${shape.size}`,
    deliveries: received / elapsed,
    cpuUsPerMessage: messages > 0 ? cpu * 1e6 / messages : NaN,
    p50: latencies[Math.floor(latencies.length / 2)] ?? NaN,
    serverBusy: cpu / elapsed,
    generatorBusy: own / elapsed,
    ...(server.backendPids.length > 0 ? { backendBusy: backend / elapsed } : {}),
  };
}

/** The table: per shape, each server's deliveries/s, CPU per message, and ours against each. */
function table(figures: Figure[], pinned: boolean): string {
  const shapes = [...new Set(figures.map((f) => f.shape))];
  const servers = [...new Set(figures.map((f) => f.server))];
  const find = (server: string, shape: string) =>
    figures.find((f) => f.server === server && f.shape === shape);
  const k = (n: number) => Number.isFinite(n) ? `${(n / 1000).toFixed(0)}k` : "–";
  const us = (n: number) => Number.isFinite(n) ? `${n.toFixed(0)} µs` : "–";
  const lines = [
    pinned
      ? "Servers pinned to core 0, the load generator to core 1 (`taskset`)."
      : REDIS
      ? "Not pinned: 2 chat processes, Redis and the load generator share the cores; CPU per message counts the chat processes and Redis."
      : "Not pinned (`taskset` not found: apt-get install util-linux): figures share the cores.",
    "Each cell: deliveries/s, the server's CPU per message, and (how busy the server's core / the load generator's core was).",
    "",
    `| room shape | ${servers.join(" | ")} |`,
    `| --- | ${servers.map(() => "---:").join(" | ")} |`,
  ];
  for (const shape of shapes) {
    const cells = servers.map((s) => {
      const f = find(s, shape);
      if (!f) return "–";
      const redis = f.backendBusy === undefined
        ? ""
        : `, Redis ${(f.backendBusy * 100).toFixed(0)}%`;
      const busy = `${(f.serverBusy * 100).toFixed(0)}%/${(f.generatorBusy * 100).toFixed(0)}%` +
        redis;
      return `${k(f.deliveries)}, ${us(f.cpuUsPerMessage)} (${busy})`;
    });
    lines.push(`| ${shape} | ${cells.join(" | ")} |`);
  }
  const ours = servers.find((s) => s.startsWith("ours"));
  if (ours) {
    lines.push(
      "",
      `| room shape | ${servers.filter((s) => s !== ours).map((s) => `ours / ${s}`).join(" | ")} |`,
    );
    lines.push(`| --- | ${servers.filter((s) => s !== ours).map(() => "---:").join(" | ")} |`);
    for (const shape of shapes) {
      const mine = find(ours, shape)?.deliveries ?? NaN;
      const cells = servers.filter((s) => s !== ours).map((s) =>
        `${(mine / (find(s, shape)?.deliveries ?? NaN)).toFixed(2)}×`
      );
      lines.push(`| ${shape} | ${cells.join(" | ")} |`);
    }
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  // (Once pinned, this process sees one core: it was checked before the re-run.)
  const pinned = Deno.env.get("BENCH_PINNED") === "1" ||
    (!REDIS && await haveTaskset() && navigator.hardwareConcurrency >= 2);
  // The generator itself moves to core 1 (re-run under taskset), the servers go to core 0.
  if (pinned && !Deno.env.get("BENCH_PINNED")) {
    const again = await new Deno.Command("taskset", {
      args: [
        "-c",
        "1",
        Deno.execPath(),
        "run",
        "--allow-all",
        path("bench/shapes.ts"),
        ...Deno.args,
      ],
      env: { BENCH_PINNED: "1" },
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    Deno.exit(again.code);
  }
  if (pinned) pinServers("0");
  else if (REDIS) console.error("bench: --redis: processes and Redis share the cores, unpinned");
  else console.error("bench: taskset not found; the figures are not pinned to cores");
  const dir = await Deno.makeTempDir({ prefix: "chat-shapes-" });
  const figures: Figure[] = [];
  try {
    for (const spec of SPECS.filter((s) => SERVERS.includes(s.name))) {
      if (ONLY && !spec.name.includes(ONLY)) continue;
      for (const shape of SHAPES) {
        // A fresh server for each shape: no figure inherits another's garbage.
        console.error(`bench: ${spec.name}, ${shape.rooms} × ${shape.size}…`);
        const server = await startServer(spec, dir);
        try {
          figures.push(await measureShape(server, shape));
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  console.log(table(figures, pinned));
  if (SMOKE && figures.some((f) => !(f.deliveries > 0))) {
    console.error("bench: a server delivered nothing");
    Deno.exit(1);
  }
}

await main();
