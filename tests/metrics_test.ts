import assert from "node:assert/strict";
import {
  Client,
  closeAll,
  eventually,
  freePort,
  listening,
  startCommand,
  startServer,
} from "./_helpers.ts";

/** The value of one sample line (`name{labels} value`) of a Prometheus text body. */
function sample(body: string, line: string): number | undefined {
  const found = body.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

Deno.test("GET /metrics: Prometheus text with chat_ figures that follow what happened", async () => {
  const server = await startServer();
  const alice = await Client.connect(server.ws, { name: "alice", room: "m" });
  const bob = await Client.connect(server.ws, { name: "bob", room: "m" });
  try {
    await alice.request({ command: "broadcast", message: "counted" });
    await bob.next((e) => e.message === "counted");
    const refused = await alice.request({ command: "broadcast", message: "x".repeat(5000) });
    assert.equal(refused.code, "too_large");
    const response = await fetch(`${server.http}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const body = await response.text();
    assert.equal(sample(body, "chat_connections"), 2);
    assert.equal(sample(body, "chat_local_members"), 2);
    assert.equal(sample(body, "chat_members"), 2);
    assert.equal(sample(body, "chat_rooms"), 1);
    assert.equal(sample(body, "chat_messages_stored_total"), 1);
    assert.equal(
      sample(body, "chat_deliveries_total"),
      2 + 1,
      "bob's join to alice, the message to both",
    );
    assert.equal(sample(body, 'chat_refusals_total{code="too_large"}'), 1);
    assert.equal(sample(body, "chat_store_commit_ms_count"), 1);
    assert.equal(sample(body, "chat_bus_gaps_repaired_total"), 0);
    assert.match(body, /# TYPE chat_store_commit_ms histogram/);
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("GET /metrics needs the bearer token when one is set, and is absent when metrics are off", async () => {
  const guarded = await startServer({ metricsToken: "s3cret" });
  const off = await startServer({ metrics: "off" });
  try {
    const none = await fetch(`${guarded.http}/metrics`);
    assert.equal(none.status, 401);
    assert.equal((await none.json()).error, "unauthorized");
    const wrong = await fetch(`${guarded.http}/metrics`, {
      headers: { authorization: "Bearer x" },
    });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const right = await fetch(`${guarded.http}/metrics`, {
      headers: { authorization: "Bearer s3cret" },
    });
    assert.equal(right.status, 200);
    assert.match(await right.text(), /chat_connections 0/);
    const absent = await fetch(`${off.http}/metrics`);
    assert.equal(absent.status, 404);
    await absent.body?.cancel();
  } finally {
    await guarded.close();
    await off.close();
  }
});

Deno.test("with OTEL_DENO=true the same figures leave through Deno's OpenTelemetry exporter", async () => {
  // A local OTLP/HTTP collector (JSON) that keeps what it receives.
  const received: string[] = [];
  const collector = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (r) => {
      received.push(`${new URL(r.url).pathname} ${await r.text()}`);
      return Response.json({});
    },
  );
  const port = freePort();
  const child = startCommand({
    PORT: String(port),
    HOSTNAME: "127.0.0.1",
    CHAT_KV_PATH: ":memory:",
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.addr.port}`,
    OTEL_METRIC_EXPORT_INTERVAL: "300",
  }).spawn();
  let alice: Client | undefined;
  try {
    await listening(port);
    alice = await Client.connect(`ws://127.0.0.1:${port}/ws`, { name: "alice" });
    await alice.request({ command: "broadcast", message: "traced" });
    await eventually(
      () =>
        received.some((r) =>
          r.startsWith("/v1/metrics") && r.includes("chat_messages_stored") &&
          r.includes("chat_store_commit_ms")
        ),
      "chat_ metrics at the collector",
      10_000,
    );
  } finally {
    await alice?.close();
    child.kill("SIGTERM");
    await child.status;
    await collector.shutdown();
  }
});
