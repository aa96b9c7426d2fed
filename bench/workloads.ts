/**
 * The workloads of `deno task bench`, each a row of the table or a curve: fan-out, many rooms,
 * connection storms and idle memory, and the curves as rooms grow and shrink.
 *
 * @module
 */

import { fmt, ONLY, sleep, SMOKE, writeFormatted } from "./options.ts";
import { connectAll, fixedLoad, quiet, saturate, stormOf } from "./load.ts";
import { path, serverMemory, type ServerSpec, startServer } from "./servers.ts";
import { lineChart } from "./svg_chart.ts";

/** One server's row of the table. */
export interface Row {
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

/** Runs every workload of the table against one server (fresh servers where it matters). */
export async function measure(spec: ServerSpec, dir: string): Promise<Row> {
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
    const memory = () => serverMemory(server);
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
export function progress(spec: ServerSpec, phase: string): void {
  console.error(`bench:   ${spec.name}: ${phase}`);
}

/** Servers drawn in the curves: ours as `deno task start` runs it, the floor, and the Node peer. */
export const CURVE_SERVERS = ["ours (KV file)", "floor (Deno relay)", "peer (Socket.IO 4)"];
/** The sizes of one room the clients curve measures. */
export const CLIENT_SIZES = SMOKE ? [5, 10] : [100, 500, 1000, 2000];
/** The numbers of rooms of 10 the rooms curve measures. */
export const ROOM_COUNTS = SMOKE ? [2] : [10, 50, 100, 200];

/** One point of a curve. */
export interface CurvePoint {
  readonly x: number;
  readonly perSec: number;
  readonly p99: number;
}

/**
 * Deliveries/s at saturation and p99 at ~40,000 deliveries/s as one room grows (10 senders; each
 * point on a fresh server).
 */
export async function clientsCurve(spec: ServerSpec, dir: string): Promise<CurvePoint[]> {
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
export async function roomsCurve(spec: ServerSpec, dir: string): Promise<CurvePoint[]> {
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
export async function curves(dir: string, specs: ServerSpec[]): Promise<string> {
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
    await writeFormatted(
      Object.fromEntries(Object.entries(charts).map(([file, svg]) => [path(`docs/${file}`), svg])),
    );
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
