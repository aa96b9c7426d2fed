import assert from "node:assert/strict";
import { Client, startServer } from "./_helpers.ts";
import { EDGE_STRINGS, random } from "./_fuzz.ts";

const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];
const PATHS = [
  "/",
  "/health",
  "/ws",
  "/metrics",
  "/rooms",
  "/rooms/{ref}",
  "/rooms/{ref}/messages",
  "/rooms/{ref}/events",
  "/chat",
  "/chat/join",
  "/chat_v1.ChatService/CreateChat",
  "/chat_v1.ChatService/SendMessage",
  "/chat_v1.ChatService/Nope",
  "/app.js",
  "/{ref}",
  "/..%2f..%2fdeno.json",
  "/%00",
];
const QUERY = ["limit", "after", "before", "name", "room", "since", "lastEventId", "wire"];
const HEADERS = [
  "content-type",
  "origin",
  "idempotency-key",
  "authorization",
  "last-event-id",
  "upgrade",
  "x-forwarded-proto",
];

/** A path segment; a lone surrogate (no UTF-8 form) becomes bytes that are not UTF-8 either. */
function encoded(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return "%ED%A0%80";
  }
}

/** One random request against the server: method, path, query, headers and body. */
function request(next: () => number, base: string): Request {
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)];
  const text = () => (next() < 0.5 ? pick(EDGE_STRINGS) : Math.floor(next() * 1e6).toString(36));
  const path = pick(PATHS).replace("{ref}", encoded(text()));
  const url = new URL(path, base);
  for (let i = Math.floor(next() * 4); i > 0; i--) url.searchParams.set(pick(QUERY), text());
  const headers = new Headers();
  for (let i = Math.floor(next() * 3); i > 0; i--) {
    try {
      headers.set(pick(HEADERS), text());
    } catch { /* not a valid header value: leave it out */ }
  }
  const method = pick(METHODS);
  let body: BodyInit | undefined;
  if (method !== "GET" && method !== "HEAD") {
    const kind = Math.floor(next() * 5);
    if (kind === 0) body = JSON.stringify({ name: text(), message: text(), extra: [text()] });
    else if (kind === 1) body = JSON.stringify(text()).slice(0, Math.floor(next() * 10));
    else if (kind === 2) body = new Uint8Array(Math.floor(next() * 2000)).map(() => next() * 256);
    else if (kind === 3) body = "x".repeat(Math.floor(next() * 100_000));
  }
  return new Request(url, { method, headers, body });
}

Deno.test("a seeded fuzz of HTTP requests: every one answered with a fitting status and JSON errors, none a 500, server still fine", async () => {
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? 20261126);
  const count = Number(Deno.env.get("FUZZ_REQUESTS") ?? 1500);
  const server = await startServer({ ratePerSecond: 1e6, rateBurst: 1e6, maxBodyBytes: 16 * 1024 });
  const next = random(seed);
  const statuses = new Map<number, number>();
  try {
    for (let i = 0; i < count; i++) {
      const req = request(next, server.http);
      const response = await fetch(req, { signal: AbortSignal.timeout(5000) });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      const type = response.headers.get("content-type") ?? "";
      const what = `#${i} (seed ${seed}): ${req.method} ${req.url} → ${response.status}`;
      assert.ok(response.status < 500 || response.status === 503, what);
      if (response.status >= 400 && type.includes("json") && req.method !== "HEAD") {
        const error = await response.json();
        assert.equal(typeof error.error, "string", what);
        assert.equal(typeof error.message, "string", what);
      } else {
        await response.body?.cancel(); // an event stream, a page or a file: enough seen
      }
    }
    console.log(
      `  ${count} requests, seed ${seed}: ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    assert.equal(await fetch(`${server.http}/health`).then((r) => r.text()), "ok");
    const probe = await Client.connect(server.ws, { name: "after-the-fuzz" });
    assert.equal((await probe.request({ command: "list" })).event, "list");
    await probe.close();
  } finally {
    await server.close();
  }
});
