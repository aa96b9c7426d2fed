import assert from "node:assert/strict";
import { ChatError, createMemoryChat, type MemberInfo, MemoryStore } from "../src/mod.ts";
import { Client, closeAll, cluster, eventually, rawUpgrade, startServer } from "./_helpers.ts";

Deno.test("the connect hook refuses with 403 forbidden, or renames and attaches data that later hooks see", async () => {
  const seen: MemberInfo[] = [];
  const server = await startServer({
    hooks: {
      onConnect: ({ name, request }) => {
        if (name === "mallory") return { refuse: "not today" };
        const team = new URL(request.url).searchParams.get("team") ?? "none";
        return name === "al" ? { name: "Alice", data: { team } } : { data: { team } };
      },
      onMessage: ({ member }) => {
        seen.push(member);
      },
    },
  });
  try {
    const refused = await rawUpgrade(server.port, "/ws?name=mallory");
    assert.equal(refused.status, 403);
    assert.equal(JSON.parse(refused.body).error, "forbidden");
    assert.equal(JSON.parse(refused.body).message, "not today");
    const alice = await Client.connect(server.ws, { name: "al", team: "blue" });
    assert.equal(alice.me.member, "Alice", "the hook's name is the one used");
    await alice.request({ command: "broadcast", message: "hi" });
    assert.deepEqual(seen.map((m) => [m.name, m.data]), [["Alice", { team: "blue" }]]);
    await alice.close();
  } finally {
    await server.close();
  }
});

Deno.test("the message hook refuses (forbidden, nothing stored or delivered) or rewrites, keeping the sender's order", async () => {
  const server = await startServer({
    ratePerSecond: 1000,
    rateBurst: 1000,
    hooks: {
      onMessage: async ({ message }) => {
        // Slow for some messages, fast for others: the order must hold anyway.
        await new Promise((r) => setTimeout(r, message.length % 3));
        if (message.includes("spam")) return { refuse: "no spam here" };
        if (message.includes("darn")) return { message: message.replaceAll("darn", "d**n") };
      },
    },
  });
  const alice = await Client.connect(server.ws, { name: "alice", room: "r" });
  const bob = await Client.connect(server.ws, { name: "bob", room: "r" });
  try {
    const refused = await alice.request({ command: "broadcast", message: "buy spam" });
    assert.equal(refused.code, "forbidden");
    assert.equal(refused.message, "no spam here");
    const rewritten = await alice.request({ command: "broadcast", message: "darn it" });
    assert.equal(rewritten.message, "d**n it");
    for (let i = 0; i < 30; i++) alice.send({ command: "broadcast", message: "x".repeat(i + 1) });
    await bob.waitFor((e) => e.message === "x".repeat(30));
    const got = bob.broadcasts().map((m) => String(m.message));
    assert.deepEqual(got, ["d**n it", ...Array.from({ length: 30 }, (_, i) => "x".repeat(i + 1))]);
    // The judge sees every message, whatever way it comes in: HTTP too.
    const overHttp = await fetch(`${server.http}/rooms/r/messages`, {
      method: "POST",
      body: JSON.stringify({ message: "more spam", name: "bot" }),
    });
    assert.equal(overHttp.status, 403);
    assert.equal((await overHttp.json()).error, "forbidden");
    const page = await (await fetch(`${server.http}/rooms/r/messages?limit=200`)).json();
    assert.ok(!page.messages.some((m: { message: string }) => m.message.includes("spam")));
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("the disconnect hook hears who left, after the member has left its rooms", async () => {
  const gone: string[] = [];
  const server = await startServer({ hooks: { onDisconnect: (m) => gone.push(m.name) } });
  try {
    const alice = await Client.connect(server.ws, { name: "alice" });
    await alice.close();
    await eventually(() => gone.length > 0, "the disconnect hook", 2000);
    assert.deepEqual(gone, ["alice"]);
    assert.equal(server.chat.stats().localMembers, 0);
  } finally {
    await server.close();
  }
});

Deno.test("custom commands answer with their own event and re; errors are error events; built-in names are refused", async () => {
  const server = await startServer({
    commands: {
      roll: async ({ member, rooms, fields, post }) => {
        const sides = typeof fields.sides === "number" ? fields.sides : 6;
        if (!Number.isInteger(sides) || sides < 2) {
          throw new ChatError("invalid_field", "sides must be an integer of at least 2");
        }
        const value = 1 + Math.floor(Math.random() * sides);
        await post(rooms[0], `${member.name} rolled ${value} (d${sides})`, "dice");
        return { value, sides };
      },
    },
  });
  const alice = await Client.connect(server.ws, { name: "alice", room: "games" });
  const bob = await Client.connect(server.ws, { name: "bob", room: "games" });
  try {
    const answer = await alice.request({ command: "roll", sides: 20 });
    assert.equal(answer.event, "roll");
    assert.ok(Number(answer.value) >= 1 && Number(answer.value) <= 20);
    const posted = await bob.next((e) => e.event === "broadcast");
    assert.equal(posted.member, "dice");
    assert.equal(posted.message, `alice rolled ${answer.value} (d20)`);
    const bad = await alice.request({ command: "roll", sides: 1 });
    assert.equal(bad.event, "error");
    assert.equal(bad.code, "invalid_field");
    const unknown = await alice.request({ command: "dance" });
    assert.equal(unknown.code, "unknown_command");
    await assert.rejects(
      startServer({ commands: { join: () => ({}) } }),
      /cannot be a custom command/,
    );
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("chat.post stores in the server's name; chat.notify reaches everyone, a room or one member", async () => {
  const server = await startServer();
  const alice = await Client.connect(server.ws, { name: "alice", room: "news" });
  const bob = await Client.connect(server.ws, { name: "bob", room: "elsewhere" });
  try {
    const stored = await server.chat.post("news", "the server speaks");
    assert.equal(stored.member, "Server");
    assert.equal((await alice.next((e) => e.event === "broadcast")).id, stored.id);
    await server.chat.notify("everyone", "maintenance at noon");
    await server.chat.notify({ room: "news" }, "news only");
    await server.chat.notify({ member: "bob" }, "just bob");
    assert.deepEqual(
      (await alice.next((e) => e.event === "notice")).message,
      "maintenance at noon",
    );
    assert.equal((await alice.next((e) => e.event === "notice")).message, "news only");
    assert.equal((await bob.next((e) => e.event === "notice")).message, "maintenance at noon");
    assert.equal((await bob.next((e) => e.event === "notice")).message, "just bob");
    await assert.rejects(server.chat.notify({ member: "nobody" }, "x"), { code: "no_such_member" });
    const history = await (await fetch(`${server.http}/rooms/news/messages`)).json();
    assert.deepEqual(history.messages.map((m: { member: string }) => m.member), ["Server"]);
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("a notice sent on one isolate reaches members on the others", async () => {
  const { isolates: [a, b], close } = await cluster(2);
  const alice = await Client.connect(a.ws, { name: "alice", room: "hall" });
  const bob = await Client.connect(b.ws, { name: "bob", room: "hall" });
  try {
    await alice.next((e) => e.event === "join" && e.member === "bob");
    await a.notify({ member: "bob" }, "from the other isolate");
    assert.equal((await bob.next((e) => e.event === "notice")).message, "from the other isolate");
    await a.notify("everyone", "all hands");
    assert.equal((await bob.next((e) => e.event === "notice")).message, "all hands");
    assert.equal((await alice.next((e) => e.event === "notice")).message, "all hands");
  } finally {
    await closeAll([alice, bob]);
    await close();
  }
});

Deno.test("notify and post to a room its members are just joining (the socket open, the join not yet done) reach them, every time", async () => {
  const server = await startServer();
  try {
    for (let i = 0; i < 5; i++) {
      const room = `game-lobby-${i}`;
      const socket = new WebSocket(`${server.ws}?name=p${i}&room=${room}`);
      const events: Record<string, unknown>[] = [];
      const got = (match: (e: Record<string, unknown>) => boolean) =>
        eventually(() => events.some(match), `an event in ${room}`);
      socket.onmessage = (m) => events.push(JSON.parse(m.data));
      await new Promise((resolve) => socket.onopen = resolve);
      // As an embedder does on its own `open`: the server may not have run the join yet.
      await server.chat.notify({ room }, "welcome");
      await server.chat.post(room, "first post");
      await got((e) => e.event === "notice" && e.message === "welcome");
      await got((e) => e.event === "broadcast" && e.message === "first post");
      const joined = events.findIndex((e) => e.event === "joined");
      const notice = events.findIndex((e) => e.event === "notice");
      assert.ok(joined >= 0 && joined < notice, "the notice came after the member was in the room");
      socket.close();
      await new Promise((resolve) => socket.onclose = resolve);
    }
  } finally {
    await server.close();
  }
});

Deno.test("createMemoryChat: a chat on the memory engine; a given store takes the place of its own, and is closed with the chat", async () => {
  const own = await createMemoryChat({ log: "off" });
  try {
    const stored = await own.post("notes", "kept in memory");
    const answer = await own.fetch(new Request(`http://chat.test/rooms/${stored.room}/messages`));
    const page = await answer.json();
    assert.deepEqual(page.messages.map((m: { message: string }) => m.message), ["kept in memory"]);
  } finally {
    await own.close();
  }
  const store = new MemoryStore({ maxMessages: 100, maxAgeMs: 0 });
  const given = await createMemoryChat({ log: "off", store });
  const stored = await given.post("notes", "in the given store");
  const page = await store.readMessages(stored.room, { limit: 10 });
  assert.deepEqual(page.messages.map((m) => m.message), ["in the given store"]);
  await given.close();
  // Closed with the chat: it takes no more writes.
  const late = {
    event: "broadcast" as const,
    room: stored.room,
    id: "7ZZZZZZZZZZZZZZZZZZZZZZZZZ",
    member: "late",
    memberId: "late",
    message: "after the close",
    ts: Date.now(),
  };
  await assert.rejects(
    store.appendMessage(late),
    (error: ChatError) => error.code === "store_failed",
  );
});
