import assert from "node:assert/strict";
import {
  Client,
  closeAll,
  cluster,
  eventually,
  rawUpgrade,
  startServer,
  TextClient,
} from "./_helpers.ts";

Deno.test("wire=basic (seed 000): only broadcasts unasked, the sender's own included; answers as JSON", async () => {
  const server = await startServer();
  const basic = await TextClient.open(server.ws, { wire: "basic", name: "bas", room: "r" });
  try {
    // Nothing on connect: the first frame is the answer to what it asks.
    basic.send(JSON.stringify({ command: "list", id: "l1" }));
    const list = JSON.parse(await basic.next());
    assert.deepEqual([list.event, list.re, list.members], ["list", "l1", ["bas"]]);
    const ann = await Client.connect(server.ws, { name: "ann", room: "r" });
    await ann.request({ command: "broadcast", message: "from ann" });
    assert.deepEqual(JSON.parse(await basic.next()).message, "from ann", "no join came first");
    basic.send(JSON.stringify({ command: "broadcast", message: "mine", id: "b1" }));
    const own = JSON.parse(await basic.next());
    assert.deepEqual([own.event, own.message, own.re], ["broadcast", "mine", "b1"]);
    await ann.close();
    await server.chat.notify("everyone", "not for basic clients");
    basic.send(JSON.stringify({ command: "me", id: "m1" }));
    assert.equal(JSON.parse(await basic.next()).event, "me", "no leave, no notice before it");
  } finally {
    await basic.close();
    await server.close();
  }
});

Deno.test("wire=text (seed 002): lines in; name: message and Server lines out, shared with JSON clients", async () => {
  const server = await startServer({ maxMessageLength: 20 });
  const tom = await TextClient.open(server.ws, { wire: "text", name: "tom" });
  try {
    assert.equal(
      await tom.next(),
      "Server: tom has joined the chat",
      "the joiner sees its own join",
    );
    const ann = await Client.connect(server.ws, { name: "ann" });
    assert.equal(await tom.next(), "Server: ann has joined the chat");
    await ann.request({ command: "broadcast", message: "hi tom" });
    assert.equal(await tom.next(), "ann: hi tom");
    tom.send("hello ann\r\nsecond line\n");
    assert.equal(await tom.next(), "tom: hello ann", "the sender included");
    assert.equal(await tom.next(), "tom: second line");
    assert.equal((await ann.next((e) => e.event === "broadcast")).message, "hello ann");
    assert.equal((await ann.next((e) => e.event === "broadcast")).message, "second line");
    tom.send("x".repeat(30));
    assert.match(await tom.next(), /^Server: message is over 20 characters/);
    await server.chat.notify("everyone", "restart at noon");
    assert.equal(await tom.next(), "Server: restart at noon");
    await ann.close();
    assert.equal(await tom.next(), "Server: ann has left the chat");
  } finally {
    await tom.close();
    await server.close();
  }
});

Deno.test("seed 003 (Chatty): POST /chat?name= and /chat/join speak its events, on the same rooms", async () => {
  const server = await startServer();
  try {
    const created = await fetch(`${server.http}/chat?name=general`, { method: "POST" });
    assert.equal(created.status, 201);
    const chat = await created.json();
    assert.deepEqual(Object.keys(chat).sort(), ["id", "name"]);
    const again = await fetch(`${server.http}/chat?name=General`, { method: "POST" });
    assert.equal(again.status, 200);
    assert.equal((await again.json()).id, chat.id, "the existing chat, not a second one");
    const nameless = await fetch(`${server.http}/chat`, { method: "POST" });
    assert.equal(nameless.status, 400);
    assert.equal((await nameless.json()).error, "missing_field");
    assert.equal((await rawUpgrade(server.port, "/chat/join?name=x")).status, 400);

    const ann = await TextClient.open(`ws://127.0.0.1:${server.port}/chat/join`, {
      name: "ann",
      room: chat.id,
    });
    assert.deepEqual(JSON.parse(await ann.next()), {
      event_type: "participant_joined",
      participant: "ann",
    });
    const bob = await Client.connect(server.ws, { name: "bob", room: chat.id });
    assert.deepEqual(JSON.parse(await ann.next()), {
      event_type: "participant_joined",
      participant: "bob",
    });
    ann.send("hello from chatty");
    assert.deepEqual(JSON.parse(await ann.next()), {
      text: "hello from chatty",
      participant: "ann",
    });
    assert.equal((await bob.next((e) => e.event === "broadcast")).message, "hello from chatty");
    await bob.request({ command: "broadcast", message: "hi ann" });
    assert.deepEqual(JSON.parse(await ann.next()), { text: "hi ann", participant: "bob" });
    await bob.close();
    assert.deepEqual(JSON.parse(await ann.next()), {
      event_type: "participant_left",
      participant: "bob",
    });
    await ann.close();
  } finally {
    await server.close();
  }
});

Deno.test("wire=text applies seed 002's limit: a line over 500 characters is refused in its words and not sent", async () => {
  const server = await startServer();
  const tom = await TextClient.open(server.ws, { wire: "text", name: "tom", room: "limits" });
  try {
    assert.equal(await tom.next(), "Server: tom has joined the chat");
    tom.send("y".repeat(501));
    assert.equal(await tom.next(), "Server: message too long (max 500 characters)");
    tom.send("z".repeat(500));
    assert.equal(await tom.next(), `tom: ${"z".repeat(500)}`, "500 is allowed");
    const page = await (await fetch(`${server.http}/rooms/limits/messages`)).json();
    assert.deepEqual(page.messages.map((m: { message: string }) => m.message.length), [500]);
  } finally {
    await tom.close();
    await server.close();
  }
});

Deno.test("seed 003: /chat/join with an unknown room id is 404 before the upgrade, and creates nothing", async () => {
  const server = await startServer();
  try {
    const refused = await rawUpgrade(
      server.port,
      "/chat/join?name=x&room=01ARZ3NDEKTSV4RRFFQ69G5FAV",
    );
    assert.equal(refused.status, 404);
    assert.equal(JSON.parse(refused.body).error, "no_such_room");
    assert.deepEqual(await (await fetch(`${server.http}/rooms`)).json(), []);
  } finally {
    await server.close();
  }
});

Deno.test("an unknown wire is refused with 400 invalid_field", async () => {
  const server = await startServer();
  try {
    const refused = await rawUpgrade(server.port, "/ws?wire=xml");
    assert.equal(refused.status, 400);
    assert.equal(JSON.parse(refused.body).error, "invalid_field");
  } finally {
    await server.close();
  }
});

Deno.test("a text-wire user and a web-client user in one room see each other", async () => {
  const server = await startServer();
  const text = await TextClient.open(server.ws, { wire: "text", name: "terminal", room: "mixed" });
  await text.next((line) => line === "Server: terminal has joined the chat");
  const web = await Client.connect(server.ws, { name: "browser", room: "mixed" });
  try {
    assert.deepEqual((await web.request({ command: "list" })).members, ["terminal", "browser"]);
    text.send("from the terminal");
    assert.equal((await web.next((e) => e.event === "broadcast")).member, "terminal");
  } finally {
    await closeAll([web]);
    await text.close();
    await server.close();
  }
});

Deno.test("a direct message to a member whose client cannot show it (basic wire) is refused, not acknowledged, on any isolate", async () => {
  const { isolates: [a, b], close } = await cluster(2);
  const basic = await TextClient.open(b.ws, { wire: "basic", name: "bas", room: "r" });
  const ann = await Client.connect(a.ws, { name: "ann", room: "r" });
  try {
    await eventually(async () => {
      const list = await ann.request({ command: "list" });
      return (list.members as string[]).includes("bas");
    }, "a to know bas");
    const refused = await ann.request({ command: "direct", to: "bas", message: "psst" });
    assert.equal(refused.event, "error");
    assert.equal(refused.code, "cannot_receive");
    const history = await ann.request({ command: "history", with: "bas" });
    assert.deepEqual(history.messages, [], "nothing was stored");
    // A JSON client of the same room still gets its direct messages.
    const zed = await Client.connect(b.ws, { name: "zed", room: "r" });
    await eventually(async () => {
      const list = await ann.request({ command: "list" });
      return (list.members as string[]).includes("zed");
    }, "a to know zed");
    assert.equal(
      (await ann.request({ command: "direct", to: "zed", message: "hi" })).event,
      "direct",
    );
    assert.equal((await zed.next((e) => e.event === "direct")).message, "hi");
    await zed.close();
  } finally {
    await basic.close();
    await closeAll([ann]);
    await close();
  }
});

/** A raw socket that keeps every frame: binary ones as bytes, text ones as strings. */
async function rawFrames(
  url: string,
): Promise<{ socket: WebSocket; frames: (string | Uint8Array)[] }> {
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const frames: (string | Uint8Array)[] = [];
  socket.onmessage = (m) =>
    frames.push(m.data instanceof ArrayBuffer ? new Uint8Array(m.data) : String(m.data));
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  return { socket, frames };
}

Deno.test("binary frames (seed 001): stored as bytes, relayed as the same binary frame on json and basic, base64 in history and on other wires", async () => {
  const server = await startServer();
  const bytes = Uint8Array.from({ length: 300 }, (_, i) => i % 256);
  const sender = await rawFrames(`${server.ws}?name=glyph&room=bin`);
  const json = await rawFrames(`${server.ws}?name=ann&room=bin`);
  const basic = await rawFrames(`${server.ws}?name=bas&room=bin&wire=basic`);
  const text = await TextClient.open(server.ws, { wire: "text", name: "tom", room: "bin" });
  try {
    await text.next((line) => line === "Server: tom has joined the chat");
    await eventually(async () => {
      const room = await (await fetch(`${server.http}/rooms/bin`)).json();
      return room.members?.length === 4;
    }, "all four in the room");
    sender.socket.send(bytes);
    const binaryIn = (frames: (string | Uint8Array)[]) =>
      frames.find((f): f is Uint8Array => f instanceof Uint8Array);
    await eventually(
      () => [sender, json, basic].every((c) => binaryIn(c.frames) !== undefined),
      "the binary frame on json and basic (the sender's own is its acknowledgement)",
    );
    for (const client of [sender, json, basic]) assert.deepEqual(binaryIn(client.frames), bytes);
    // (Others' arrivals may still reach the text client: the sockets opened before their joins.)
    assert.equal(
      await text.next((line) => line.startsWith("glyph:")),
      "glyph: [binary message, about 300 bytes]",
    );
    const page = await (await fetch(`${server.http}/rooms/bin/messages`)).json();
    assert.equal(page.messages.length, 1);
    assert.equal(page.messages[0].binary, bytes.toBase64());
    assert.ok(!("message" in page.messages[0]), "no message on a binary one");
    // Text frames keep working beside it, and a binary frame on the text wire is refused.
    sender.socket.send(JSON.stringify({ command: "broadcast", message: "and text", id: "t1" }));
    await eventually(
      () => json.frames.some((f) => typeof f === "string" && f.includes("and text")),
      "text",
    );
  } finally {
    for (const c of [sender, json, basic]) c.socket.close();
    await text.close();
    await server.close();
  }
});
