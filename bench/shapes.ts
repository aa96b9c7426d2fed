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
 * cluster is many processes — and the CPU per message counting the Redis servers too),
 * `--curve` (then the curve as rooms shrink: 1,000 members in rooms of 200, 100, 50, 20, 10, 5
 * and 2, one sender each with 8 in flight, every server; a full run draws
 * docs/bench-sizes-throughput.svg and docs/bench-sizes-cpu.svg), `--sizes 10,2` (those points of
 * the curve only, no charts).
 *
 * @module
 */
import { path, pinServers, SPECS, startServer } from "./servers.ts";
import { type Figure, measureShape, type Shape } from "./shape_load.ts";
import { lineChart } from "./svg_chart.ts";
import { writeFormatted } from "./options.ts";

const SMOKE = Deno.args.includes("--smoke");
const flag = (name: string) =>
  Deno.args.includes(name) ? Deno.args[Deno.args.indexOf(name) + 1] : undefined;
const SECONDS = Number(flag("--seconds") ?? (SMOKE ? 1 : 4));
const ONLY = flag("--only");
const READS = Deno.args.includes("--reads");
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
/** `--curve`: also the curve as rooms shrink, the same members in ever more, ever smaller rooms. */
const CURVE = Deno.args.includes("--curve");
/** Members in every point of the curve (smoke: a handful). */
const CURVE_MEMBERS = SMOKE ? 8 : 1000;
/** Room sizes of the curve's points (`--sizes 10,2` for some of them). */
const CURVE_SIZES = flag("--sizes")?.split(",").map(Number) ??
  (SMOKE ? [4, 2] : [200, 100, 50, 20, 10, 5, 2]);
/** Messages each room's sender keeps in flight, at every point of the curve. */
const CURVE_WINDOW = 8;

/** Whether `taskset` (util-linux) can pin processes here. */
async function haveTaskset(): Promise<boolean> {
  try {
    return (await new Deno.Command("taskset", { args: ["-p", String(Deno.pid)] }).output())
      .success;
  } catch {
    return false;
  }
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

/**
 * The curve as a table (each cell: deliveries/s, µs of server CPU per message) and, in a full run
 * of every server, two charts in docs/: deliveries/s and µs per message against the room size.
 */
async function curveReport(curve: Figure[]): Promise<string> {
  const servers = [...new Set(curve.map((f) => f.server))];
  const sizes = [...new Set(curve.map((f) => f.size))];
  const find = (server: string, size: number) =>
    curve.find((f) => f.server === server && f.size === size);
  const series = (value: (f: Figure) => number) =>
    servers.map((name) => ({
      name,
      points: curve.filter((f) => f.server === name).map((f) => [f.size, value(f)] as const),
    }));
  if (!SMOKE && !ONLY && !flag("--sizes")) {
    const charts = {
      "bench-sizes-throughput.svg": lineChart({
        title: `Deliveries per second, ${CURVE_MEMBERS} members in rooms of n (pinned, 1 core)`,
        xLabel: "members per room (one sender each, 8 in flight)",
        yLabel: "deliveries / s",
        xLog: true,
        series: series((f) => f.deliveries),
      }),
      "bench-sizes-cpu.svg": lineChart({
        title: "Server CPU per message (one message, n deliveries)",
        xLabel: "members per room",
        yLabel: "µs of server CPU per message",
        xLog: true,
        series: series((f) => f.cpuUsPerMessage),
      }),
    };
    await writeFormatted(
      Object.fromEntries(Object.entries(charts).map(([file, svg]) => [path(`docs/${file}`), svg])),
    );
  }
  const cell = (f: Figure | undefined) =>
    f
      ? `${(f.deliveries / 1000).toFixed(0)}k, ${f.cpuUsPerMessage.toFixed(0)} µs (${
        (f.serverBusy * 100).toFixed(0)
      }%/${(f.generatorBusy * 100).toFixed(0)}%)`
      : "–";
  return [
    `As rooms shrink: ${CURVE_MEMBERS} members in rooms of n (one room, for n above that), one sender per room keeping ${CURVE_WINDOW} in flight; each cell: deliveries/s, µs of server CPU per message (how busy the server's core / the generator's).`,
    "",
    `| server | ${sizes.map((n) => `rooms of ${n}`).join(" | ")} |`,
    `| --- | ${sizes.map(() => "---:").join(" | ")} |`,
    ...servers.map((s) => `| ${s} | ${sizes.map((n) => cell(find(s, n))).join(" | ")} |`),
  ].join("\n");
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
  const curve: Figure[] = [];
  const specs = SPECS.filter((s) => SERVERS.includes(s.name) && (!ONLY || s.name.includes(ONLY)));
  /** Measures one shape on a fresh server: no figure inherits another's garbage. */
  const run = async (spec: (typeof specs)[number], shape: Shape) => {
    console.error(`bench: ${spec.name}, ${shape.rooms} × ${shape.size}…`);
    const server = await startServer(spec, dir);
    try {
      return await measureShape(server, shape, {
        seconds: SECONDS,
        warmupMs: SMOKE ? 200 : 1000,
        reads: READS,
      });
    } finally {
      await server.stop();
    }
  };
  try {
    for (const spec of specs) {
      for (const shape of SHAPES) figures.push(await run(spec, shape));
    }
    if (CURVE) {
      // Ours only in smoke: that the curve runs, not its figures.
      for (const spec of SMOKE ? specs.slice(0, 1) : specs) {
        for (const size of CURVE_SIZES) {
          const rooms = Math.max(1, Math.round(CURVE_MEMBERS / size));
          curve.push(await run(spec, { rooms, size, window: CURVE_WINDOW }));
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  console.log(table(figures, pinned));
  if (CURVE) console.log("\n" + await curveReport(curve));
  if (SMOKE && [...figures, ...curve].some((f) => !(f.deliveries > 0))) {
    console.error("bench: a server delivered nothing");
    Deno.exit(1);
  }
}

await main();
