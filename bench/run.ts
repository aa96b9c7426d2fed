/**
 * `deno task bench`: starts each server on loopback, runs the same workloads against it with
 * native WebSocket clients, prints one table and writes it to docs/BENCHMARKS.md.
 * `deno task bench --smoke`: seconds per server, asserting only that every server answered.
 * Then the cost per core by room shape (`bench/shapes.ts`, as `deno task bench:shapes` runs it:
 * servers pinned to one core, µs of server CPU per message), in the same table.
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

import { ONLY, SMOKE, writeFormatted } from "./options.ts";
import { CURVE_SERVERS, curves, measure, Row } from "./workloads.ts";
import { kvCosts, machine, replaceBetween, table } from "./report.ts";
import { haveRedis, path, SPECS } from "./servers.ts";

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
  // The cost per core by room shape: bench/shapes.ts (servers pinned to one core, the light
  // generator on another, µs of server CPU per message), in its own process (it re-runs itself
  // under taskset).
  let shapesTable = "";
  try {
    shapesTable = await shapes();
  } catch (error) {
    failures.push(`shapes: ${error instanceof Error ? error.message : error}`);
  }
  const costs = SMOKE || ONLY ? "" : await kvCosts();
  const curvesText = curveTable
    ? `Curves (charts in docs/bench-*.svg; each point on a fresh server):\n\n${curveTable}`
    : "";
  const shapesText = shapesTable
    ? `Cost per core, by room shape (\`bench/shapes.ts\`; closed loop, equal frames):\n\n${shapesTable}`
    : "";
  const output = [table(rows), curvesText, shapesText, costs].filter(Boolean).join("\n\n");
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
  await writeFormatted({ [file]: text });
  console.error(`bench: wrote ${file}`);
}

/** Runs `bench/shapes.ts` with its curve (and `--smoke` or `--only` as given); returns its tables. */
async function shapes(): Promise<string> {
  const args = ["--curve", ...(SMOKE ? ["--smoke"] : ONLY ? ["--only", ONLY] : [])];
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", path("bench/shapes.ts"), ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(run.stdout).trim();
  if (!run.success) throw new Error(`bench/shapes.ts exited ${run.code}`);
  return text;
}

await main();
