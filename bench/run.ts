/**
 * `deno task bench`: starts each server on loopback, runs the same workloads against it with
 * native WebSocket clients, prints one table and writes it to docs/BENCHMARKS.md.
 * `deno task bench --smoke`: seconds per server, asserting only that every server answered.
 *
 * Servers: ours with KV on a temp file (as `deno task start` runs it), ours with `:memory:`,
 * ours across 2 isolates (`deno serve --parallel`), ours as 2 processes on one Redis, the floor
 * (bench/floor_server.ts) and peers: Node's `ws` (bench/node_ws_server.cjs) and Socket.IO 4 with
 * the Redis streams adapter as 2 processes (bench/socketio_server.cjs). For ours the workload
 * speaks the contract (`broadcast` commands, JSON events); for the relays, plain frames of the
 * same size; for Socket.IO, its own protocol (events with acknowledgements). Servers of several
 * processes get half of each room's clients on each process, and their latency is measured from
 * senders on the first process to receivers on the second: cross-process.
 *
 * @module
 */

import { lineChart } from "./svg_chart.ts";
import {
  haveRedis,
  type Kind,
  path,
  rss,
  type Server,
  type ServerSpec,
  socketUrl,
  SPECS,
  startServer,
} from "./servers.ts";

const SMOKE = Deno.args.includes("--smoke");
/** `--only <text>`: run only the servers whose name contains it (for profiling one). */
const ONLY = Deno.args.includes("--only") ? Deno.args[Deno.args.indexOf("--only") + 1] : undefined;
/** `--window <n>`: messages each sender keeps in flight at saturation. */
const WINDOW = Number(
  Deno.args.includes("--window") ? Deno.args[Deno.args.indexOf("--window") + 1] : 8,
);
const PAYLOAD = 100; // characters of message text, about a chat line
/**
 * Relay frames are padded to the size of our `broadcast` event for the same text (ids, names,
 * room and timestamp included), so that every server delivers the same bytes per delivery.
 */
const RELAY_FRAME = JSON.stringify({
  event: "broadcast",
  room: "01KA0000000000000000000000",
  id: "01KA0000000000000000000000",
  member: "r12-3",
  memberId: "01KA0000000000000000000000",
  message: "x".repeat(PAYLOAD),
  ts: Date.now(),
}).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Unrecorded load before each latency measurement. */
const WARMUP_MS = 1000;

// ---- clients ------------------------------------------------------------------------------------

/** A load client: counts deliveries, records latencies of sampled ones, tracks its own echoes. */
class LoadClient {
  socket!: WebSocket;
  deliveries = 0;
  echoes = 0;
  latencies: number[] | undefined;
  /** Which of the server's processes it is connected to. */
  process = 0;
  #acks = 0;
  constructor(readonly kind: Kind, readonly tag: string) {}

  open(server: Server, index: number, room: string, name: string): Promise<void> {
    // Half of each room on each process (the first half on the first), so that a room's
    // senders (its first clients) are on the first process and half its receivers elsewhere.
    this.process = Math.floor((index % 1000) * server.ports.length / 1000) % server.ports.length;
    const port = server.ports[this.process];
    const url = socketUrl(this.kind, port, room, name);
    this.socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      this.socket.onerror = () => reject(new Error(`connection failed: ${url}`));
      this.socket.onclose = () => reject(new Error(`closed before ready: ${url}`));
      this.socket.onmessage = (m) => {
        const text = String(m.data);
        if (this.kind === "socketio") {
          // Engine.IO's open packet, then Socket.IO's connect to the main namespace.
          if (text.startsWith("0{")) return this.socket.send("40");
          if (!text.startsWith("40")) return;
        } else if (this.kind === "ours" && !text.includes('"event":"joined"')) return;
        this.listen();
        resolve();
      };
      if (this.kind === "relay") this.socket.onopen = () => (this.listen(), resolve());
    });
  }

  listen(): void {
    this.socket.onerror = null;
    this.socket.onclose = null;
    this.socket.onmessage = (m) => {
      const text = String(m.data);
      if (this.kind === "socketio" && text === "2") return this.socket.send("3"); // ping, pong
      // Payload: "t=<performance.now()>|<tag>|xxx..."; no JSON.parse, so that the client's
      // cost is the same for every server.
      const at = text.indexOf("t=");
      if (at < 0) return;
      this.deliveries++;
      const bar = text.indexOf("|", at);
      if (text.startsWith(this.tag, bar + 1)) this.echoes++;
      if (this.latencies) this.latencies.push(performance.now() - Number(text.slice(at + 2, bar)));
    };
  }

  send(): void {
    const body = `t=${performance.now()}|${this.tag}|`;
    const size = this.kind === "ours" ? PAYLOAD : RELAY_FRAME;
    const message = body + "x".repeat(Math.max(0, size - body.length));
    if (this.kind === "ours") this.socket.send(JSON.stringify({ command: "broadcast", message }));
    // An event with an acknowledgement id: the server acknowledges each message, as ours does.
    else if (this.kind === "socketio") {
      this.socket.send(`42${++this.#acks}${JSON.stringify(["broadcast", message])}`);
    } else this.socket.send(message);
  }

  close(): void {
    this.socket.onclose = null;
    this.socket.close();
  }
}

async function connectAll(
  server: Server,
  rooms: number,
  perRoom: number,
  prefix: string,
): Promise<LoadClient[][]> {
  const groups: LoadClient[][] = [];
  for (let r = 0; r < rooms; r++) {
    const group = Array.from(
      { length: perRoom },
      (_, i) => new LoadClient(server.kind, `${prefix}${r}.${i}`),
    );
    // Open in batches, as a storm of real users would arrive in waves.
    for (let i = 0; i < group.length; i += 50) {
      await Promise.all(
        group.slice(i, i + 50).map((c, j) =>
          c.open(
            server,
            Math.floor((i + j) * 1000 / perRoom),
            `${prefix}${r}`,
            `${prefix}${r}-${i + j}`,
          )
        ),
      );
    }
    groups.push(group);
  }
  return groups;
}

/**
 * Opens `rooms × perRoom` connections in waves of 100 without pausing between them (a storm),
 * resolving when all are in. Waves keep the kernel's accept queue from overflowing, which would
 * add a one-second SYN retry to the figure and measure the kernel rather than the server.
 */
async function stormOf(server: Server, rooms: number, perRoom: number, prefix: string) {
  const clients = Array.from(
    { length: rooms * perRoom },
    (_, i) => new LoadClient(server.kind, `${prefix}${i}`),
  );
  for (let i = 0; i < clients.length; i += 100) {
    await Promise.all(
      clients.slice(i, i + 100).map((c, j) =>
        c.open(
          server,
          Math.floor((i + j) * 1000 / clients.length),
          `${prefix}${(i + j) % rooms}`,
          `${prefix}-${i + j}`,
        )
      ),
    );
  }
  return clients;
}

/**
 * Waits until the clients stop receiving (what saturation left in flight has arrived): nothing new
 * for 300 ms, or 10 s at most. Otherwise the next phase would time the load generator's backlog.
 */
async function quiet(clients: LoadClient[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last = -1;
  for (;;) {
    const now = clients.reduce((n, c) => n + c.deliveries, 0);
    if (now === last || Date.now() > deadline) return;
    last = now;
    await sleep(300);
  }
}

/** Senders keep `window` messages in flight each (closed loop): deliveries per second at saturation. */
async function saturate(groups: LoadClient[][], sendersPerRoom: number, seconds: number) {
  const all = groups.flat();
  const senders = groups.flatMap((g) => g.slice(0, sendersPerRoom));
  const window = WINDOW;
  let running = true;
  const loops = senders.map(async (sender) => {
    let sent = 0;
    while (running) {
      while (sent - sender.echoes < window) {
        sender.send();
        sent++;
      }
      await sleep(1);
    }
  });
  await sleep(500); // warm up
  const start = all.reduce((n, c) => n + c.deliveries, 0);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const delivered = all.reduce((n, c) => n + c.deliveries, 0) - start;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  await Promise.all(loops);
  await sleep(500); // drain
  return delivered / elapsed;
}

/**
 * A fixed offered load: each sender sends `rate` messages a second; latency of every delivery
 * (with several processes: of deliveries on the other processes than the senders').
 */
async function fixedLoad(group: LoadClient[], senders: number, rate: number, seconds: number) {
  const remote = group.filter((c) => c.process > 0);
  const measured = remote.length > 0 ? remote : group;
  const timers = group.filter((c) => c.process === 0).slice(0, senders).map((sender, i) => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const starter = setTimeout(() => {
      timer = setInterval(() => sender.send(), 1000 / rate);
    }, (i * 1000) / rate / senders);
    return () => (clearTimeout(starter), clearInterval(timer));
  });
  // One second of the same load first, not recorded: the first messages of a fresh server pay
  // for compiling its hot paths (every server gets the same warm-up).
  if (!SMOKE) await sleep(WARMUP_MS);
  for (const c of measured) c.latencies = [];
  await sleep(seconds * 1000);
  for (const stop of timers) stop();
  await sleep(500);
  const latencies = measured.flatMap((c) => c.latencies ?? []).sort((a, b) => a - b);
  for (const c of measured) c.latencies = undefined;
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), samples: latencies.length };
}

interface Row {
  server: string;
  fanoutPerSec: number;
  p50: number;
  p99: number;
  p99After: number;
  roomsPerSec: number;
  stormMs: number;
  oneRoomMs: number;
  bytesPerConn: number;
}

async function measure(spec: ServerSpec, dir: string): Promise<Row> {
  const seconds = SMOKE ? 1 : 4;
  let server = await startServer(spec, dir);
  try {
    // Fan-out: one room, 200 clients (10 senders).
    progress(
      spec,
      "fan-out: 200 clients in one room, latency at 40k deliveries/s, then saturation",
    );
    const fanout = await connectAll(server, 1, SMOKE ? 10 : 200, "f");
    // Latency first, on a server not yet pushed to saturation: ~40,000 deliveries a second
    // (200 messages a second to 200 members).
    const latency = SMOKE
      ? { p50: NaN, p99: NaN, samples: 0 }
      : await fixedLoad(fanout[0], 10, 20, seconds);
    const fanoutPerSec = await saturate(fanout, SMOKE ? 1 : 10, seconds);
    // The same fixed load again, right after saturation: the tail once the server has been
    // pushed (retention catching up, a large write-ahead log, caches cold or full).
    progress(spec, "latency at 40k deliveries/s again, right after saturation");
    await quiet(fanout.flat());
    const latencyAfter = SMOKE
      ? { p50: NaN, p99: NaN, samples: 0 }
      : await fixedLoad(fanout[0], 10, 20, seconds);
    for (const c of fanout.flat()) c.close();
    await sleep(300);

    // Many rooms: 100 rooms of 10 (one sender each).
    progress(spec, "many rooms: 100 rooms of 10, saturation");
    const rooms = await connectAll(server, SMOKE ? 2 : 100, SMOKE ? 3 : 10, "r");
    const roomsPerSec = await saturate(rooms, 1, seconds);
    for (const c of rooms.flat()) c.close();
    await server.stop();

    // Connection storm on a fresh server: 1,000 connections spread over 100 rooms, time until
    // all are in, and resident memory per connection once idle.
    progress(spec, "storm: 1,000 connections into 100 rooms, then memory when idle");
    server = await startServer(spec, dir);
    await sleep(300);
    const memory = async () => (await Promise.all(server.pids.map(rss))).reduce((a, b) => a + b);
    const before = await memory();
    const t0 = performance.now();
    const storm = await stormOf(server, SMOKE ? 2 : 100, SMOKE ? 5 : 10, "s");
    const stormMs = performance.now() - t0;
    await sleep(1000);
    const after = await memory();
    const count = storm.length;
    for (const c of storm) c.close();
    await server.stop();

    // The same 1,000 into one room: every arrival is announced to everyone already there.
    progress(spec, "storm: 1,000 connections into one room");
    server = await startServer(spec, dir);
    const t1 = performance.now();
    const crowd = await stormOf(server, 1, SMOKE ? 10 : 1000, "c");
    const oneRoomMs = performance.now() - t1;
    for (const c of crowd) c.close();
    if (SMOKE && !(fanoutPerSec > 0 && roomsPerSec > 0)) {
      throw new Error(`${spec.name} delivered nothing`);
    }
    return {
      server: spec.name,
      fanoutPerSec,
      p50: latency.p50,
      p99: latency.p99,
      p99After: latencyAfter.p99,
      roomsPerSec,
      stormMs,
      oneRoomMs,
      bytesPerConn: Math.max(0, after - before) / count,
    };
  } finally {
    await server.stop();
  }
}

/** One line on stderr per phase, so that a long run shows where it is. */
function progress(spec: ServerSpec, phase: string): void {
  console.error(`bench:   ${spec.name}: ${phase}`);
}

// ---- curves -------------------------------------------------------------------------------------

/** Servers drawn in the curves: ours as `deno task start` runs it, the floor, and the Node peer. */
const CURVE_SERVERS = ["ours (KV file)", "floor (Deno relay)", "peer (Socket.IO 4)"];
const CLIENT_SIZES = SMOKE ? [5, 10] : [100, 500, 1000, 2000];
const ROOM_COUNTS = SMOKE ? [2] : [10, 50, 100, 200];

interface CurvePoint {
  readonly x: number;
  readonly perSec: number;
  readonly p99: number;
}

/**
 * Deliveries/s at saturation and p99 at ~40,000 deliveries/s as one room grows (10 senders; each
 * point on a fresh server).
 */
async function clientsCurve(spec: ServerSpec, dir: string): Promise<CurvePoint[]> {
  const seconds = SMOKE ? 1 : 2;
  const points: CurvePoint[] = [];
  for (const size of CLIENT_SIZES) {
    progress(spec, `curve: ${size} clients in one room`);
    const server = await startServer(spec, dir);
    try {
      const groups = await connectAll(server, 1, size, `k${size}-`);
      const senders = Math.min(10, size);
      const rate = Math.max(1, Math.round(40_000 / size / senders));
      const latency = await fixedLoad(groups[0], senders, rate, seconds);
      const perSec = await saturate(groups, senders, seconds);
      for (const c of groups.flat()) c.close();
      points.push({ x: size, perSec, p99: latency.p99 });
    } finally {
      await server.stop();
    }
  }
  return points;
}

/** Deliveries/s at saturation as rooms of 10 (one sender each) grow in number. */
async function roomsCurve(spec: ServerSpec, dir: string): Promise<CurvePoint[]> {
  const seconds = SMOKE ? 1 : 2;
  const points: CurvePoint[] = [];
  for (const count of ROOM_COUNTS) {
    progress(spec, `curve: ${count} rooms of 10`);
    const server = await startServer(spec, dir);
    try {
      const groups = await connectAll(server, count, SMOKE ? 3 : 10, `q${count}-`);
      const perSec = await saturate(groups, 1, seconds);
      for (const c of groups.flat()) c.close();
      points.push({ x: count, perSec, p99: NaN });
    } finally {
      await server.stop();
    }
  }
  return points;
}

/**
 * Runs the curves and (unless smoke) writes three SVG charts into docs/; returns a Markdown table
 * of the points.
 */
async function curves(dir: string, specs: ServerSpec[]): Promise<string> {
  const clients: { name: string; points: CurvePoint[] }[] = [];
  const rooms: { name: string; points: CurvePoint[] }[] = [];
  for (const spec of specs) {
    console.error(`bench: curves of ${spec.name}…`);
    clients.push({ name: spec.name, points: await clientsCurve(spec, dir) });
    rooms.push({ name: spec.name, points: await roomsCurve(spec, dir) });
  }
  const charts = {
    "bench-clients-throughput.svg": lineChart({
      title: "Deliveries per second at saturation, one room",
      xLabel: "clients in the room (10 senders)",
      yLabel: "deliveries / s",
      series: clients.map((c) => ({ name: c.name, points: c.points.map((p) => [p.x, p.perSec]) })),
    }),
    "bench-clients-p99.svg": lineChart({
      title: "p99 latency at ~40,000 deliveries per second, one room",
      xLabel: "clients in the room",
      yLabel: "p99 ms",
      series: clients.map((c) => ({ name: c.name, points: c.points.map((p) => [p.x, p.p99]) })),
    }),
    "bench-rooms-throughput.svg": lineChart({
      title: "Deliveries per second at saturation, rooms of 10",
      xLabel: "rooms (one sender each)",
      yLabel: "deliveries / s",
      series: rooms.map((c) => ({ name: c.name, points: c.points.map((p) => [p.x, p.perSec]) })),
    }),
  };
  if (!SMOKE && !ONLY) {
    for (const [file, svg] of Object.entries(charts)) {
      await Deno.writeTextFile(path(`docs/${file}`), svg);
    }
  }
  const lines = [
    "| server | " + CLIENT_SIZES.map((n) => `${n} clients: deliveries/s, p99 ms`).join(" | ") +
    " | " + ROOM_COUNTS.map((n) => `${n} rooms: deliveries/s`).join(" | ") + " |",
    "| --- |" + " --: |".repeat(CLIENT_SIZES.length + ROOM_COUNTS.length),
  ];
  clients.forEach((c, i) => {
    lines.push(
      `| ${c.name} | ` + c.points.map((p) => `${fmt(p.perSec)}, ${fmt(p.p99, 1)}`).join(" | ") +
        " | " + rooms[i].points.map((p) => fmt(p.perSec)).join(" | ") + " |",
    );
  });
  return lines.join("\n");
}

// ---- report -------------------------------------------------------------------------------------

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "–";

function table(rows: Row[]): string {
  const floor = rows.find((r) => r.server.startsWith("floor"));
  const ratio = (value: number, of: number | undefined) =>
    of && Number.isFinite(value) && of > 0 ? ` (${fmt(value / of, 2)}×)` : "";
  const lines = [
    "| server | fan-out deliveries/s (200 in 1 room) | p50 ms @ 40k/s | p99 ms @ 40k/s | p99 ms @ 40k/s after saturation | many rooms deliveries/s (100×10) | storm: 1,000 in 100 rooms, ms | memory per idle connection | 1,000 into one room, ms |",
    "| --- | --: | --: | --: | --: | --: | --: | --: | --: |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.server} | ${fmt(r.fanoutPerSec)}${ratio(r.fanoutPerSec, floor?.fanoutPerSec)} | ${
        fmt(r.p50, 1)
      } | ${fmt(r.p99, 1)}${ratio(r.p99, floor?.p99)} | ${fmt(r.p99After, 1)}${
        ratio(r.p99After, floor?.p99After)
      } | ${fmt(r.roomsPerSec)}${ratio(r.roomsPerSec, floor?.roomsPerSec)} | ${fmt(r.stormMs)} | ${
        fmt(r.bytesPerConn / 1024, 1)
      } KiB${ratio(r.bytesPerConn, floor?.bytesPerConn)} | ${fmt(r.oneRoomMs)} |`,
    );
  }
  return lines.join("\n");
}

async function machine(): Promise<string> {
  const mem = Deno.systemMemoryInfo();
  let node = "not found";
  try {
    const out = await new Deno.Command("node", { args: ["--version"] }).output();
    node = new TextDecoder().decode(out.stdout).trim();
  } catch { /* no node */ }
  let cpu = "";
  try {
    cpu = /model name\s*:\s*(.*)/.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1] ?? "";
  } catch { /* not linux */ }
  return `${navigator.hardwareConcurrency} cores (${cpu || Deno.build.arch}), ${
    (mem.total / 2 ** 30).toFixed(1)
  } GiB memory, ${Deno.build.os}; Deno ${Deno.version.deno}, Node ${node}`;
}

/** Replaces what stands between `<!-- name:start -->` and `<!-- name:end -->` in a file. */
async function replaceBetween(file: string, name: string, content: string): Promise<void> {
  const text = await Deno.readTextFile(file);
  const start = text.indexOf(`<!-- ${name}:start -->`);
  const end = text.indexOf(`<!-- ${name}:end -->`);
  if (start < 0 || end < start) return;
  const head = text.slice(0, start + `<!-- ${name}:start -->`.length);
  await Deno.writeTextFile(file, `${head}\n\n${content}\n\n${text.slice(end)}`);
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", file] }).output();
}

/** Runs bench/kv_cost.ts (KV operations per message, join and heartbeat) and returns its table. */
async function kvCosts(): Promise<string> {
  console.error("bench: KV operations of the KV bus…");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", path("bench/kv_cost.ts")],
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("bench/kv_cost.ts failed");
  return new TextDecoder().decode(out.stdout).trim();
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-bench-" });
  const rows: Row[] = [];
  const failures: string[] = [];
  const started = performance.now();
  const redis = await haveRedis();
  let curveTable = "";
  try {
    for (const spec of SPECS.filter((s) => !ONLY || s.name.includes(ONLY))) {
      if (spec.redis && !redis) {
        console.error(
          `bench: ${spec.name}: skipped (no redis-server; apt-get install redis-server)`,
        );
        continue;
      }
      console.error(`bench: ${spec.name}…`);
      try {
        rows.push(await measure(spec, dir));
      } catch (error) {
        failures.push(`${spec.name}: ${error instanceof Error ? error.message : error}`);
      }
    }
    // Curves: in smoke mode only ours, with tiny sizes (the code path, not the figures).
    const curveSpecs = SPECS.filter((s) =>
      SMOKE ? s.name === CURVE_SERVERS[0] : !ONLY && CURVE_SERVERS.includes(s.name)
    );
    if (curveSpecs.length > 0) {
      try {
        curveTable = await curves(dir, curveSpecs);
      } catch (error) {
        failures.push(`curves: ${error instanceof Error ? error.message : error}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const costs = SMOKE || ONLY ? "" : await kvCosts();
  const curvesText = curveTable
    ? `Curves (charts in docs/bench-*.svg; each point on a fresh server):\n\n${curveTable}`
    : "";
  const output = [table(rows), curvesText, costs].filter(Boolean).join("\n\n");
  if (costs) {
    await replaceBetween(path("docs/DEPLOY.md"), "kvcost", costs.slice(costs.indexOf("|")));
  }
  console.log(output);
  console.error(`bench: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (failures.length) {
    console.error(`bench: failed:\n  ${failures.join("\n  ")}`);
    Deno.exit(1);
  }
  if (SMOKE) {
    console.log(`smoke: all ${rows.length} servers answered`);
    return;
  }
  if (ONLY) return; // a partial run does not replace the table
  const report = [
    "<!-- bench:start (written by `deno task bench`; edit outside the markers) -->",
    `Command: \`deno task bench\` · Date: ${
      new Date().toISOString().slice(0, 10)
    } · Machine: ${await machine()}`,
    "",
    output,
    "<!-- bench:end -->",
  ].join("\n");
  const file = path("docs/BENCHMARKS.md");
  let text = "";
  try {
    text = await Deno.readTextFile(file);
  } catch { /* first run */ }
  const start = text.indexOf("<!-- bench:start");
  const end = text.indexOf("<!-- bench:end -->");
  text = start >= 0 && end > start
    ? text.slice(0, start) + report + text.slice(end + "<!-- bench:end -->".length)
    : `# Benchmarks\n\n${report}\n`;
  await Deno.writeTextFile(file, text);
  // Keep the file as `deno fmt` wants it, so that `deno task test` stays clean after a run.
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", file] }).output();
  console.error(`bench: wrote ${file}`);
}

await main();
