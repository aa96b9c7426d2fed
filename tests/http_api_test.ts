import assert from "node:assert/strict";
import { Client, type Json, startServer } from "./_helpers.ts";

Deno.test("GET / returns the web client with a Content-Security-Policy", async () => {
  const server = await startServer();
  try {
    const page = await fetch(`${server.http}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.match(await page.text(), /<script type="module" src="app.js">/);
    const script = await fetch(`${server.http}/app.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get("content-type") ?? "", /javascript/);
    await script.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("client files carry an ETag (a returning browser gets 304), compression and security headers", async () => {
  const server = await startServer();
  try {
    const first = await fetch(`${server.http}/app.js`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("content-encoding"), "gzip");
    assert.equal(first.headers.get("cache-control"), "no-cache");
    assert.equal(first.headers.get("x-content-type-options"), "nosniff");
    assert.equal(first.headers.get("referrer-policy"), "no-referrer");
    assert.equal(first.headers.get("x-frame-options"), "SAMEORIGIN");
    const tag = first.headers.get("etag");
    assert.ok(tag, "an ETag");
    assert.match(await first.text(), /from "\.\/client\.js"/);
    const again = await fetch(`${server.http}/app.js`, { headers: { "if-none-match": tag! } });
    assert.equal(again.status, 304);
    await again.body?.cancel();
    const traversal = await fetch(`${server.http}/..%2Fdeno.json`);
    assert.equal(traversal.status, 404);
    await traversal.body?.cancel();
    // The page's modules, one folder deep, and nothing beyond.
    const module = await fetch(`${server.http}/ui/conversations.js`);
    assert.equal(module.status, 200);
    assert.match(module.headers.get("content-type") ?? "", /javascript/);
    await module.body?.cancel();
    for (const path of ["/ui/..%2F..%2Fdeno.json", "/ui/%2E%2E%2Fapp.js", "/src/mod.ts"]) {
      const outside = await fetch(`${server.http}${path}`);
      assert.equal(outside.status, 404, path);
      await outside.body?.cancel();
    }
  } finally {
    await server.close();
  }
});

Deno.test("GET /health answers 200 ok as text/plain", async () => {
  const server = await startServer();
  try {
    const res = await fetch(`${server.http}/health`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    assert.equal(await res.text(), "ok");
  } finally {
    await server.close();
  }
});

Deno.test("GET /ws without an upgrade answers 426 with a JSON error", async () => {
  const server = await startServer();
  try {
    const res = await fetch(`${server.http}/ws`);
    assert.equal(res.status, 426);
    const body = await res.json();
    assert.equal(body.error, "upgrade_required");
    assert.equal(typeof body.message, "string");
  } finally {
    await server.close();
  }
});

Deno.test("POST /rooms creates a room; a taken name is 409 with the existing id", async () => {
  const server = await startServer();
  const post = (body: string) =>
    fetch(`${server.http}/rooms`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
  try {
    const created = await post(JSON.stringify({ name: "Design" }));
    assert.equal(created.status, 201);
    const room = await created.json();
    assert.deepEqual(Object.keys(room).sort(), ["createdAt", "id", "name"]);
    assert.equal(room.name, "Design");
    const taken = await post(JSON.stringify({ name: "design" }));
    assert.equal(taken.status, 409);
    const body = await taken.json();
    assert.equal(body.error, "room_exists");
    assert.equal(body.id, room.id);
    for (
      const [bad, code] of [
        ["{", "bad_json"],
        ["[]", "bad_json"],
        ["{}", "missing_field"],
        ['{"name": 3}', "invalid_field"],
        ['{"name": "   "}', "invalid_field"],
      ]
    ) {
      const res = await post(bad);
      assert.equal(res.status, 400, bad);
      assert.equal((await res.json()).error, code, bad);
    }
  } finally {
    await server.close();
  }
});

Deno.test("GET /rooms lists rooms with member counts; GET /rooms/:id shows members or 404", async () => {
  const server = await startServer();
  const alice = await Client.connect(server.ws, { name: "alice", room: "general" });
  const bob = await Client.connect(server.ws, { name: "bob", room: "general" });
  try {
    const rooms = await (await fetch(`${server.http}/rooms`)).json();
    const general = rooms.find((r: Json) => r.name === "general");
    assert.deepEqual(general, { id: alice.events[1].room, name: "general", members: 2 });
    const one = await fetch(`${server.http}/rooms/${general.id}`);
    assert.equal(one.status, 200);
    const details = await one.json();
    assert.deepEqual(details.members, ["alice", "bob"]);
    assert.equal(details.name, "general");
    assert.equal(typeof details.createdAt, "number");
    const missing = await fetch(`${server.http}/rooms/01ARZ3NDEKTSV4RRFFQ69G5FAV`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error, "no_such_room");
    const missingMessages = await fetch(`${server.http}/rooms/nowhere/messages`);
    assert.equal(missingMessages.status, 404);
    await missingMessages.body?.cancel();
  } finally {
    await alice.close();
    await bob.close();
    await server.close();
  }
});

Deno.test("GET /rooms pages with limit (default 100, max 500) and after (a room id), oldest first", async () => {
  const server = await startServer();
  try {
    const made = [];
    for (const name of ["a", "b", "c"]) {
      made.push(
        await (await fetch(`${server.http}/rooms`, {
          method: "POST",
          body: JSON.stringify({ name }),
        })).json(),
      );
    }
    const names = async (query: string) =>
      (await (await fetch(`${server.http}/rooms${query}`)).json()).map((r: Json) => r.name);
    assert.deepEqual(await names(""), ["a", "b", "c"]);
    assert.deepEqual(await names("?limit=2"), ["a", "b"]);
    assert.deepEqual(await names(`?after=${made[1].id}`), ["c"]);
    assert.deepEqual(await names(`?after=${made[0].id}&limit=1`), ["b"]);
    assert.deepEqual(
      await names("?limit=100000"),
      ["a", "b", "c"],
      "a big limit is capped, not refused",
    );
    for (const query of ["?limit=0", "?limit=x", "?after=nope"]) {
      const refused = await fetch(`${server.http}/rooms${query}`);
      assert.equal(refused.status, 400, query);
      assert.equal((await refused.json()).error, "invalid_field");
    }
  } finally {
    await server.close();
  }
});

Deno.test("GET /rooms/:id/messages pages with before, after and limit", async () => {
  const server = await startServer({ rateBurst: 100 });
  const alice = await Client.connect(server.ws, { name: "alice" });
  const get = async (query: string) => {
    const res = await fetch(`${server.http}/rooms/${alice.events[1].room}/messages${query}`);
    return { status: res.status, body: await res.json() };
  };
  try {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(String((await alice.request({ command: "broadcast", message: `m${i}` })).id));
    }
    const texts = (body: Json) => (body.messages as Json[]).map((m) => m.message);
    const newest = await get("?limit=2");
    assert.deepEqual(texts(newest.body), ["m3", "m4"]);
    assert.equal(newest.body.more, true);
    const before = await get(`?before=${ids[3]}&limit=2`);
    assert.deepEqual(texts(before.body), ["m1", "m2"]);
    assert.equal(before.body.more, true);
    const oldest = await get(`?before=${ids[1]}`);
    assert.deepEqual(texts(oldest.body), ["m0"]);
    assert.equal(oldest.body.more, false);
    const after = await get(`?after=${ids[0]}&limit=3`);
    assert.deepEqual(texts(after.body), ["m1", "m2", "m3"]);
    assert.equal(after.body.more, true);
    const tail = await get(`?after=${ids[2]}`);
    assert.deepEqual(texts(tail.body), ["m3", "m4"]);
    assert.equal(tail.body.more, false);
    const all = await get("");
    assert.equal((all.body.messages as Json[]).length, 5);
    assert.equal((all.body.messages as Json[])[0].event, "broadcast");
    const capped = await get("?limit=5000");
    assert.equal(capped.status, 200);
    for (const bad of ["?limit=abc", "?limit=0", "?before=zzz", "?after=1"]) {
      const res = await get(bad);
      assert.equal(res.status, 400, bad);
      assert.equal(res.body.error, "invalid_field", bad);
    }
  } finally {
    await alice.close();
    await server.close();
  }
});

Deno.test("unknown routes answer 404 with a JSON error", async () => {
  const server = await startServer();
  try {
    const res = await fetch(`${server.http}/nope/nope`);
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error, "not_found");
  } finally {
    await server.close();
  }
});

Deno.test("a client file that cannot be read for another reason than absence is a logged 500, not a 404", async () => {
  // The client's files come from a remote root that fails (as a broken mount or CDN would).
  const origin = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) =>
      new URL(request.url).pathname.endsWith("/missing.js")
        ? new Response("no", { status: 404 })
        : new Response("boom", { status: 500 }),
  );
  const lines: Record<string, unknown>[] = [];
  const server = await startServer({
    staticRoot: new URL(`http://127.0.0.1:${origin.addr.port}/static/`),
    logger: (event, fields) => lines.push({ event, ...fields }),
  });
  try {
    const broken = await fetch(`${server.http}/app.js`);
    assert.equal(broken.status, 500);
    assert.equal((await broken.json()).error, "internal");
    assert.ok(lines.some((l) => l.event === "http_error" && l.path === "/app.js"), "logged");
    const missing = await fetch(`${server.http}/missing.js`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await server.close();
    await origin.shutdown();
  }
});
