import assert from "node:assert/strict";
import { issueToken } from "../src/transport/tokens.ts";
import { Client, closeAll, rawSocket, rawUpgrade, startServer } from "./_helpers.ts";

const SECRET = "test-secret-that-is-long-enough";

Deno.test("a cross-origin upgrade is refused with 403 unless allowed; same-origin and no Origin pass", async () => {
  const server = await startServer({ allowedOrigins: ["https://friend.example"] });
  try {
    const foreign = await rawUpgrade(server.port, "/ws?name=a", { Origin: "https://evil.example" });
    assert.equal(foreign.status, 403);
    assert.equal(JSON.parse(foreign.body).error, "origin_forbidden");
    const same = await rawUpgrade(server.port, "/ws?name=b", {
      Origin: `http://127.0.0.1:${server.port}`,
    });
    assert.equal(same.status, 101);
    const listed = await rawUpgrade(server.port, "/ws?name=c", {
      Origin: "https://friend.example",
    });
    assert.equal(listed.status, 101);
    const none = await rawUpgrade(server.port, "/ws?name=d");
    assert.equal(none.status, 101);
  } finally {
    await server.close();
  }
});

Deno.test("with a secret set, /ws and POST /rooms need a valid token; its subject is the name", async () => {
  const server = await startServer({ jwtSecret: SECRET });
  try {
    const missing = await rawUpgrade(server.port, "/ws?name=a");
    assert.equal(missing.status, 401);
    assert.equal(JSON.parse(missing.body).error, "unauthorized");
    const forged = await issueToken("another-secret-entirely-wrong", "eve");
    assert.equal((await rawUpgrade(server.port, `/ws?token=${forged}`)).status, 401);
    const expired = await issueToken(SECRET, "old", { now: Date.now() - 7200_000, ttlSeconds: 60 });
    assert.equal((await rawUpgrade(server.port, `/ws?token=${expired}`)).status, 401);
    assert.equal((await rawUpgrade(server.port, "/ws?token=not.a.jwt")).status, 401);

    const token = await issueToken(SECRET, "alice");
    const alice = await Client.connect(server.ws, { token, name: "mallory" });
    assert.equal(alice.me.member, "alice", "the token's subject wins over ?name");
    const bearer = await rawUpgrade(server.port, "/ws", { Authorization: `Bearer ${token}` });
    assert.equal(bearer.status, 101);
    await alice.close();

    const post = (headers: Record<string, string>) =>
      fetch(`${server.http}/rooms`, {
        method: "POST",
        headers,
        body: JSON.stringify({ name: "secured" }),
      });
    const refused = await post({});
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error, "unauthorized");
    const created = await post({ Authorization: `Bearer ${token}` });
    assert.equal(created.status, 201);
    await created.body?.cancel();
    const read = await fetch(`${server.http}/rooms`);
    assert.equal(read.status, 200, "reads stay open");
    await read.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("a token may restrict rooms: others are refused with room_forbidden, and not created", async () => {
  const server = await startServer({ jwtSecret: SECRET });
  try {
    const token = await issueToken(SECRET, "bob", { rooms: ["team", "lobby"] });
    const bob = await Client.connect(server.ws, { token, room: "team" });
    const refused = await bob.request({ command: "join", room: "elsewhere" });
    assert.equal(refused.code, "room_forbidden");
    const rooms = await (await fetch(`${server.http}/rooms`)).json();
    assert.ok(!rooms.some((r: { name: string }) => r.name === "elsewhere"));
    const allowed = await bob.request({ command: "join", room: "LOBBY" });
    assert.equal(allowed.event, "joined");
    const denied = Client.open(server.ws, { token, room: "secret" });
    const error = await denied.next((e) => e.event === "error");
    assert.equal(error.code, "room_forbidden");
    await closeAll([bob, denied]);
  } finally {
    await server.close();
  }
});

Deno.test("a token that expires on a live socket: token_expired, then 4001", async () => {
  const server = await startServer({ jwtSecret: SECRET });
  try {
    // Expires within two seconds (JWT times are whole seconds).
    const token = await issueToken(SECRET, "brief", { ttlSeconds: 1 });
    const brief = await Client.connect(server.ws, { token });
    const closed = await brief.closed;
    assert.equal(closed.code, 4001);
    assert.match(closed.reason, /expired/);
    assert.equal(brief.events.find((e) => e.event === "error")?.code, "token_expired");
  } finally {
    await server.close();
  }
});

Deno.test("past the connection limit, upgrades get 503 before the upgrade", async () => {
  const server = await startServer({ maxConnections: 2 });
  const a = await Client.connect(server.ws, { name: "a" });
  const b = await Client.connect(server.ws, { name: "b" });
  try {
    const third = await rawUpgrade(server.port, "/ws?name=c");
    assert.equal(third.status, 503);
    assert.equal(JSON.parse(third.body).error, "over_capacity");
    await b.close();
    const c = await Client.connect(server.ws, { name: "c" });
    await c.close();
  } finally {
    await closeAll([a, b]);
    await server.close();
  }
});

Deno.test("past the rooms-per-connection limit, join answers too_many_rooms", async () => {
  const server = await startServer({ maxRoomsPerConnection: 2 });
  const a = await Client.connect(server.ws, { name: "a" });
  try {
    assert.equal((await a.request({ command: "join", room: "second" })).event, "joined");
    const refused = await a.request({ command: "join", room: "third" });
    assert.equal(refused.code, "too_many_rooms");
    assert.equal(
      (await a.request({ command: "broadcast", room: "second", message: "ok" })).event,
      "broadcast",
    );
  } finally {
    await a.close();
    await server.close();
  }
});

Deno.test("a peer that vanishes without closing is dropped after the idle timeout", async () => {
  const server = await startServer({ idleTimeoutSeconds: 1 });
  const watcher = await Client.connect(server.ws, { name: "watcher" });
  // A raw TCP client that upgrades, then never reads or answers pings again.
  const conn = await rawSocket(server.port, "/ws?name=ghost");
  try {
    await watcher.next((e) => e.event === "join" && e.member === "ghost");
    const started = Date.now();
    const leave = await watcher.next((e) => e.event === "leave" && e.member === "ghost", 10_000);
    assert.equal(leave.member, "ghost");
    assert.ok(Date.now() - started < 5000, "dropped within a few idle periods");
  } finally {
    conn.close();
    await watcher.close();
    await server.close();
  }
});
