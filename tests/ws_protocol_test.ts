import assert from "node:assert/strict";
import { Client, closeAll, type Json, rawUpgrade, startServer } from "./_helpers.ts";

Deno.test("on connect the server sends me, then joined for the lobby", async () => {
  const server = await startServer();
  const alice = await Client.connect(server.ws, { name: "alice" });
  try {
    assert.equal(alice.events[0].event, "me");
    assert.equal(alice.events[0].member, "alice");
    assert.equal(typeof alice.events[0].id, "string");
    const joined = alice.events[1];
    assert.equal(joined.event, "joined");
    assert.equal(joined.name, "lobby");
    assert.deepEqual(joined.members, ["alice"]);
  } finally {
    await alice.close();
    await server.close();
  }
});

Deno.test("a missing name gets a generated one; username is an alias of name", async () => {
  const server = await startServer();
  const anon = await Client.connect(server.ws);
  const bob = await Client.connect(server.ws, { username: "bob" });
  try {
    assert.match(String(anon.me.member), /^guest-[0-9a-f]{4}$/);
    assert.equal(bob.me.member, "bob");
  } finally {
    await closeAll([anon, bob]);
    await server.close();
  }
});

Deno.test("a taken name gets a suffix, case-insensitively", async () => {
  const server = await startServer();
  const a = await Client.connect(server.ws, { name: "alice" });
  const b = await Client.connect(server.ws, { name: "ALICE" });
  const c = await Client.connect(server.ws, { name: "Alice" });
  try {
    assert.equal(b.me.member, "ALICE-2");
    assert.equal(c.me.member, "Alice-3");
    const list = await a.request({ command: "list" });
    assert.deepEqual(list.members, ["alice", "ALICE-2", "Alice-3"]);
  } finally {
    await closeAll([a, b, c]);
    await server.close();
  }
});

Deno.test("an invalid name or since refuses the upgrade with 400", async () => {
  const server = await startServer();
  try {
    const long = await rawUpgrade(server.port, `/ws?name=${"x".repeat(51)}`);
    assert.equal(long.status, 400);
    assert.equal(JSON.parse(long.body).error, "invalid_name");
    const blank = await rawUpgrade(server.port, "/ws?name=%20%20");
    assert.equal(JSON.parse(blank.body).error, "invalid_name");
    const control = await rawUpgrade(server.port, "/ws?name=a%07b");
    assert.equal(JSON.parse(control.body).error, "invalid_name");
    const since = await rawUpgrade(server.port, "/ws?name=ok&since=nope");
    assert.equal(since.status, 400);
    assert.equal(JSON.parse(since.body).error, "invalid_field");
  } finally {
    await server.close();
  }
});

Deno.test("the me command answers with name, id and rooms, echoing re", async () => {
  const server = await startServer();
  const alice = await Client.connect(server.ws, { name: "alice", room: "general" });
  try {
    const me = await alice.request({ command: "me", id: "m1" });
    assert.equal(me.event, "me");
    assert.equal(me.re, "m1");
    assert.equal(me.member, "alice");
    assert.deepEqual(me.rooms, [alice.events[1].room]);
  } finally {
    await alice.close();
    await server.close();
  }
});

Deno.test("join answers joined and tells the others; join by id works too", async () => {
  const server = await startServer();
  const alice = await Client.connect(server.ws, { name: "alice", room: "general" });
  const bob = await Client.connect(server.ws, { name: "bob" });
  try {
    const roomId = String(alice.events[1].room);
    const joined = await bob.request({ command: "join", room: roomId, id: "j" });
    assert.equal(joined.event, "joined");
    assert.equal(joined.room, roomId);
    assert.equal(joined.name, "general");
    assert.deepEqual(joined.members, ["alice", "bob"]);
    const join = await alice.next((e) => e.event === "join");
    assert.deepEqual(join, { event: "join", room: roomId, member: "bob", memberId: bob.me.id });
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("a name that does not exist yet is created on first join, matched case-insensitively", async () => {
  const server = await startServer();
  const alice = await Client.connect(server.ws, { name: "alice", room: "Music" });
  const bob = await Client.connect(server.ws, { name: "bob", room: "MUSIC" });
  try {
    assert.equal(bob.events[1].room, alice.events[1].room);
    assert.equal(bob.events[1].name, "Music");
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("leave answers left and tells the others; errors for rooms not joined", async () => {
  const server = await startServer();
  const alice = await Client.connect(server.ws, { name: "alice" });
  const bob = await Client.connect(server.ws, { name: "bob" });
  try {
    const room = String(alice.events[1].room);
    const left = await bob.request({ command: "leave", room: "lobby", id: "l" });
    assert.deepEqual(left, { event: "left", room, re: "l" });
    const leave = await alice.next((e) => e.event === "leave");
    assert.deepEqual(leave, { event: "leave", room, member: "bob", memberId: bob.me.id });
    const again = await bob.request({ command: "leave", room: "lobby" });
    assert.equal(again.code, "not_in_room");
    const unknown = await bob.request({ command: "leave", room: "nowhere" });
    assert.equal(unknown.code, "no_such_room");
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("broadcast is acknowledged with re and delivered to the others", async () => {
  const server = await startServer();
  const alice = await Client.connect(server.ws, { name: "alice" });
  const bob = await Client.connect(server.ws, { name: "bob" });
  try {
    const ack = await alice.request({ command: "broadcast", message: "hi bob", id: "b1" });
    const got = await bob.next((e) => e.event === "broadcast");
    assert.equal(ack.re, "b1");
    const { re: _re, ...event } = ack;
    assert.deepEqual(got, event);
    assert.equal(got.member, "alice");
    assert.equal(got.memberId, alice.me.id);
    assert.equal(got.message, "hi bob");
    assert.equal(got.room, alice.events[1].room);
    assert.equal(typeof got.ts, "number");
    assert.match(String(got.id), /^[0-9A-HJKMNP-TV-Z]{26}$/);
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("a plain-text frame is a broadcast to the single room", async () => {
  const server = await startServer();
  const alice = await Client.connect(server.ws, { name: "alice" });
  const bob = await Client.connect(server.ws, { name: "bob" });
  try {
    alice.sendRaw("  just text, not JSON");
    const got = await bob.next((e) => e.event === "broadcast");
    assert.equal(got.message, "  just text, not JSON");
    const ack = await alice.next((e) => e.event === "broadcast");
    assert.equal(ack.id, got.id);
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("broadcast and list need a room while in several rooms", async () => {
  const server = await startServer();
  const alice = await Client.connect(server.ws, { name: "alice" });
  try {
    await alice.request({ command: "join", room: "second" });
    const refused = await alice.request({ command: "broadcast", message: "where?" });
    assert.equal(refused.code, "missing_field");
    const list = await alice.request({ command: "list" });
    assert.equal(list.code, "missing_field");
    const ok = await alice.request({ command: "broadcast", message: "here", room: "second" });
    assert.equal(ok.event, "broadcast");
    const plain = await alice.request({ command: "list", room: "second" });
    assert.deepEqual(plain.members, ["alice"]);
  } finally {
    await alice.close();
    await server.close();
  }
});

Deno.test("list answers with the room's members", async () => {
  const server = await startServer();
  const alice = await Client.connect(server.ws, { name: "alice" });
  const bob = await Client.connect(server.ws, { name: "bob" });
  try {
    const list = await bob.request({ command: "list", id: "x" });
    assert.deepEqual(list, {
      event: "list",
      room: alice.events[1].room,
      members: ["alice", "bob"],
      re: "x",
    });
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("history pages backwards with before and limit, oldest first, with more", async () => {
  const server = await startServer({ rateBurst: 100 });
  const alice = await Client.connect(server.ws, { name: "alice" });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push(String((await alice.request({ command: "broadcast", message: `m${i}` })).id));
    }
    const newest = await alice.request({ command: "history", room: "lobby", limit: 3 });
    assert.deepEqual((newest.messages as Json[]).map((m) => m.message), ["m4", "m5", "m6"]);
    assert.equal(newest.more, true);
    const older = await alice.request({ command: "history", room: "lobby", before: ids[4] });
    assert.deepEqual((older.messages as Json[]).map((m) => m.id), ids.slice(0, 4));
    assert.equal(older.more, false);
    const all = await alice.request({ command: "history", room: "lobby" });
    assert.equal((all.messages as Json[]).length, 7);
    assert.equal(all.more, false);
    assert.equal((all.messages as Json[])[0].event, "broadcast");
  } finally {
    await alice.close();
    await server.close();
  }
});

Deno.test("every error code the contract names comes with a message and re", async () => {
  const server = await startServer({ maxMessageLength: 10 });
  const alice = await Client.connect(server.ws, { name: "alice" });
  try {
    const cases: [string | Json, string][] = [
      ["{not json", "bad_json"],
      [{ nope: 1 }, "bad_json"],
      [{ command: 5 }, "bad_json"],
      [{ command: "dance" }, "unknown_command"],
      [{ command: "join" }, "missing_field"],
      [{ command: "broadcast", room: "lobby" }, "missing_field"],
      [{ command: "join", room: 7 }, "invalid_field"],
      [{ command: "history", room: "lobby", limit: -1 }, "invalid_field"],
      [{ command: "history", room: "nowhere" }, "no_such_room"],
      [{ command: "broadcast", room: "nowhere", message: "x" }, "no_such_room"],
      [{ command: "broadcast", message: "x".repeat(11) }, "too_large"],
    ];
    for (const [frame, code] of cases) {
      if (typeof frame === "string") {
        alice.sendRaw(frame);
        const error = await alice.next((e) => e.event === "error");
        assert.equal(error.code, code, `for ${frame}`);
        assert.equal(typeof error.message, "string");
      } else {
        const error = await alice.request({ ...frame, id: `e-${code}` });
        assert.equal(error.event, "error", JSON.stringify(frame));
        assert.equal(error.code, code, JSON.stringify(frame));
        assert.equal(error.re, `e-${code}`);
      }
    }
    await alice.request({ command: "join", room: "other" });
    await alice.request({ command: "leave", room: "other" });
    const notIn = await alice.request({ command: "broadcast", room: "other", message: "x" });
    assert.equal(notIn.code, "not_in_room");
    // The connection stays open after errors the client caused.
    const ok = await alice.request({ command: "broadcast", message: "still here" });
    assert.equal(ok.event, "broadcast");
    const history = await alice.request({ command: "history" });
    assert.deepEqual((history.messages as Json[]).map((m) => m.message), ["still here"]);
  } finally {
    await alice.close();
    await server.close();
  }
});

Deno.test("a sender over its rate gets rate_limited; the excess is neither delivered nor stored", async () => {
  const server = await startServer({ ratePerSecond: 0.001, rateBurst: 3 });
  const alice = await Client.connect(server.ws, { name: "alice" });
  const bob = await Client.connect(server.ws, { name: "bob" });
  try {
    for (let i = 0; i < 6; i++) alice.send({ command: "broadcast", message: `m${i}`, id: `r${i}` });
    const answers = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => alice.next((e) => e.re === `r${i}`)),
    );
    assert.deepEqual(answers.map((a) => a.event), [
      "broadcast",
      "broadcast",
      "broadcast",
      "error",
      "error",
      "error",
    ]);
    assert.ok(answers.slice(3).every((a) => a.code === "rate_limited"));
    const page = await (await fetch(`${server.http}/rooms/lobby/messages`)).json();
    assert.deepEqual(page.messages.map((m: Json) => m.message), ["m0", "m1", "m2"]);
    // Bob's next broadcast event after the three allowed is Alice's message sent later, by him.
    await bob.request({ command: "broadcast", message: "marker" });
    assert.deepEqual(bob.broadcasts().map((m) => m.message), ["m0", "m1", "m2", "marker"]);
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("a frame over 64 KiB closes the socket with 1009", async () => {
  const server = await startServer();
  const alice = await Client.connect(server.ws, { name: "alice" });
  try {
    alice.sendRaw(JSON.stringify({ command: "broadcast", message: "x".repeat(64 * 1024) }));
    const closed = await alice.closed;
    assert.equal(closed.code, 1009);
  } finally {
    await alice.close();
    await server.close();
  }
});

Deno.test("a frame just under 64 KiB of multi-byte text is measured in bytes", async () => {
  const server = await startServer({ maxMessageLength: 100_000 });
  const alice = await Client.connect(server.ws, { name: "alice" });
  try {
    // 22,000 three-byte characters: 66,000 bytes but only 22,000 UTF-16 units.
    alice.sendRaw("€".repeat(22_000));
    const closed = await alice.closed;
    assert.equal(closed.code, 1009);
  } finally {
    await server.close();
  }
});

Deno.test("two rooms are isolated from each other", async () => {
  const server = await startServer();
  const a = await Client.connect(server.ws, { name: "a", room: "red" });
  const b = await Client.connect(server.ws, { name: "b", room: "blue" });
  const a2 = await Client.connect(server.ws, { name: "a2", room: "red" });
  try {
    await b.request({ command: "broadcast", message: "blue only" });
    await a.request({ command: "broadcast", message: "red only" });
    await a2.next((e) => e.message === "red only");
    assert.deepEqual(a2.broadcasts().map((m) => m.message), ["red only"]);
    assert.deepEqual(b.broadcasts().map((m) => m.message), ["blue only"]);
    assert.ok(!b.events.some((e) => e.event === "join" && e.member === "a2"));
  } finally {
    await closeAll([a, b, a2]);
    await server.close();
  }
});

Deno.test("a closed socket leaves all its rooms", async () => {
  const server = await startServer();
  const alice = await Client.connect(server.ws, { name: "alice" });
  const bob = await Client.connect(server.ws, { name: "bob" });
  try {
    await bob.request({ command: "join", room: "second" });
    await alice.request({ command: "join", room: "second" });
    await bob.close();
    const leaves = [
      await alice.next((e) => e.event === "leave"),
      await alice.next((e) => e.event === "leave"),
    ];
    assert.deepEqual(leaves.map((e) => e.member), ["bob", "bob"]);
    assert.equal(new Set(leaves.map((e) => e.room)).size, 2);
    const list = await alice.request({ command: "list", room: "second" });
    assert.deepEqual(list.members, ["alice"]);
    // The name is free again.
    const again = await Client.connect(server.ws, { name: "bob" });
    assert.equal(again.me.member, "bob");
    await again.close();
  } finally {
    await alice.close();
    await server.close();
  }
});

Deno.test("since replays what was missed, then live traffic, with no gap and no duplicate", async () => {
  const server = await startServer({ ratePerSecond: 10_000, rateBurst: 10_000 });
  const writer = await Client.connect(server.ws, { name: "writer" });
  try {
    const first = await writer.request({ command: "broadcast", message: "0" });
    for (let i = 1; i <= 50; i++) writer.send({ command: "broadcast", message: String(i) });
    await writer.next((e) => e.message === "50");
    // Keep sending while the reader resumes.
    let n = 51;
    let sending = true;
    const pump = (async () => {
      while (sending && n < 400) {
        writer.send({ command: "broadcast", message: String(n++) });
        if (n % 10 === 0) await new Promise((r) => setTimeout(r, 0));
      }
    })();
    const reader = await Client.connect(server.ws, {
      name: "reader",
      since: String(first.id),
    });
    const joined = reader.events.find((e) => e.event === "joined")!;
    assert.equal(joined.recovered, true);
    sending = false;
    await pump;
    const last = String(n - 1);
    await reader.next((e) => e.message === last);
    const got = reader.broadcasts().map((m) => Number(m.message));
    assert.deepEqual(got, Array.from({ length: n - 1 }, (_, i) => i + 1));
    // The joined event precedes every replayed message.
    assert.ok(reader.events.indexOf(joined) < reader.events.findIndex((e) => e.message === "1"));
    await reader.close();
  } finally {
    await writer.close();
    await server.close();
  }
});

Deno.test("join with since on a live connection replays that room too", async () => {
  const server = await startServer({ rateBurst: 100 });
  const writer = await Client.connect(server.ws, { name: "writer", room: "r" });
  const reader = await Client.connect(server.ws, { name: "reader" });
  try {
    const first = await writer.request({ command: "broadcast", message: "a" });
    await writer.request({ command: "broadcast", message: "b" });
    await writer.request({ command: "broadcast", message: "c" });
    const joined = await reader.request({ command: "join", room: "r", since: String(first.id) });
    assert.equal(joined.recovered, true);
    await reader.next((e) => e.message === "c");
    assert.deepEqual(reader.broadcasts().map((m) => m.message), ["b", "c"]);
  } finally {
    await closeAll([writer, reader]);
    await server.close();
  }
});
