// Profiling aid (not part of the bench): memory per idle connection without one-time costs.
// Starts ours and the floor as the bench does, opens 100 connections and closes them (warm-up),
// then two storms of 1,000 (100 rooms of 10), and prints the RSS each thousand added, per
// connection. Usage: deno run -A bench/memory_probe.ts   (see docs/BENCHMARKS.md)
import { stormOf } from "./load.ts";
import { sleep } from "./options.ts";
import { serverMemory, SPECS, startServer } from "./servers.ts";

const dir = await Deno.makeTempDir({ prefix: "chat-memory-" });
const kib = (bytes: number) => (bytes / 1000 / 1024).toFixed(1);
try {
  for (const name of ["ours (KV file)", "floor (Deno relay)"]) {
    const spec = SPECS.find((s) => s.name === name)!;
    const server = await startServer(spec, dir);
    try {
      const memory = () => serverMemory(server);
      await sleep(300);
      const fresh = await memory();
      const warm = await stormOf(server, 10, 10, "w");
      await sleep(500);
      for (const c of warm) c.close();
      await sleep(1000);
      const warmed = await memory();
      const first = await stormOf(server, 100, 10, "s");
      await sleep(1000);
      const one = await memory();
      const second = await stormOf(server, 100, 10, "t");
      await sleep(1000);
      const two = await memory();
      console.log(
        `${name}: KiB per idle connection — from fresh ${kib(one - fresh)}, after warm-up ${
          kib(one - warmed)
        }, the second thousand ${kib(two - one)}`,
      );
      for (const c of [...first, ...second]) c.close();
    } finally {
      await server.stop();
    }
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
Deno.exit(0);
