// Conversations over real sockets: replies and threads, mentions, read state, search
// (PROTOCOL.md, third round, "Conversations"). Store behaviour is in store_contract.ts.
import { deepEqual, equal, ok } from "node:assert/strict";
import { KvStore } from "../src/engines/kv/kv_store.ts";
import { MemoryStore } from "../src/engines/memory/memory_store.ts";
import type { ChatOptions } from "../src/mod.ts";
import { Client, closeAll, cluster, type Json, startServer } from "./_helpers.ts";

/** The stores a server runs on here: Deno KV (`:memory:`) and the memory store. */
const STORES: [string, () => ChatOptions][] = [
  ["Deno KV", () => ({})],
  ["memory store", () => ({ store: new MemoryStore({ maxMessages: 10_000, maxAgeMs: 0 }) })],
];

/** Registers a test once per store. */
function onEachStore(name: string, body: (engine: () => ChatOptions) => Promise<void>): void {
  for (const [store, engine] of STORES) Deno.test(`${name} (${store})`, () => body(engine));
}

async function say(client: Client, message: string, extra: Json = {}): Promise<Json> {
  const ack = await client.request({ command: "broadcast", message, ...extra });
  equal(ack.event, "broadcast", JSON.stringify(ack));
  return ack;
}

async function getJson(url: string): Promise<Json> {
  const response = await fetch(url);
  const body = await response.json();
  equal(response.status, 200, JSON.stringify(body));
  return body;
}

onEachStore(
  "replies: delivered with replyTo; a reply to a reply is in the root's thread; the root counts its replies; ?thread= pages the thread oldest first",
  async (engine) => {
    const server = await startServer(engine());
    const alice = await Client.connect(server.ws, { name: "alice", room: "threads" });
    const bob = await Client.connect(server.ws, { name: "bob", room: "threads" });
    try {
      const root = await say(alice, "lunch?");
      await say(alice, "unrelated");
      const yes = await say(bob, "yes", { replyTo: root.id });
      equal(yes.replyTo, root.id);
      const seen = await alice.next((e) => e.event === "broadcast" && e.id === yes.id);
      equal(seen.replyTo, root.id, "the others get replyTo too");
      const deeper = await say(alice, "where?", { replyTo: yes.id });
      equal(deeper.replyTo, yes.id);
      equal(deeper.thread, root.id);
      const third = await say(bob, "the usual", { replyTo: root.id });

      const history = await getJson(`${server.http}/rooms/threads/messages`);
      const byId = new Map((history.messages as Json[]).map((m) => [m.id, m]));
      equal(byId.get(root.id)!.replies, 3);
      equal(
        byId.get(yes.id)!.replies,
        undefined,
        "the count is the thread's, on its first message",
      );

      const thread = await getJson(`${server.http}/rooms/threads/messages?thread=${root.id}`);
      deepEqual((thread.messages as Json[]).map((m) => m.message), ["yes", "where?", "the usual"]);
      equal(thread.more, false);
      const newest = await getJson(
        `${server.http}/rooms/threads/messages?thread=${root.id}&limit=2`,
      );
      deepEqual((newest.messages as Json[]).map((m) => m.id), [deeper.id, third.id]);
      equal(newest.more, true);
      const older = await getJson(
        `${server.http}/rooms/threads/messages?thread=${root.id}&limit=2&before=${deeper.id}`,
      );
      deepEqual((older.messages as Json[]).map((m) => m.id), [yes.id]);
      equal(older.more, false);

      const missing = await alice.request({
        command: "broadcast",
        message: "to nothing",
        replyTo: "01ARZ3NDEKTSV4RRFFQ69G5FAV",
      });
      equal(missing.code, "not_found");
      const bad = await alice.request({ command: "broadcast", message: "x", replyTo: "nope" });
      equal(bad.code, "invalid_field");
      // Deleting a reply takes it out of the thread and the count; replying to it is refused.
      await alice.request({ command: "delete", target: deeper.id });
      const after = await getJson(`${server.http}/rooms/threads/messages?thread=${root.id}`);
      deepEqual((after.messages as Json[]).map((m) => m.id), [yes.id, third.id]);
      const rootNow = (await getJson(`${server.http}/rooms/threads/messages`)).messages as Json[];
      equal(rootNow.find((m) => m.id === root.id)!.replies, 2);
      const toDeleted = await bob.request({
        command: "broadcast",
        message: "hm",
        replyTo: deeper.id,
      });
      equal(toDeleted.code, "not_found");
      // Over HTTP too.
      const posted = await fetch(`${server.http}/rooms/threads/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: "from a bot", name: "bot", replyTo: root.id }),
      });
      equal(posted.status, 201);
      equal((await posted.json()).replyTo, root.id);
    } finally {
      await closeAll([alice, bob]);
      await server.close();
    }
  },
);

onEachStore(
  "mentions: @names of the room's members at send time, with spaces and suffixes, each once; nobody else",
  async (engine) => {
    const server = await startServer(engine());
    const ann = await Client.connect(server.ws, { name: "Ann Lee", room: "m" });
    const zoe = await Client.connect(server.ws, { name: "zoe", room: "m" });
    const zoe2 = await Client.connect(server.ws, { name: "zoe", room: "m" });
    const outsider = await Client.connect(server.ws, { name: "carl", room: "elsewhere" });
    try {
      equal(zoe2.me.member, "zoe-2");
      await ann.waitFor((e) => e.event === "join" && e.member === "zoe-2");
      const sent = await say(
        zoe,
        "@ann lee and @zoe-2, not @carl, nor mail@zoe nor @zoe-22; @ANN LEE!",
      );
      deepEqual(sent.mentions, [ann.me.id, zoe2.me.id]);
      const seen = await ann.next((e) => e.event === "broadcast" && e.id === sent.id);
      deepEqual(seen.mentions, sent.mentions);
      const plain = await say(zoe, "no one here @ all");
      equal(plain.mentions, undefined);
      const self = await say(zoe, "@zoe talking to myself");
      deepEqual(self.mentions, [zoe.me.id]);
      const history = await getJson(`${server.http}/rooms/m/messages`);
      deepEqual((history.messages as Json[])[0].mentions, [ann.me.id, zoe2.me.id]);
    } finally {
      await closeAll([ann, zoe, zoe2, outsider]);
      await server.close();
    }
  },
);

onEachStore(
  "read state: read moves forward only, reaches every connection of the member, and survives a session reconnect with the right unread count",
  async (engine) => {
    const server = await startServer(engine());
    const writer = await Client.connect(server.ws, { name: "writer", room: "reading" });
    const phone = await Client.connect(server.ws, { name: "reader", room: "reading" });
    const session = phone.me.session as string;
    const laptop = await Client.connect(server.ws, { session, room: "reading" });
    try {
      equal(laptop.me.id, phone.me.id, "one person, two connections");
      const fresh = laptop.events.find((e) => e.event === "joined")!;
      equal(fresh.readUpTo, undefined);
      equal(fresh.unread, 0);
      const sent: Json[] = [];
      for (let i = 1; i <= 5; i++) sent.push(await say(writer, `m${i}`));
      const read = await phone.request({ command: "read", room: "reading", id: sent[1].id });
      deepEqual({ event: read.event, id: read.id }, { event: "read", id: sent[1].id });
      equal(read.room, fresh.room);
      const told = await laptop.next((e) => e.event === "read");
      equal(told.id, sent[1].id);
      const back = await laptop.request({ command: "read", room: "reading", id: sent[0].id });
      equal(back.id, sent[1].id, "never back");
      const bad = await phone.request({ command: "read", room: "reading", id: "not-an-id" });
      equal(bad.code, "invalid_field");
      const nowhere = await phone.request({
        command: "read",
        room: "no-such-room",
        id: sent[0].id,
      });
      equal(nowhere.code, "no_such_room");
      // A deleted message is not unread.
      await writer.request({ command: "delete", target: sent[4].id });

      await closeAll([phone, laptop]);
      const again = await Client.connect(server.ws, { session, room: "reading" });
      const joined = again.events.find((e) => e.event === "joined")!;
      equal(joined.readUpTo, sent[1].id);
      equal(joined.unread, 2, "m3 and m4 (m5 was deleted)");
      // Someone who never read counts every message.
      const newcomer = await Client.connect(server.ws, { name: "new", room: "reading" });
      equal(newcomer.events.find((e) => e.event === "joined")!.unread, 4);
      await closeAll([again, newcomer]);
    } finally {
      await closeAll([writer, phone, laptop]);
      await server.close();
    }
  },
);

Deno.test("read state: a burst of reads is answered, stored as the highest, in two writes", async () => {
  // The real KV store, with its markRead calls counted; the first one is held until every read
  // of the burst has reached the server (a slow disk), so that the rest have to wait for it.
  const kv = await KvStore.open(":memory:", { retention: { maxMessages: 1000, maxAgeMs: 0 } });
  let writes = 0;
  let release!: () => void;
  const held = new Promise<void>((resolve) => release = resolve);
  const store = new Proxy(kv, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      if (property === "markRead") {
        return async (...args: [string, string, string]) => {
          if (++writes === 1) await held;
          return await target.markRead(...args);
        };
      }
      return value.bind(target);
    },
  });
  const server = await startServer({ store, ratePerSecond: 1000, rateBurst: 1000 });
  const writer = await Client.connect(server.ws, { name: "writer", room: "burst" });
  const reader = await Client.connect(server.ws, { name: "reader", room: "burst" });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await say(writer, `m${i}`)).id as string);
    for (const id of ids) reader.send({ command: "read", room: "burst", id });
    // Frames are handled in order: once `me` is answered, every read has been taken in.
    await reader.request({ command: "me" });
    release();
    const answers = await Promise.all(
      ids.map((id) => reader.waitFor((e) => e.event === "read" && e.re === id)),
    );
    equal(answers[answers.length - 1].id, ids[ids.length - 1]);
    equal(writes, 2, "the first read's write, then one with the highest of the others");
    const session = reader.me.session as string;
    await reader.close();
    const again = await Client.connect(server.ws, { session, room: "burst" });
    equal(again.events.find((e) => e.event === "joined")!.readUpTo, ids[ids.length - 1]);
    equal(again.events.find((e) => e.event === "joined")!.unread, 0);
    await again.close();
  } finally {
    await closeAll([writer, reader]);
    await server.close();
    await kv.close();
  }
});

onEachStore(
  "search: case-insensitive and Unicode-aware, newest matches first by page, deleted messages never match",
  async (engine) => {
    const server = await startServer(engine());
    const alice = await Client.connect(server.ws, { name: "alice", room: "search" });
    try {
      const hits: Json[] = [];
      hits.push(await say(alice, "Straße closed"));
      await say(alice, "nothing to see");
      hits.push(await say(alice, "STRASSE open again"));
      const gone = await say(alice, "strasse secret");
      hits.push(await say(alice, "the ΣΟΦΙΑ café is on strasse 5"));
      await alice.request({ command: "delete", target: gone.id });
      const q = encodeURIComponent("straße");
      const all = await getJson(`${server.http}/rooms/search/messages?q=${q}`);
      deepEqual((all.messages as Json[]).map((m) => m.id), hits.map((m) => m.id));
      equal(all.more, false);
      const page = await getJson(`${server.http}/rooms/search/messages?q=STRASSE&limit=2`);
      deepEqual((page.messages as Json[]).map((m) => m.id), [hits[1].id, hits[2].id]);
      equal(page.more, true);
      const rest = await getJson(
        `${server.http}/rooms/search/messages?q=STRASSE&limit=2&before=${hits[1].id}`,
      );
      deepEqual((rest.messages as Json[]).map((m) => m.id), [hits[0].id]);
      const greek = await getJson(`${server.http}/rooms/search/messages?q=σοφια`);
      deepEqual((greek.messages as Json[]).map((m) => m.id), [hits[2].id]);
      const none = await getJson(`${server.http}/rooms/search/messages?q=secret`);
      deepEqual(none.messages, [], "a deleted message never matches");
      const empty = await fetch(`${server.http}/rooms/search/messages?q=%20`);
      equal(empty.status, 400);
      equal((await empty.json()).error, "invalid_field");
    } finally {
      await alice.close();
      await server.close();
    }
  },
);

Deno.test("search: a scan budget bounds each request; `next` goes on where it stopped", async () => {
  const server = await startServer({ ratePerSecond: 10_000, rateBurst: 10_000 });
  const alice = await Client.connect(server.ws, { name: "alice", room: "budget" });
  try {
    const needle = await say(alice, "the needle");
    // More than one scan budget of other messages after it (sent without waiting, then awaited).
    const total = 5200;
    for (let i = 0; i < total; i++) alice.send({ command: "broadcast", message: `hay ${i}` });
    await alice.next((e) => e.event === "broadcast" && e.message === `hay ${total - 1}`, 60_000);
    const first = await getJson(`${server.http}/rooms/budget/messages?q=needle`);
    deepEqual(first.messages, []);
    equal(first.more, true);
    ok(typeof first.next === "string");
    const second = await getJson(
      `${server.http}/rooms/budget/messages?q=needle&before=${first.next}`,
    );
    deepEqual((second.messages as Json[]).map((m) => m.id), [needle.id]);
    equal(second.more, false);
  } finally {
    await alice.close();
    await server.close();
  }
});

for (const busKind of ["broadcast-channel", "kv"]) {
  Deno.test(`across isolates (${busKind} bus): a read reaches the member's connection on the other isolate; concurrent replies all count`, async () => {
    const c = await cluster(2, { busKind });
    const [a, b] = c.isolates;
    const one = await Client.connect(a.ws, { name: "pat", room: "x-conv" });
    const two = await Client.connect(b.ws, { session: one.me.session as string, room: "x-conv" });
    const other = await Client.connect(b.ws, { name: "sam", room: "x-conv" });
    try {
      const root = await say(other, "root");
      await one.next((e) => e.id === root.id, 10_000);
      await one.request({ command: "read", room: "x-conv", id: root.id });
      const told = await two.next((e) => e.event === "read", 10_000);
      equal(told.id, root.id);
      await Promise.all(
        Array.from(
          { length: 10 },
          (_, i) =>
            (i % 2 ? one : other).request({
              command: "broadcast",
              message: `r${i}`,
              replyTo: root.id,
            }),
        ),
      );
      const history = await getJson(`http://127.0.0.1:${b.port}/rooms/x-conv/messages`);
      equal((history.messages as Json[]).find((m) => m.id === root.id)!.replies, 10);
    } finally {
      await closeAll([one, two, other]);
      await c.close();
    }
  });
}
