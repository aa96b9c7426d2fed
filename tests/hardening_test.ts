import assert from "node:assert/strict";
import { sign } from "hono/jwt";
import { issueToken } from "../src/transport/tokens.ts";
import {
  Client,
  eventually,
  rawSocket,
  rawUpgrade,
  startServer,
  webSocketWithHeaders,
} from "./_helpers.ts";

const SECRET = "k".repeat(32);
const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

Deno.test("every HTTP body is bounded: over CHAT_MAX_BODY is 413 too_large, and nothing is made", async () => {
  const server = await startServer({ maxBodyBytes: 1024 });
  try {
    const big = await fetch(`${server.http}/rooms`, json({ name: "x", pad: "y".repeat(100_000) }));
    assert.equal(big.status, 413);
    assert.equal((await big.json()).error, "too_large");
    // Without a Content-Length (a stream), the limit holds too.
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 64; i++) controller.enqueue(new TextEncoder().encode("z".repeat(1024)));
        controller.close();
      },
    });
    const streamed = await fetch(`${server.http}/rooms`, { method: "POST", body: stream });
    assert.equal(streamed.status, 413);
    await streamed.body?.cancel();
    assert.deepEqual(await (await fetch(`${server.http}/rooms`)).json(), []);
  } finally {
    await server.close();
  }
});

Deno.test("tokens: a rooms claim is enforced on every write, a malformed one is refused, and lifetimes are bounded", async () => {
  const server = await startServer({ jwtSecret: SECRET, tokenMaxTtlSeconds: 3600 });
  try {
    const team = await issueToken(SECRET, "ann", { rooms: ["team"], ttlSeconds: 600 });
    const auth = { authorization: `Bearer ${team}` };
    assert.equal((await fetch(`${server.http}/rooms`, json({ name: "team" }, auth))).status, 201);
    const other = await fetch(`${server.http}/rooms`, json({ name: "other" }, auth));
    assert.equal(other.status, 403);
    assert.equal((await other.json()).error, "room_forbidden");
    await server.chat.post("elsewhere", "made by the server");
    const write = await fetch(
      `${server.http}/rooms/elsewhere/messages`,
      json({ message: "x" }, auth),
    );
    assert.equal(write.status, 403);
    await write.body?.cancel();
    const chatty = await fetch(`${server.http}/chat?name=other`, { method: "POST", headers: auth });
    assert.equal(chatty.status, 403);
    await chatty.body?.cancel();

    const now = Math.floor(Date.now() / 1000);
    const bad = [
      await sign({ sub: "ann", exp: now + 60, rooms: "team" }, SECRET, "HS256"), // not a list
      await sign({ sub: "ann", exp: now + 60, rooms: [1, 2] }, SECRET, "HS256"), // not names
      await sign({ sub: "ann" }, SECRET, "HS256"), // no expiry: valid forever
      await sign({ sub: "ann", exp: now + 7200 }, SECRET, "HS256"), // over the 1 h maximum
    ];
    for (const token of bad) {
      const upgrade = await rawUpgrade(server.port, `/ws?token=${token}`);
      assert.equal(upgrade.status, 401, token);
      const post = await fetch(
        `${server.http}/rooms`,
        json({ name: "team2" }, {
          authorization: `Bearer ${token}`,
        }),
      );
      assert.equal(post.status, 401);
      await post.body?.cancel();
    }
  } finally {
    await server.close();
  }
});

Deno.test("wrong requests get the right errors: an overlong room reference is 400, a broken upgrade is 400", async () => {
  const server = await startServer();
  const ann = await Client.connect(server.ws, { name: "ann" });
  try {
    const long = "r".repeat(3000);
    const read = await fetch(`${server.http}/rooms/${long}/messages`);
    assert.equal(read.status, 400);
    assert.equal((await read.json()).error, "invalid_field");
    const joined = await ann.request({ command: "join", room: long });
    assert.equal(joined.code, "invalid_field");
    const upgrade = ["Upgrade: websocket", "Sec-WebSocket-Version: 13"];
    const broken = [
      [...upgrade, "Connection: Upgrade"], // no Sec-WebSocket-Key
      [...upgrade, "Connection: keep-alive", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="],
      // A version that is not 13, and a key that is not 16 bytes in base64.
      [
        "Upgrade: websocket",
        "Sec-WebSocket-Version: 99",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      ],
      [...upgrade, "Connection: Upgrade", "Sec-WebSocket-Key: x"],
    ];
    for (const headers of broken) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      const request = ["GET /ws HTTP/1.1", `Host: 127.0.0.1:${server.port}`, ...headers, "", ""];
      await conn.write(new TextEncoder().encode(request.join("\r\n")));
      const answer = new TextDecoder().decode((await readSome(conn)) ?? new Uint8Array());
      conn.close();
      assert.match(answer, /^HTTP\/1\.1 400/, JSON.stringify(headers));
    }
  } finally {
    await ann.close();
    await server.close();
  }
});

/** A POST /rooms spoken by hand (fetch cannot forge a Host): the status line's code. */
async function postRoomAs(port: number, headers: Record<string, string>): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const body = JSON.stringify({ name: `r-${crypto.randomUUID().slice(0, 8)}` });
  const lines = [
    "POST /rooms HTTP/1.1",
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    "Content-Type: application/json",
    `Content-Length: ${body.length}`,
    "Connection: close",
    "",
    body,
  ];
  await conn.write(new TextEncoder().encode(lines.join("\r\n")));
  const answer = new TextDecoder().decode((await readSome(conn)) ?? new Uint8Array());
  conn.close();
  return Number(answer.split(" ")[1]);
}

Deno.test("DNS rebinding is closed by default: from this machine, only an IP literal or localhost as Host", async () => {
  const open = await startServer();
  const listed = await startServer({ allowedHosts: ["chat.example"] });
  const proxied = await startServer({ trustProxy: "on" });
  try {
    // A rebinding page's POST: its own name, pointed at 127.0.0.1, in Host and Origin.
    const evil = { Host: "evil.example", Origin: "http://evil.example" };
    assert.equal(await postRoomAs(open.port, evil), 403);
    assert.equal((await rawUpgrade(open.port, "/ws", evil)).status, 403);
    assert.deepEqual(await (await fetch(`${open.http}/rooms`)).json(), [], "nothing was created");
    // The names a local user types still work.
    assert.equal(await postRoomAs(open.port, { Host: `localhost:${open.port}` }), 201);
    assert.equal(await postRoomAs(open.port, { Host: `127.0.0.1:${open.port}` }), 201);
    assert.equal(await postRoomAs(open.port, { Host: `[::1]:${open.port}` }), 201);
    // A public name is served when listed, or behind a proxy that says where the client is.
    assert.equal(await postRoomAs(listed.port, { Host: "chat.example" }), 201);
    const forwarded = { Host: "chat.example", "X-Forwarded-For": "203.0.113.7" };
    assert.equal(await postRoomAs(proxied.port, forwarded), 201);
    assert.equal(await postRoomAs(proxied.port, { Host: "chat.example" }), 403);
  } finally {
    await Promise.all([open.close(), listed.close(), proxied.close()]);
  }
});

async function readSome(conn: Deno.TcpConn): Promise<Uint8Array | undefined> {
  const buf = new Uint8Array(4096);
  const n = await conn.read(buf);
  return n === null ? undefined : buf.subarray(0, n);
}

Deno.test("origins are compared whole, hosts can be pinned (DNS rebinding), and every write follows the origin rule", async () => {
  const pinned = await startServer({ allowedHosts: ["127.0.0.1"] });
  const open = await startServer();
  try {
    // A rebinding page: its own name pointed at this server, so Host and Origin agree.
    const rebind = await rawUpgrade(pinned.port, "/ws", {
      Host: "evil.example",
      Origin: "http://evil.example",
    });
    assert.equal(rebind.status, 403);
    // fetch cannot forge a Host: speak HTTP by hand.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: pinned.port });
    const get = "GET /rooms HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n";
    await conn.write(new TextEncoder().encode(get));
    const page = new TextDecoder().decode((await readSome(conn)) ?? new Uint8Array());
    conn.close();
    assert.match(page, /^HTTP\/1\.1 403/);
    // Same host, other scheme: not the same origin.
    const scheme = await rawUpgrade(open.port, "/ws", { Origin: `https://127.0.0.1:${open.port}` });
    assert.equal(scheme.status, 403);
    const same = await rawUpgrade(open.port, "/ws", { Origin: `http://127.0.0.1:${open.port}` });
    assert.equal(same.status, 101);
    // A cross-site form (text/plain, no preflight) cannot create rooms.
    const form = await fetch(`${open.http}/rooms`, {
      method: "POST",
      headers: { "content-type": "text/plain", origin: "http://evil.example" },
      body: JSON.stringify({ name: "spam" }),
    });
    assert.equal(form.status, 403);
    assert.equal((await form.json()).error, "origin_forbidden");
    const api = await fetch(`${open.http}/rooms`);
    assert.equal(api.headers.get("x-content-type-options"), "nosniff");
    await api.body?.cancel();
  } finally {
    await pinned.close();
    await open.close();
  }
});

Deno.test("joins and leaves are rate-limited per connection; rooms are capped in total", async () => {
  const server = await startServer({ joinRatePerSecond: 1, joinBurst: 5, maxRooms: 3 });
  const ann = await Client.connect(server.ws, { name: "ann", room: "a" });
  try {
    const codes: unknown[] = [];
    for (let i = 0; i < 10; i++) {
      const answer = await ann.request({ command: i % 2 ? "join" : "leave", room: "a" });
      codes.push(answer.event === "error" ? answer.code : answer.event);
    }
    assert.ok(codes.includes("rate_limited"), JSON.stringify(codes));
    assert.ok(codes.slice(0, 4).every((c) => c !== "rate_limited"), "a short burst passes");
    // Rooms "a" and two more fill the cap of 3.
    for (const name of ["b", "c"]) {
      assert.equal((await fetch(`${server.http}/rooms`, json({ name }))).status, 201);
    }
    const full = await fetch(`${server.http}/rooms`, json({ name: "d" }));
    assert.equal(full.status, 503);
    assert.equal((await full.json()).error, "over_capacity");
  } finally {
    await ann.close();
    await server.close();
  }
});

Deno.test("a reader resuming over a backlog of megabytes gets all of it, at its pace, without 1013", async () => {
  const server = await startServer({ ratePerSecond: 1e6, rateBurst: 1e6, maxMessageLength: 4000 });
  const writer = await Client.connect(server.ws, { name: "writer", room: "big" });
  try {
    const first = await writer.request({ command: "broadcast", message: "start" });
    const text = "x".repeat(3900);
    // The writer sends in rounds of 50, reading its acknowledgements, so that it is not itself
    // closed as too slow.
    for (let i = 0; i < 1000; i++) {
      writer.send({ command: "broadcast", message: `${i} ${text}` });
      if (i % 50 === 49) {
        await writer.waitFor((e) => String(e.message ?? "").startsWith(`${i} `), 30_000);
      }
    }
    // ~3.9 MB missed, four times the default unsent-backlog bound of 1 MiB.
    const reader = await Client.connect(server.ws, {
      name: "reader",
      room: "big",
      since: String(first.id),
    });
    await reader.waitFor((e) => String(e.message ?? "").startsWith("999 "), 30_000);
    assert.equal(reader.broadcasts().length, 1000, "the whole backlog, once");
    assert.equal(reader.events.find((e) => e.event === "joined")?.recovered, true);
    assert.equal(reader.socket.readyState, WebSocket.OPEN, "not closed as too slow");
    await reader.close();
  } finally {
    await writer.close();
    await server.close();
  }
});

Deno.test("a backlog over CHAT_MAX_REPLAY is not replayed: recovered is false and live events go on", async () => {
  const server = await startServer({ ratePerSecond: 1e6, rateBurst: 1e6, maxReplay: 50 });
  const writer = await Client.connect(server.ws, { name: "writer", room: "long" });
  try {
    const first = await writer.request({ command: "broadcast", message: "start" });
    for (let i = 0; i < 100; i++) await writer.request({ command: "broadcast", message: `m${i}` });
    const reader = await Client.connect(server.ws, {
      name: "reader",
      room: "long",
      since: String(first.id),
    });
    assert.equal(reader.events.find((e) => e.event === "joined")?.recovered, false);
    await writer.request({ command: "broadcast", message: "live" });
    await reader.next((e) => e.message === "live");
    assert.deepEqual(reader.broadcasts().map((m) => m.message), ["live"], "no replay, then live");
    await reader.close();
  } finally {
    await writer.close();
    await server.close();
  }
});

/** The status of a raw upgrade whose socket stays open (it holds its slot) until closed. */
async function hold(port: number, headers: Record<string, string> = {}) {
  const conn = await rawSocket(port, "/ws", headers);
  const answer = new TextDecoder().decode((await readSome(conn)) ?? new Uint8Array());
  return { status: Number(answer.split(" ")[1]), conn };
}

Deno.test("one address may hold CHAT_MAX_CONNECTIONS_PER_ADDRESS sockets; behind a trusted proxy, X-Forwarded-For is the address", async () => {
  const direct = await startServer({ maxConnectionsPerAddress: 2 });
  const proxied = await startServer({ maxConnectionsPerAddress: 1, trustProxy: "on" });
  const held: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const one = await hold(direct.port);
      assert.equal(one.status, 101);
      held.push(one.conn);
    }
    const third = await rawUpgrade(direct.port, "/ws");
    assert.equal(third.status, 503);
    assert.equal(JSON.parse(third.body).error, "over_capacity");
    // A forged X-Forwarded-For changes nothing where the proxy is not trusted.
    assert.equal(
      (await rawUpgrade(direct.port, "/ws", { "X-Forwarded-For": "192.0.2.9" })).status,
      503,
    );
    held.shift()!.close();
    await eventually(
      async () => (await rawUpgrade(direct.port, "/ws")).status === 101,
      "a freed slot",
    );

    // Behind the proxy every peer is the proxy: the forwarded client address is what counts.
    const a = await hold(proxied.port, { "X-Forwarded-For": "192.0.2.1" });
    const b = await hold(proxied.port, { "X-Forwarded-For": "192.0.2.2, 127.0.0.1" });
    held.push(a.conn, b.conn);
    assert.deepEqual([a.status, b.status], [101, 101]);
    const again = await rawUpgrade(proxied.port, "/ws", { "X-Forwarded-For": "192.0.2.1" });
    assert.equal(again.status, 503);
  } finally {
    for (const conn of held) conn.close();
    await direct.close();
    await proxied.close();
  }
});

Deno.test("an oversized frame: 1009, and with CHAT_OVERSIZE_BAN_S its address loses its other sockets and is refused for a while", async () => {
  const server = await startServer({
    maxFrameBytes: 1024,
    oversizeBanSeconds: 1,
    trustProxy: "on",
  });
  const attacker = { "X-Forwarded-For": "192.0.2.66" };
  const bystander = await Client.connect(server.ws, { name: "bystander" });
  try {
    // Two sockets of the attacker's address (through a trusted proxy, as the address is real).
    const sockets = await Promise.all([0, 1].map(async (i) => {
      const ws = webSocketWithHeaders(`${server.ws}?name=flood${i}`, attacker);
      const closed = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
      await new Promise((resolve) =>
        ws.onmessage = (m) => {
          if (String(m.data).includes('"joined"')) resolve(null);
        }
      );
      return { ws, closed };
    }));
    sockets[0].ws.send("x".repeat(4096));
    assert.equal((await sockets[0].closed).code, 1009);
    assert.equal((await sockets[1].closed).code, 1008, "the address's other socket is shed");
    const refused = await rawUpgrade(server.port, "/ws", attacker);
    assert.equal(refused.status, 429);
    assert.equal(JSON.parse(refused.body).error, "rate_limited");
    assert.match(refused.head, /retry-after: 1/i);
    // Other addresses are untouched, and the ban ends.
    assert.equal((await bystander.request({ command: "me" })).event, "me");
    await eventually(
      async () => (await rawUpgrade(server.port, "/ws", attacker)).status === 101,
      "the ban to end",
      5000,
    );
  } finally {
    await bystander.close();
    await server.close();
  }
});
