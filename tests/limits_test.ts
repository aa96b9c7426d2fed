import assert from "node:assert/strict";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ChatService } from "../src/transport/grpc/gen/chat_v1/chat_pb.ts";
import { Client, closeAll, eventually, rawSocket, rawUpgrade, startServer } from "./_helpers.ts";

Deno.test("HTTP writes are limited per client like a socket: the excess is 429 rate_limited with Retry-After, and nothing of it is stored", async () => {
  const server = await startServer({ ratePerSecond: 1, rateBurst: 5 });
  try {
    await (await fetch(`${server.http}/rooms`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "flood" }),
    })).body?.cancel();
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 20; i++) {
      const answer = await fetch(`${server.http}/rooms/flood/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: `m${i}`, name: "bot" }),
      });
      statuses.push(answer.status);
      if (answer.status === 429) {
        retryAfter = answer.headers.get("retry-after");
        assert.equal((await answer.json()).error, "rate_limited");
      } else await answer.body?.cancel();
    }
    // The room creation took one of the five: four messages pass, the rest wait.
    assert.deepEqual(statuses.filter((s) => s === 201).length, 4, JSON.stringify(statuses));
    assert.ok(statuses.slice(4).every((s) => s === 429));
    assert.ok(Number(retryAfter) >= 1, `Retry-After: ${retryAfter}`);
    const page = await (await fetch(`${server.http}/rooms/flood/messages?limit=200`)).json();
    assert.equal(page.messages.length, 4);
    // Room creation and seed 003's /chat count against the same client's rate.
    const chatty = await fetch(`${server.http}/chat?name=another`, { method: "POST" });
    assert.equal(chatty.status, 429);
    await chatty.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("gRPC writes are limited per client too: RESOURCE_EXHAUSTED, nothing stored", async () => {
  const server = await startServer({ ratePerSecond: 1, rateBurst: 3 });
  const { port } = await server.chat.serveGrpc({ port: 0, hostname: "127.0.0.1" });
  const baseUrl = `http://127.0.0.1:${port}`;
  const sessions = new Http2SessionManager(baseUrl);
  const chat = createClient(
    ChatService,
    createGrpcTransport({ baseUrl, sessionManager: sessions }),
  );
  try {
    const { chatId } = await chat.createChat({ name: "grpc-flood" });
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) {
      try {
        await chat.sendMessage({ chatId, message: { sender: "g", content: `m${i}` } });
        codes.push("OK");
      } catch (error) {
        codes.push(error instanceof ConnectError ? Code[error.code] : String(error));
      }
    }
    assert.deepEqual(codes, [
      "OK",
      "OK",
      "ResourceExhausted",
      "ResourceExhausted",
      "ResourceExhausted",
      "ResourceExhausted",
    ]);
    const page = await (await fetch(`${server.http}/rooms/${chatId}/messages`)).json();
    assert.equal(page.messages.length, 2);
  } finally {
    sessions.abort();
    await server.close();
  }
});

Deno.test("Server-Sent Events streams count against the per-address cap like sockets, and are released when they end", async () => {
  const server = await startServer({ maxConnectionsPerAddress: 3 });
  const readers: AbortController[] = [];
  try {
    await (await fetch(`${server.http}/rooms`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "watched" }),
    })).body?.cancel();
    const open = async () => {
      const abort = new AbortController();
      const answer = await fetch(`${server.http}/rooms/watched/events`, { signal: abort.signal });
      if (answer.ok) readers.push(abort);
      else await answer.body?.cancel();
      return answer.status;
    };
    assert.deepEqual([await open(), await open(), await open()], [200, 200, 200]);
    assert.equal(await open(), 503, "a fourth stream from one address");
    assert.equal((await rawUpgrade(server.port, "/ws?name=x")).status, 503, "and a socket too");
    readers.pop()!.abort();
    await eventually(async () => (await open()) === 200, "the ended stream's place is free again");
  } finally {
    for (const reader of readers) reader.abort();
    await server.close();
  }
});

Deno.test("a Server-Sent Events reader that stops reading is ended once CHAT_MAX_BUFFERED is waiting, not kept growing", async () => {
  const server = await startServer({
    maxBufferedBytes: 64 * 1024,
    ratePerSecond: 1e6,
    rateBurst: 1e6,
  });
  const sender = await Client.connect(server.ws, { name: "loud", room: "flooded" });
  try {
    // A reader that reads nothing (a raw socket): what the kernel does not take waits on the server.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const get = `GET /rooms/flooded/events HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`;
    await conn.write(new TextEncoder().encode(get));
    await eventually(async () => {
      const rooms = await (await fetch(`${server.http}/rooms`)).json();
      return rooms[0]?.name === "flooded";
    }, "the room");
    // Never read while 16 MB are said: more than loopback's socket buffers hold, and far more
    // than the server may hold for this reader.
    const text = "x".repeat(4000);
    const post = () =>
      fetch(`${server.http}/rooms/flooded/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: text, name: "loud" }),
      }).then((answer) => answer.body?.cancel());
    for (let i = 0; i < 40; i++) await Promise.all(Array.from({ length: 100 }, post));
    // Now read: what was buffered, then the end of the stream (the server ended it).
    let bytes = 0;
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      bytes += n;
      const tail = new TextDecoder().decode(buffer.subarray(Math.max(0, n - 5), n));
      if (tail.endsWith("0\r\n\r\n")) break; // the chunked body's end
    }
    conn.close();
    assert.ok(
      bytes < 4000 * 4000,
      `the stream ended early (${bytes} of 16 MB read) instead of holding everything`,
    );
  } finally {
    await sender.close();
    await server.close();
  }
});

Deno.test("direct messages are limited per recipient too: many senders cannot bury one member", async () => {
  // Each sender may send 5 at once; the recipient takes 4 senders' worth (20) at once.
  const server = await startServer({
    ratePerSecond: 1,
    rateBurst: 5,
    maxConnectionsPerAddress: 100,
  });
  const target = await Client.connect(server.ws, { name: "target", room: "r" });
  const senders = await Promise.all(
    Array.from({ length: 8 }, (_, i) => Client.connect(server.ws, { name: `s${i}`, room: "r" })),
  );
  try {
    const answers = await Promise.all(
      senders.flatMap((sender) =>
        Array.from(
          { length: 5 },
          (_, i) => sender.request({ command: "direct", to: "target", message: `dm ${i}` }),
        )
      ),
    );
    const sent = answers.filter((a) => a.event === "direct").length;
    const limited = answers.filter((a) => a.event === "error" && a.code === "rate_limited");
    assert.equal(sent, 20, "the recipient's burst");
    assert.equal(limited.length, 20);
    assert.match(String(limited[0].message), /target is getting too many direct messages/);
    const history = await target.request({ command: "history", with: "s0" });
    assert.ok((history.messages as unknown[]).length <= 5);
  } finally {
    await closeAll([target, ...senders]);
    await server.close();
  }
});

Deno.test("typing is relayed at most 10 times a second per room, however many type", async () => {
  const server = await startServer({ maxConnectionsPerAddress: 100 });
  const watcher = await Client.connect(server.ws, { name: "watcher", room: "busy" });
  const typists = await Promise.all(
    Array.from(
      { length: 40 },
      (_, i) => Client.connect(server.ws, { name: `t${i}`, room: "busy" }),
    ),
  );
  try {
    for (const typist of typists) typist.send({ command: "typing" });
    // A round trip after them: everything they sent has been handled.
    await typists.at(-1)!.request({ command: "me" });
    await watcher.request({ command: "me" });
    const relayed = watcher.events.filter((e) => e.event === "typing").length;
    assert.ok(relayed <= 20, `${relayed} typing events relayed (a burst of 20 at most)`);
    assert.ok(relayed >= 10, `${relayed}: typing still works`);
  } finally {
    await closeAll([watcher, ...typists]);
    await server.close();
  }
});

Deno.test("room creation is limited per client (CHAT_ROOMS_PER_HOUR, bursts of 20), by joining and over HTTP alike", async () => {
  const server = await startServer({
    roomsPerHour: 1,
    joinBurst: 1000,
    joinRatePerSecond: 1000,
    ratePerSecond: 1e6,
    rateBurst: 1e6,
  });
  const creator = await Client.connect(server.ws, { name: "maker", room: "first" });
  try {
    const answers = [];
    for (let i = 0; i < 25; i++) {
      answers.push(await creator.request({ command: "join", room: `new-${i}` }));
    }
    // "first" took one of the 20.
    assert.equal(answers.filter((a) => a.event === "joined").length, 19);
    const refused = answers.filter((a) => a.event === "error");
    assert.ok(refused.every((a) => a.code === "rate_limited"), JSON.stringify(refused[0]));
    // Joining a room that exists is not creating one.
    assert.equal((await creator.request({ command: "join", room: "new-0" })).event, "joined");
    // Over HTTP the same client (its address) has none left either.
    const post = await fetch(`${server.http}/rooms`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "by-http" }),
    });
    assert.equal(post.status, 429);
    assert.ok(Number(post.headers.get("retry-after")) >= 1);
    await post.body?.cancel();
    assert.equal((await (await fetch(`${server.http}/rooms?limit=500`)).json()).length, 20);
  } finally {
    await creator.close();
    await server.close();
  }
});

Deno.test("an empty room that never had a message is removed after CHAT_ROOM_IDLE_TTL_S (its name free again); others stay", async () => {
  const server = await startServer({ roomIdleTtlSeconds: 1 });
  const create = (name: string) =>
    fetch(`${server.http}/rooms`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name }),
    }).then((answer) => answer.json());
  try {
    const idle = await create("idle");
    await create("spoken");
    await fetch(`${server.http}/rooms/spoken/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: "history", name: "bot" }),
    }).then((answer) => answer.body?.cancel());
    const present = await Client.connect(server.ws, { name: "stays", room: "occupied" });
    const names = async () =>
      ((await (await fetch(`${server.http}/rooms`)).json()) as { name: string }[])
        .map((r) => r.name).sort();
    await eventually(
      async () => !(await names()).includes("idle"),
      "the idle room removed",
      10_000,
    );
    assert.deepEqual(await names(), ["occupied", "spoken"]);
    assert.equal((await fetch(`${server.http}/rooms/${idle.id}`)).status, 404);
    // The name is free: a new room (a new id) takes it.
    const again = await create("idle");
    assert.notEqual(again.id, idle.id);
    await present.close();
  } finally {
    await server.close();
  }
});

Deno.test("by default one address holds at most 8 sockets: Deno buffers a whole frame (up to 64 MiB) per socket, so 8 keep a flood under 1 GiB", async () => {
  const server = await startServer();
  const held: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 8; i++) {
      const socket = await rawSocket(server.port, `/ws?name=s${i}`);
      held.push(socket);
      const head = new TextDecoder().decode((await readSome(socket)) ?? new Uint8Array());
      assert.match(head, /^HTTP\/1\.1 101/, `socket ${i}`);
    }
    const ninth = await rawUpgrade(server.port, "/ws?name=s8");
    assert.equal(ninth.status, 503);
    assert.equal(JSON.parse(ninth.body).error, "over_capacity");
  } finally {
    for (const socket of held) socket.close();
    await server.close();
  }
});

async function readSome(conn: Deno.TcpConn): Promise<Uint8Array | undefined> {
  const buffer = new Uint8Array(4096);
  const n = await conn.read(buffer);
  return n === null ? undefined : buffer.subarray(0, n);
}

Deno.test("many joining one new room at once make one room and spend one creation", async () => {
  const server = await startServer({ roomsPerHour: 1, maxConnectionsPerAddress: 100 });
  const clients = Array.from(
    { length: 50 },
    (_, i) => Client.open(server.ws, { name: `j${i}`, room: "fresh" }),
  );
  try {
    const joined = await Promise.all(
      clients.map((c) => c.waitFor((e) => e.event === "joined" || e.event === "error")),
    );
    assert.ok(
      joined.every((e) => e.event === "joined"),
      JSON.stringify(joined.find((e) => e.event === "error")),
    );
    assert.equal(new Set(joined.map((e) => e.room)).size, 1);
  } finally {
    await closeAll(clients);
    await server.close();
  }
});
