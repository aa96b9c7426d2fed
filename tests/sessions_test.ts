import assert from "node:assert/strict";
import { MemoryStore } from "../src/engines/memory/memory_store.ts";
import { SessionKeys } from "../src/transport/sessions.ts";
import { issueToken } from "../src/transport/tokens.ts";
import { Client, closeAll, cluster, eventually, type Json, startServer } from "./_helpers.ts";

const meOf = (client: Client): Json => client.events.find((e) => e.event === "me")!;

Deno.test("sessions: every me carries one; ?session= brings back the same member, name, direct messages and edit rights", async () => {
  const server = await startServer();
  let eve = await Client.connect(server.ws, { name: "eve", room: "s" });
  const bob = await Client.connect(server.ws, { name: "bob", room: "s" });
  try {
    const first = meOf(eve);
    assert.match(String(first.session), /^s1\.[\w-]+\.[\w-]+$/);
    const said = await eve.request({ command: "broadcast", message: "tpyo" });
    await eve.request({ command: "direct", to: "bob", message: "psst" });
    await eve.close();
    await bob.next((e) => e.event === "leave" && e.member === "eve");
    // A reload: the same session, no name asked.
    eve = await Client.connect(server.ws, { session: String(first.session), room: "s" });
    const again = meOf(eve);
    assert.equal(again.id, first.id, "the same member");
    assert.equal(again.member, "eve", "the same name");
    assert.notEqual(again.session, undefined);
    const edited = await eve.request({
      command: "edit",
      room: "s",
      target: said.id,
      message: "typo",
    });
    assert.equal(edited.event, "edited", "its own message is still its own");
    const dms = await eve.request({ command: "history", with: "bob" });
    assert.deepEqual((dms.messages as Json[]).map((m) => m.message), ["psst"]);
    // `me` asked later carries a session too.
    assert.match(String((await eve.request({ command: "me" })).session), /^s1\./);
  } finally {
    await closeAll([eve, bob]);
    await server.close();
  }
});

Deno.test("sessions: two tabs of one session are one member, under one name", async () => {
  const server = await startServer();
  const tab1 = await Client.connect(server.ws, { name: "ann", room: "tabs" });
  const session = String(meOf(tab1).session);
  const tab2 = await Client.connect(server.ws, { session, room: "tabs" });
  try {
    assert.equal(meOf(tab2).id, meOf(tab1).id);
    assert.equal(meOf(tab2).member, "ann", "not ann-2");
    assert.deepEqual((await tab1.request({ command: "list" })).members, ["ann"]);
  } finally {
    await closeAll([tab1, tab2]);
    await server.close();
  }
});

Deno.test("sessions: a forged, tampered or expired session is ignored and a new one issued, never someone else's identity", async () => {
  const store = new MemoryStore({ maxMessages: 1000, maxAgeMs: 0 });
  const server = await startServer({ store });
  const keys = await SessionKeys.open(store); // the same secret as the server's
  const eve = await Client.connect(server.ws, { name: "eve", room: "s" });
  try {
    const real = String(meOf(eve).session);
    const [v, body, mac] = real.split(".");
    const tampered = `${v}.${body}.${mac.slice(0, -2)}AA`;
    const claims = JSON.parse(
      new TextDecoder().decode(Uint8Array.fromBase64(body, { alphabet: "base64url" })),
    );
    const expired = keys.issue({
      id: claims.i,
      name: "eve",
      exp: Math.floor(Date.now() / 1000) - 1,
    });
    for (const bad of ["nonsense", tampered, expired, "s1.e30.AAAA"]) {
      const other = await Client.connect(server.ws, { session: bad, name: "mallory", room: "s" });
      const me = meOf(other);
      assert.notEqual(me.id, meOf(eve).id, `not eve's identity (${bad.slice(0, 12)})`);
      assert.equal(me.member, "mallory");
      assert.match(String(me.session), /^s1\./, "a new session instead");
      assert.notEqual(me.session, real);
      await other.close();
    }
    // A genuine session whose name the rules no longer allow: still the member, never refused.
    const stale = keys.issue({
      id: claims.i,
      name: "Server",
      exp: Math.floor(Date.now() / 1000) + 60,
    });
    const back = await Client.connect(server.ws, { session: stale, room: "s" });
    assert.equal(meOf(back).id, meOf(eve).id);
    assert.notEqual(meOf(back).member, "Server");
    await back.close();
  } finally {
    await eve.close();
    await server.close();
  }
});

Deno.test("sessions hold on any isolate: issued on one, resumed on another sharing the store", async () => {
  const { isolates: [a, b], close } = await cluster(2);
  const first = await Client.connect(a.ws, { name: "roamer", room: "x" });
  try {
    const me = meOf(first);
    await first.close();
    const second = await Client.connect(b.ws, { session: String(me.session), room: "x" });
    assert.equal(meOf(second).id, me.id);
    assert.equal(meOf(second).member, "roamer");
    await second.close();
  } finally {
    await close();
  }
});

Deno.test("sessions: with tokens on, the token's subject is the identity and no session is issued", async () => {
  const secret = "session-test-secret";
  const server = await startServer({ jwtSecret: secret });
  try {
    const token = await issueToken(secret, "zed");
    const zed = await Client.connect(server.ws, { token, room: "t" });
    assert.equal(meOf(zed).session, undefined);
    await eventually(() => meOf(zed).member === "zed", "zed");
    await zed.close();
  } finally {
    await server.close();
  }
});
