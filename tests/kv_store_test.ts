import assert from "node:assert/strict";
import { ChatError } from "../src/core/errors.ts";
import type { MessageDraft } from "../src/core/types.ts";
import { KvStore } from "../src/engines/kv/kv_store.ts";
import {
  Client,
  closeAll,
  FakeClock,
  freePort,
  type Json,
  listening,
  seededIds,
  startCommand,
  startServer,
} from "./_helpers.ts";

/** Runs `deno task start` (main.ts listen) as its own process on a KV file. */
async function startProcess(kvPath: string, port: number) {
  const child = startCommand(
    { PORT: String(port), HOSTNAME: "127.0.0.1", CHAT_KV_PATH: kvPath },
    { stdout: "piped", stderr: "piped" },
  ).spawn();
  await listening(port);
  return {
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/ws`,
    /** SIGINT, as Ctrl-C or Deploy would send; resolves with the exit code. */
    stop: async () => {
      child.kill("SIGINT");
      const status = await child.status;
      await child.stdout.cancel();
      await child.stderr.cancel();
      return status.code;
    },
  };
}

function message(room: string, id: string, ts: number, text = "x"): MessageDraft {
  return { event: "broadcast", room, id, member: "m", memberId: "M", message: text, ts };
}

Deno.test("rooms and acknowledged messages survive a restart, and since resumes after it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-restart-" });
  const kvPath = `${dir}/chat.kv`;
  const port = freePort();
  try {
    const first = await startProcess(kvPath, port);
    const created = await (await fetch(`${first.http}/rooms`, {
      method: "POST",
      body: JSON.stringify({ name: "Kept" }),
    })).json();
    const alice = await Client.connect(first.ws, { name: "alice", room: "Kept" });
    const acks: Json[] = [];
    for (let i = 0; i < 5; i++) {
      acks.push(await alice.request({ command: "broadcast", message: `before ${i}` }));
    }
    const closing = alice.closed;
    assert.equal(await first.stop(), 0, "a clean exit on SIGINT");
    assert.equal((await closing).code, 1001, "sockets are told the server is going away");

    const second = await startProcess(kvPath, port);
    const rooms = await (await fetch(`${second.http}/rooms`)).json();
    assert.deepEqual(rooms.map((r: Json) => r.id), [created.id]);
    const page = await (await fetch(`${second.http}/rooms/${created.id}/messages`)).json();
    assert.deepEqual(page.messages, acks.map(({ re: _re, ...event }) => event));
    const bob = await Client.connect(second.ws, { name: "bob", room: "kept" });
    await bob.request({ command: "broadcast", message: "after" });
    const resumed = await Client.connect(second.ws, {
      name: "alice",
      room: created.id,
      since: String(acks[1].id),
    });
    await resumed.next((e) => e.message === "after");
    assert.equal(resumed.events.find((e) => e.event === "joined")?.recovered, true);
    assert.deepEqual(resumed.broadcasts().map((m) => m.message), [
      "before 2",
      "before 3",
      "before 4",
      "after",
    ]);
    await closeAll([bob, resumed]);
    assert.equal(await second.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Two KV stores on one temp file (as two isolates or processes would open it), closed after. */
async function withTwoHandles(
  body: (one: KvStore, two: KvStore, ids: () => string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-handles-" });
  const path = `${dir}/chat.kv`;
  const retention = { maxMessages: 100, maxAgeMs: 0 };
  const one = await KvStore.open(path, { retention });
  const two = await KvStore.open(path, { retention });
  try {
    await body(one, two, seededIds(new FakeClock()));
  } finally {
    await one.close();
    await two.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("two KV handles creating the same room name at once end with one room", async () => {
  await withTwoHandles(async (one, two, ids) => {
    for (let round = 0; round < 20; round++) {
      const name = `Room ${round}`;
      const results = await Promise.allSettled([
        one.createRoom({ id: ids(), name, createdAt: 1 }),
        two.createRoom({ id: ids(), name: name.toUpperCase(), createdAt: 1 }),
      ]);
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r) => r.status === "rejected");
      assert.equal(won.length, 1, `round ${round}`);
      const reason = (lost[0] as PromiseRejectedResult).reason;
      assert.ok(reason instanceof ChatError && reason.code === "room_exists");
      const winner = (won[0] as PromiseFulfilledResult<{ id: string }>).value;
      assert.equal(reason.details.id, winner.id);
    }
    assert.equal((await one.listRooms()).length, 20);
    assert.equal((await two.listRooms()).length, 20);
  });
});

Deno.test("an acknowledged message is already readable through another KV handle", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-ack-" });
  const kvPath = `${dir}/chat.kv`;
  const server = await startServer({ kvPath });
  const reader = await KvStore.open(kvPath, { retention: { maxMessages: 100, maxAgeMs: 0 } });
  const alice = await Client.connect(server.ws, { name: "alice" });
  try {
    const ack = await alice.request({ command: "broadcast", message: "durable" });
    const page = await reader.readMessages(String(ack.room), { limit: 10 });
    assert.deepEqual(page.messages.map((m) => m.id), [ack.id]);
  } finally {
    await alice.close();
    await reader.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("since replays from a KV file with no gap and no duplicate while a writer keeps sending", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-replay-" });
  const server = await startServer({
    kvPath: `${dir}/chat.kv`,
    ratePerSecond: 1e6,
    rateBurst: 1e6,
  });
  const writer = await Client.connect(server.ws, { name: "writer" });
  try {
    const first = await writer.request({ command: "broadcast", message: "0" });
    for (let i = 1; i <= 300; i++) writer.send({ command: "broadcast", message: String(i) });
    let n = 301;
    let sending = true;
    const pump = (async () => {
      while (sending && n < 1500) {
        writer.send({ command: "broadcast", message: String(n++) });
        if (n % 5 === 0) await new Promise((r) => setTimeout(r, 0));
      }
    })();
    const readers = await Promise.all(
      [0, 1, 2].map((i) => Client.connect(server.ws, { name: `r${i}`, since: String(first.id) })),
    );
    sending = false;
    await pump;
    const last = String(n - 1);
    const expected = Array.from({ length: n - 1 }, (_, i) => String(i + 1));
    for (const reader of readers) {
      await reader.waitFor((e) => e.message === last, 15_000);
      assert.deepEqual(reader.broadcasts().map((m) => m.message), expected);
    }
    await closeAll(readers);
  } finally {
    await writer.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("when KV fails, the sender gets store_failed and nobody receives the message", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new KvStore(kv, { retention: { maxMessages: 100, maxAgeMs: 0 } });
  const server = await startServer({ store });
  const alice = await Client.connect(server.ws, { name: "alice" });
  const bob = await Client.connect(server.ws, { name: "bob" });
  try {
    await alice.request({ command: "broadcast", message: "stored" });
    await bob.next((e) => e.message === "stored");
    kv.close(); // the database goes away under the running server
    const refused = await alice.request({ command: "broadcast", message: "lost", id: "f" });
    assert.equal(refused.event, "error");
    assert.equal(refused.code, "store_failed");
    assert.equal(refused.re, "f");
    // Bob gets nothing: his next event is the list he asks for.
    const list = await bob.request({ command: "list" });
    assert.equal(list.event, "list");
    assert.deepEqual(bob.broadcasts().map((m) => m.message), ["stored"]);
    assert.ok(!alice.events.some((e) => e.event === "broadcast" && e.message === "lost"));
  } finally {
    await closeAll([alice, bob]);
    await server.close();
  }
});

Deno.test("retention keeps at most the cap per room, trimming the oldest, and says so on resume", async () => {
  const server = await startServer({ retainMessages: 20, ratePerSecond: 1e6, rateBurst: 1e6 });
  const alice = await Client.connect(server.ws, { name: "alice" });
  try {
    const acks: Json[] = [];
    for (let i = 0; i < 100; i++) {
      acks.push(await alice.request({ command: "broadcast", message: String(i) }));
    }
    const room = String(acks[0].room);
    // Reads apply the rule at once, whenever the background trim runs.
    const page = await (await fetch(`${server.http}/rooms/${room}/messages?limit=200`)).json();
    assert.deepEqual(
      page.messages.map((m: Json) => m.message),
      Array.from({ length: 20 }, (_, i) => String(80 + i)),
      "the newest 20 are kept",
    );
    const resumed = await Client.connect(server.ws, { name: "late", since: String(acks[5].id) });
    assert.equal(resumed.events.find((e) => e.event === "joined")?.recovered, false);
    const fresh = await Client.connect(server.ws, { name: "fresh", since: String(acks[95].id) });
    assert.equal(fresh.events.find((e) => e.event === "joined")?.recovered, true);
    await fresh.waitFor((e) => e.message === "99");
    await closeAll([resumed, fresh]);
  } finally {
    await alice.close();
    await server.close();
  }
});

Deno.test("retention by age drops expired messages with a range delete, not a scan", async () => {
  const clock = new FakeClock();
  const ids = seededIds(clock);
  const store = await KvStore.open(":memory:", {
    retention: { maxMessages: 1000, maxAgeMs: 60_000 },
    clock: clock.read,
  });
  try {
    const kept: string[] = [];
    for (let i = 0; i < 10; i++) {
      await store.appendMessage(message("R", ids(), clock.now, `old ${i}`));
      clock.advance(1000);
    }
    clock.advance(60_000);
    for (let i = 0; i < 3; i++) {
      const id = ids();
      kept.push(id);
      await store.appendMessage(message("R", id, clock.now, `new ${i}`));
    }
    await store.trim("R");
    const page = await store.readMessages("R", { limit: 100 });
    assert.deepEqual(page.messages.map((m) => m.id), kept);
    assert.ok((await store.trimmedThrough("R"))! < kept[0]);
  } finally {
    await store.close();
  }
});

Deno.test("a storm of room creations on two KV handles all succeed, each name once, under the room cap", async () => {
  await withTwoHandles(async (one, two, ids) => {
    // 200 creations at once, every name asked twice (once per handle): no creation may fail for
    // contention (a count checked on every creation once made them fail).
    const results = await Promise.allSettled(
      Array.from(
        { length: 100 },
        (_, i) =>
          [one, two].map((store) =>
            store.createRoom({ id: ids(), name: `storm ${i}`, createdAt: 1 }, { maxRooms: 10_000 })
          ),
      ).flat(),
    );
    const failures = results.filter((r) => r.status === "rejected").map((r) =>
      (r as PromiseRejectedResult).reason.code
    );
    assert.equal(failures.length, 100, "one of each pair lost the name");
    assert.ok(failures.every((code) => code === "room_exists"), JSON.stringify(failures));
    assert.equal((await one.listRooms()).length, 100);
  });
});
