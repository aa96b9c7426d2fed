import assert from "node:assert/strict";
import { Client, closeAll, type Json, rawSocket, startServer } from "./_helpers.ts";

Deno.test("a client that stops reading is closed with 1013; memory stays bounded; others keep up", async () => {
  const closes: Json[] = [];
  const server = await startServer({
    maxBufferedBytes: 256 * 1024,
    maxMessageLength: 4000,
    ratePerSecond: 1e6,
    rateBurst: 1e6,
    logger: (event, fields) => {
      if (event === "ws_closing") closes.push(fields ?? {});
    },
  });
  const sender = await Client.connect(server.ws, { name: "sender" });
  const fast = await Client.connect(server.ws, { name: "fast" });
  // A raw TCP client: it upgrades into the lobby, then never reads a byte.
  const stalled = await rawSocket(server.port, "/ws?name=stalled");
  try {
    await sender.next((e) => e.event === "join" && e.member === "stalled");
    const rssBefore = Deno.memoryUsage().rss;
    const body = "x".repeat(3900);
    const latencies: number[] = [];
    // Send in windows of 16, as a well-behaved client would, until the stalled socket has been
    // dropped (bounded: 40 MB of messages at most). The healthy clients keep up; it cannot.
    for (let i = 0; i < 10_000 && !closes.some((c) => c.member === "stalled"); i += 16) {
      for (let j = 0; j < 15; j++) sender.send({ command: "broadcast", message: body });
      const t0 = performance.now();
      await sender.request({ command: "broadcast", message: body });
      await fast.request({ command: "list" });
      latencies.push(performance.now() - t0);
    }
    const closed = closes.find((c) => c.member === "stalled");
    assert.ok(closed, "the stalled client was closed");
    assert.deepEqual(closes.map((c) => c.member), ["stalled"], "and nobody else");
    assert.equal(closed.code, 1013);
    const leave = await fast.waitFor((e) => e.event === "leave" && e.member === "stalled");
    assert.equal(leave.member, "stalled");
    const growthMb = (Deno.memoryUsage().rss - rssBefore) / 2 ** 20;
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? 0;
    console.log(
      `  stalled client closed with 1013 after ${latencies.length * 16} messages; ` +
        `rss growth ${growthMb.toFixed(1)} MB; healthy round trip p99 ${p99.toFixed(1)} ms`,
    );
    assert.ok(growthMb < 200, `memory grew by ${growthMb} MB`);
    assert.ok(p99 < 1000, `healthy clients slowed down: p99 ${p99} ms`);
    // The healthy client still gets its answers while the stalled one is being dropped.
    assert.equal((await fast.request({ command: "list" })).event, "list");
  } finally {
    stalled.close();
    await closeAll([sender, fast]);
    await server.close();
  }
});
