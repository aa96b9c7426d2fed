import { deepEqual, equal, ok } from "node:assert/strict";
import { issueToken } from "../src/transport/tokens.ts";
import { Client, closeAll, cluster, type Json, startServer } from "./_helpers.ts";

const SECRET = "chat-features-secret";

async function pair(ws: string, room = "features"): Promise<[Client, Client]> {
  const alice = await Client.connect(ws, { name: "alice", room });
  const bob = await Client.connect(ws, { name: "bob", room });
  await alice.waitFor((e) => e.event === "join" && e.member === "bob");
  return [alice, bob];
}

async function say(client: Client, message: string): Promise<Json> {
  const ack = await client.request({ command: "broadcast", message });
  equal(ack.event, "broadcast");
  return ack;
}

Deno.test("edit: only the author edits; everyone sees the edit in seq order, and history shows the new text", async () => {
  const server = await startServer();
  const [alice, bob] = await pair(server.ws);
  try {
    const sent = await say(alice, "helo");
    await bob.next((e) => e.id === sent.id);
    const refused = await bob.request({ command: "edit", target: sent.id, message: "hacked" });
    equal(refused.event, "error");
    equal(refused.code, "forbidden");
    const missing = await alice.request({
      command: "edit",
      target: "01ARZ3NDEKTSV4RRFFQ69G5FAV",
      message: "x",
    });
    equal(missing.code, "not_found");
    const edited = await alice.request({ command: "edit", target: sent.id, message: "hello" });
    equal(edited.event, "edited");
    equal(edited.id, sent.id);
    equal(edited.message, "hello");
    equal(edited.seq, (sent.seq as number) + 1);
    equal(typeof edited.editedAt, "number");
    const seen = await bob.next((e) => e.event === "edited");
    equal(seen.seq, edited.seq);
    equal(seen.message, "hello");
    const history = await bob.request({ command: "history" });
    const messages = history.messages as Json[];
    equal(messages.length, 1, "history lists messages, not the changes to them");
    equal(messages[0].message, "hello");
    equal(messages[0].editedAt, edited.editedAt);
    const http = await (await fetch(`${server.http}/rooms/features/messages`)).json();
    equal(http.messages[0].message, "hello");
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("delete: only the author deletes; history and replay show a tombstone without text", async () => {
  const server = await startServer();
  const [alice, bob] = await pair(server.ws);
  try {
    const first = await say(alice, "keep me");
    const doomed = await say(alice, "oops, wrong room");
    const refused = await bob.request({ command: "delete", target: doomed.id });
    equal(refused.code, "forbidden");
    const deleted = await alice.request({ command: "delete", target: doomed.id });
    equal(deleted.event, "deleted");
    equal(deleted.id, doomed.id);
    equal(deleted.seq, (doomed.seq as number) + 1);
    await bob.next((e) => e.event === "deleted" && e.id === doomed.id);
    const again = await alice.request({ command: "delete", target: doomed.id });
    equal(again.code, "not_found", "a deleted message is gone");
    const history = await bob.request({ command: "history" });
    const [kept, tomb] = history.messages as Json[];
    equal(kept.message, "keep me");
    deepEqual(
      { id: tomb.id, deleted: tomb.deleted, message: tomb.message, member: tomb.member },
      { id: doomed.id, deleted: true, message: undefined, member: undefined },
    );
    // A reader resuming after the first message gets the tombstone, then the delete, in seq order.
    const reader = await Client.connect(server.ws, {
      name: "reader",
      room: "features",
      since: String(first.id),
    });
    const replayed = await reader.next((e) => e.event === "deleted");
    const stored = reader.events.filter((e) => typeof e.seq === "number" && e.event !== "joined");
    deepEqual(stored.map((e) => e.seq), [doomed.seq, replayed.seq]);
    equal(stored[0].deleted, true);
    equal(stored[0].message, undefined);
    await reader.close();
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("react toggles the sender's reaction; history shows counts; bad emoji and floods are refused", async () => {
  const server = await startServer({ ratePerSecond: 1, rateBurst: 6 });
  const [alice, bob] = await pair(server.ws);
  try {
    const sent = await say(alice, "lunch?");
    const on = await bob.request({ command: "react", target: sent.id, emoji: "👍" });
    deepEqual(
      [on.event, on.id, on.emoji, on.member, on.on],
      ["reaction", sent.id, "👍", "bob", true],
    );
    const seen = await alice.next((e) => e.event === "reaction");
    equal(seen.seq, on.seq);
    await alice.request({ command: "react", target: sent.id, emoji: "👍" });
    let history = await alice.request({ command: "history" });
    deepEqual((history.messages as Json[])[0].reactions, { "👍": 2 });
    const off = await bob.request({ command: "react", target: sent.id, emoji: "👍" });
    equal(off.on, false);
    history = await alice.request({ command: "history" });
    deepEqual((history.messages as Json[])[0].reactions, { "👍": 1 });
    const bad = await bob.request({ command: "react", target: sent.id, emoji: "two words" });
    equal(bad.code, "invalid_field");
    const codes: unknown[] = [];
    for (let i = 0; i < 8; i++) {
      const answer = await bob.request({ command: "react", target: sent.id, emoji: "🎉" });
      codes.push(answer.event === "error" ? answer.code : answer.event);
    }
    ok(codes.includes("rate_limited"), `a flood of reactions is limited: ${codes}`);
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("typing reaches the others in the room, not the typer, at most once a second", async () => {
  const server = await startServer();
  const [alice, bob] = await pair(server.ws);
  try {
    alice.send({ command: "typing" });
    alice.send({ command: "typing" });
    alice.send({ command: "typing" });
    const typing = await bob.next((e) => e.event === "typing");
    deepEqual([typing.member, typing.memberId], ["alice", alice.me.id]);
    ok(typeof typing.room === "string");
    // A broadcast after the typings: by the time bob has it, every typing was handled.
    const marker = await say(alice, "done typing");
    await bob.next((e) => e.id === marker.id);
    equal(bob.events.filter((e) => e.event === "typing").length, 1, "the rest were dropped");
    equal(alice.events.filter((e) => e.event === "typing").length, 0);
    const outside = await Client.connect(server.ws, { name: "carol", room: "elsewhere" });
    const refused = await outside.request({ command: "typing", room: "features" });
    equal(refused.code, "not_in_room");
    const nowhere = await outside.request({ command: "typing", room: "no-such-room-here" });
    equal(nowhere.code, "no_such_room");
    await outside.close();
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("direct: reaches only its recipient, by name or id; unknown members are refused; history is the pair's", async () => {
  const server = await startServer();
  const [alice, bob] = await pair(server.ws);
  const carol = await Client.connect(server.ws, { name: "carol", room: "features" });
  try {
    const sent = await alice.request({ command: "direct", to: "bob", message: "psst" });
    deepEqual(
      [sent.event, sent.from, sent.fromId, sent.to, sent.toId, sent.message],
      ["direct", "alice", alice.me.id, "bob", bob.me.id, "psst"],
    );
    const got = await bob.next((e) => e.event === "direct");
    equal(got.id, sent.id);
    const back = await bob.request({ command: "direct", to: alice.me.id, message: "what?" });
    await alice.next((e) => e.event === "direct" && e.id === back.id);
    const unknown = await alice.request({ command: "direct", to: "nobody", message: "hi" });
    equal(unknown.code, "no_such_member");
    const history = await bob.request({ command: "history", with: "alice" });
    deepEqual((history.messages as Json[]).map((m) => m.message), ["psst", "what?"]);
    equal(history.with, alice.me.id);
    const nosy = await carol.request({ command: "history", with: "alice" });
    deepEqual(nosy.messages, [], "carol reads her own pair with alice, which is empty");
    const marker = await say(alice, "after");
    await carol.next((e) => e.id === marker.id);
    equal(carol.events.filter((e) => e.event === "direct").length, 0);
  } finally {
    await closeAll([alice, bob, carol]);
    await server.close();
  }
});

Deno.test("one person on two devices: one member, its direct messages on both, its own echo on the other", async () => {
  const server = await startServer({ jwtSecret: SECRET });
  const token = await issueToken(SECRET, "dana");
  const laptop = await Client.connect(server.ws, { token, room: "devices" });
  const watcher = await Client.connect(server.ws, {
    token: await issueToken(SECRET, "watcher"),
    room: "devices",
  });
  const phone = await Client.connect(server.ws, { token, room: "devices" });
  try {
    equal(laptop.me.member, "dana");
    equal(phone.me.member, "dana", "the second device gets the same name, not dana-2");
    equal(phone.me.id, laptop.me.id);
    const list = await watcher.request({ command: "list" });
    deepEqual(list.members, ["dana", "watcher"]);
    const sent = await watcher.request({ command: "direct", to: "dana", message: "to both" });
    await laptop.next((e) => e.event === "direct" && e.id === sent.id);
    await phone.next((e) => e.event === "direct" && e.id === sent.id);
    const reply = await phone.request({ command: "direct", to: "watcher", message: "from phone" });
    const echo = await laptop.next((e) => e.event === "direct" && e.id === reply.id);
    equal(echo.fromId, laptop.me.id);
    const said = await laptop.request({ command: "broadcast", message: "from laptop" });
    const other = await phone.next((e) => e.event === "broadcast" && e.id === said.id);
    equal(other.re, undefined, "the other device gets the event, not the answer");
    // Only the last device to leave makes dana leave.
    await phone.close();
    const marker = await watcher.request({ command: "broadcast", message: "still here?" });
    await laptop.next((e) => e.id === marker.id);
    equal(watcher.events.filter((e) => e.event === "leave").length, 0);
    const edited = await phone.closed.then(() =>
      laptop.request({ command: "edit", target: reply.id, message: "x" })
    );
    equal(edited.code, "not_found", "a direct message is not a room message");
    await laptop.close();
    const left = await watcher.next((e) => e.event === "leave");
    equal(left.member, "dana");
  } finally {
    await closeAll([laptop, phone, watcher]);
    await server.close();
  }
});

Deno.test("with tokens, a device may edit what another device of the same person sent", async () => {
  const server = await startServer({ jwtSecret: SECRET });
  const token = await issueToken(SECRET, "erin");
  const one = await Client.connect(server.ws, { token, room: "edits" });
  try {
    const sent = await one.request({ command: "broadcast", message: "typo" });
    await one.close();
    const two = await Client.connect(server.ws, { token, room: "edits" });
    const edited = await two.request({ command: "edit", target: sent.id, message: "fixed" });
    equal(edited.event, "edited");
    const history = await two.request({ command: "direct", to: "erin", message: "note to self" });
    equal(history.event, "direct");
    await two.close();
    const three = await Client.connect(server.ws, { token, room: "edits" });
    const page = await three.request({ command: "history", with: "erin" });
    deepEqual((page.messages as Json[]).map((m) => m.message), ["note to self"]);
    await three.close();
  } finally {
    await one.close();
    await server.close();
  }
});

for (const busKind of ["broadcast-channel", "kv"]) {
  Deno.test(`across isolates (${busKind} bus): direct messages, typing, edits and one member on two devices`, () =>
    acrossIsolates(busKind));
}

async function acrossIsolates(busKind: string): Promise<void> {
  const c = await cluster(2, { jwtSecret: SECRET, busKind });
  const [a, b] = c.isolates;
  const token = await issueToken(SECRET, "frank");
  const peerToken = await issueToken(SECRET, "gina");
  const frankA = await Client.connect(a.ws, { token, room: "x-iso" });
  const gina = await Client.connect(b.ws, { token: peerToken, room: "x-iso" });
  const frankB = await Client.connect(b.ws, { token, room: "x-iso" });
  try {
    equal(frankB.me.member, "frank");
    const list = await gina.request({ command: "list" });
    deepEqual(list.members, ["frank", "gina"]);
    const dm = await gina.request({ command: "direct", to: "frank", message: "hi both" });
    await frankA.next((e) => e.event === "direct" && e.id === dm.id, 10_000);
    await frankB.next((e) => e.event === "direct" && e.id === dm.id, 10_000);
    frankA.send({ command: "typing" });
    const typing = await gina.next((e) => e.event === "typing", 10_000);
    equal(typing.member, "frank");
    const sent = await frankA.request({ command: "broadcast", message: "draft" });
    const edited = await frankB.request({ command: "edit", target: sent.id, message: "final" });
    const seen = await gina.next((e) => e.event === "edited", 10_000);
    equal(seen.seq, edited.seq);
    await frankA.close();
    const marker = await gina.request({ command: "broadcast", message: "marker" });
    await frankB.next((e) => e.id === marker.id, 10_000);
    equal(gina.events.filter((e) => e.event === "leave").length, 0, "frank is still on b");
  } finally {
    await closeAll([frankA, frankB, gina]);
    await c.close();
  }
}
