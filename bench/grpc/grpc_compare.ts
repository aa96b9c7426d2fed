/**
 * `deno run -A bench/grpc/grpc_compare.ts [--seconds N] [--streams N]`: Connect's Node adapter on
 * `node:http2` against `@grpc/grpc-js`'s `Server`, both in Deno with the same handlers
 * (bench/grpc/grpc_servers.ts), loaded from Node with grpc-js (bench/grpc/grpc_load.mjs; needs
 * `npm ci --prefix tests/grpc_clients`). Prints unary calls/s (32 in flight) and the server's
 * memory per open server stream (RSS before and after N streams). The server is pinned to CPU 0
 * and the load to CPU 1 where `taskset` exists.
 *
 * @module
 */
import { freePort } from "../loopback.ts";

const args = Deno.args;
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const seconds = flag("--seconds", 5);
const streams = flag("--streams", 5000);
const pinned = new Deno.Command("taskset", { args: ["--version"] }).outputSync().success;
if (!pinned) console.log("(taskset not found: the server and the load share the CPUs)");
const on = (cpu: number, cmd: string[]) => pinned ? ["taskset", "-c", String(cpu), ...cmd] : cmd;

function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function lineFrom(child: Deno.ChildProcess, want: string): Promise<void> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes(want)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the process ended before '${want}'`);
    text += value;
  }
  reader.releaseLock();
}

async function measure(kind: string): Promise<{ callsPerSecond: number; kibPerStream: number }> {
  const port = freePort();
  const [cmd, ...rest] = on(0, [
    Deno.execPath(),
    "run",
    "-A",
    "--config",
    "bench/grpc/deno.json",
    "--lock=bench/grpc/deno.lock",
    "bench/grpc/grpc_servers.ts",
    kind,
    String(port),
  ]);
  const server = new Deno.Command(cmd, { args: rest, stdout: "piped", stderr: "inherit" }).spawn();
  try {
    await lineFrom(server, "ready");
    const [lc, ...la] = on(1, [
      "node",
      "bench/grpc/grpc_load.mjs",
      "unary",
      String(port),
      "1",
      "32",
    ]);
    await new Deno.Command(lc, { args: la, stdout: "null" }).output(); // warm-up second
    const [uc, ...ua] = on(1, [
      "node",
      "bench/grpc/grpc_load.mjs",
      "unary",
      String(port),
      String(seconds),
      "32",
    ]);
    const unary = JSON.parse(
      new TextDecoder().decode((await new Deno.Command(uc, { args: ua }).output()).stdout),
    );
    const pid = server.pid;
    const before = rssKiB(pid);
    const [sc, ...sa] = on(1, [
      "node",
      "bench/grpc/grpc_load.mjs",
      "streams",
      String(port),
      String(streams),
    ]);
    const holder = new Deno.Command(sc, { args: sa, stdout: "piped" }).spawn();
    await lineFrom(holder, "open");
    await new Promise((resolve) => setTimeout(resolve, 1000)); // let the server settle
    const after = rssKiB(pid);
    holder.kill("SIGKILL");
    await holder.status;
    return {
      callsPerSecond: unary.calls / unary.seconds,
      kibPerStream: (after - before) / streams,
    };
  } finally {
    server.kill("SIGKILL");
    await server.status;
  }
}

console.log(
  `gRPC servers in Deno ${Deno.version.deno}: ${seconds} s of unary calls, ${streams} open streams`,
);
console.log("| server | unary calls/s | KiB per open stream |");
console.log("| --- | ---: | ---: |");
for (const kind of ["connect", "grpc-js", "connect", "grpc-js"]) {
  const result = await measure(kind);
  const name = kind === "connect" ? "connect-node on node:http2" : "@grpc/grpc-js Server";
  console.log(
    `| ${name} | ${Math.round(result.callsPerSecond)} | ${result.kibPerStream.toFixed(1)} |`,
  );
}
