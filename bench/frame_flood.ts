/**
 * The memory a flood of oversized WebSocket frames makes the server hold (issue 13, item 1).
 * Deno reads and decodes a whole frame (up to its own 64 MiB cap) before the application sees it,
 * so `CHAT_MAX_FRAME` can only close the socket (1009) afterwards. This starts `main.ts listen`,
 * opens `n` sockets from this one address, sends one frame of `mib` MiB on each at once, samples
 * the server's resident memory every 20 ms, and prints before / peak / after.
 *
 * Usage: deno run -A bench/frame_flood.ts [n=6] [mib=60]
 *
 * @module
 */
import { freePort } from "./loopback.ts";

const n = Number(Deno.args[0] ?? 6);
const mib = Number(Deno.args[1] ?? 60);
const port = freePort();
const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("../main.ts", import.meta.url).pathname, "listen"],
  env: {
    PORT: String(port),
    HOSTNAME: "127.0.0.1",
    CHAT_KV_PATH: ":memory:",
    CHAT_LOG: "off",
  },
  stdout: "null",
  stderr: "inherit",
}).spawn();

async function rss(): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

for (;;) {
  try {
    await (await fetch(`http://127.0.0.1:${port}/health`)).body?.cancel();
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 100));
  }
}
const before = await rss();
let peak = before;
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    peak = Math.max(peak, await rss());
    await new Promise((r) => setTimeout(r, 20));
  }
})();
const frame = "x".repeat(mib * 1024 * 1024);
const t0 = performance.now();
const codes = await Promise.all(
  Array.from({ length: n }, (_, i) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?name=flood${i}`);
      ws.onmessage = (m) => {
        if (String(m.data).includes('"joined"')) ws.send(frame);
      };
      ws.onclose = (e) => resolve(e.code);
    })),
);
const closedMs = performance.now() - t0;
await new Promise((r) => setTimeout(r, 2000));
sampling = false;
await sampler;
const after = await rss();
console.log(
  `${n} sockets × ${mib} MiB frames: closed with ${[...new Set(codes)].join(", ")} in ${
    closedMs.toFixed(0)
  } ms; server RSS ${before.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB at peak, ${
    after.toFixed(0)
  } MiB 2 s after`,
);
child.kill("SIGTERM");
await child.status;
