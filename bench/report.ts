/**
 * The report of `deno task bench`: the table, the machine it ran on, and the docs it rewrites.
 *
 * @module
 */

import type { Row } from "./workloads.ts";
import { fmt, writeFormatted } from "./options.ts";
import { path } from "./servers.ts";

/** The table of every server's row. */
export function table(rows: Row[]): string {
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

/** The machine the run is on: cores, CPU, memory, OS, Deno and Node versions. */
export async function machine(): Promise<string> {
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
export async function replaceBetween(file: string, name: string, content: string): Promise<void> {
  const text = await Deno.readTextFile(file);
  const start = text.indexOf(`<!-- ${name}:start -->`);
  const end = text.indexOf(`<!-- ${name}:end -->`);
  if (start < 0 || end < start) return;
  const head = text.slice(0, start + `<!-- ${name}:start -->`.length);
  await writeFormatted({ [file]: `${head}\n\n${content}\n\n${text.slice(end)}` });
}

/** Runs bench/kv_cost.ts (KV operations per message, join and heartbeat) and returns its table. */
export async function kvCosts(): Promise<string> {
  console.error("bench: KV operations of the KV bus…");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", path("bench/kv_cost.ts")],
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("bench/kv_cost.ts failed");
  return new TextDecoder().decode(out.stdout).trim();
}
