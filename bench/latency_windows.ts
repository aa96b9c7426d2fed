// Profiling aid (not part of the bench): the bench's latency workload (one room of 200, 10
// senders, ~40,000 deliveries a second) on one fresh server, measured in four windows of 4 s (each
// after the bench's 1 s of unrecorded load), and for ours the store's commit times over the first
// (`chat_store_commit_ms` from /metrics). Shows how much of the tail is a fresh server's and how
// much the commit's. Usage: deno run -A bench/latency_windows.ts ["floor (Deno relay)"]
import { connectAll, fixedLoad } from "./load.ts";
import { SPECS, startServer } from "./servers.ts";

const name = Deno.args[0] ?? "ours (KV file)";
const spec = SPECS.find((s) => s.name === name);
if (!spec) throw new Error(`no server named ${name}`);
const dir = await Deno.makeTempDir({ prefix: "chat-latency-" });
const server = await startServer(spec, dir);
try {
  const room = await connectAll(server, 1, 200, "f");
  const windows: string[] = [];
  for (let i = 0; i < 4; i++) {
    const { p50, p99 } = await fixedLoad(room[0], 10, 20, 4);
    windows.push(`${p50.toFixed(1)}/${p99.toFixed(1)}`);
    if (i === 0 && server.kind === "ours") {
      const metrics = await (await fetch(`http://127.0.0.1:${server.ports[0]}/metrics`)).text();
      const buckets = metrics.split("\n").filter((l) => l.startsWith("chat_store_commit_ms"));
      console.log(`commits over the first window:\n${buckets.join("\n")}`);
    }
  }
  console.log(`${name}: p50/p99 ms in four 4-s windows: ${windows.join("  ")}`);
  for (const c of room.flat()) c.close();
} finally {
  await server.stop();
  await Deno.remove(dir, { recursive: true });
}
Deno.exit(0);
