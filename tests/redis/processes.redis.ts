// The Redis engine with real processes: two `deno task start` servers (separate OS processes, so no
// BroadcastChannel between them) on one real redis-server are one chat.
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  Client,
  closeAll,
  eventually,
  freePort,
  type Json,
  listening,
  type ServerProcess,
  startCommand,
  startProcess,
} from "../_helpers.ts";
import { floodAndResume } from "../_resume_scenario.ts";
import { issueToken } from "../../src/transport/tokens.ts";
import { lastWordsArriveFirst } from "../_last_words.ts";
import { LIFTED_LIMITS, startRedis, stopAll, type TestRedis, twoServers } from "./_redis.ts";

const FAST = LIFTED_LIMITS;

function twoProcesses(
  redis: TestRedis,
  env: Record<string, string> = {},
): Promise<[ServerProcess, ServerProcess]> {
  return twoServers({ CHAT_REDIS_URL: redis.url, ...FAST, ...env });
}

Deno.test("two processes on one Redis are one chat: members, broadcasts both ways, one room log", async () => {
  const redis = await startRedis();
  const [a, b] = await twoProcesses(redis);
  const alice = await Client.connect(a.ws, { name: "alice", room: "across" });
  const bob = await Client.connect(b.ws, { name: "bob", room: "across" });
  try {
    await alice.waitFor((e) => e.event === "join" && e.member === "bob", 10_000);
    deepEqual((await bob.request({ command: "list" })).members, ["alice", "bob"]);
    const one = await alice.request({ command: "broadcast", message: "from A" });
    const two = await bob.request({ command: "broadcast", message: "from B" });
    equal((await bob.waitFor((e) => e.id === one.id)).seq, one.seq);
    equal((await alice.waitFor((e) => e.id === two.id)).seq, two.seq);
    equal(two.seq, (one.seq as number) + 1, "one log: seq continues across processes");
    const history = await (await fetch(`${b.http}/rooms/across/messages`)).json();
    deepEqual(history.messages.map((m: Json) => m.message), ["from A", "from B"]);
    // Direct messages and typing cross processes too.
    const dm = await bob.request({ command: "direct", to: "alice", message: "psst" });
    await alice.waitFor((e) => e.event === "direct" && e.id === dm.id, 10_000);
    await bob.close();
    await alice.waitFor((e) => e.event === "leave" && e.member === "bob", 10_000);
  } finally {
    await closeAll([alice, bob]);
    await stopAll([a, b], redis);
  }
});

Deno.test("a session issued by one process brings back the same member on another (the secret is in Redis)", async () => {
  const redis = await startRedis();
  const [a, b] = await twoProcesses(redis);
  try {
    const first = await Client.connect(a.ws, { name: "roamer", room: "x" });
    const me = first.events.find((e) => e.event === "me")!;
    await first.close();
    const second = await Client.connect(b.ws, { session: String(me.session), room: "x" });
    const again = second.events.find((e) => e.event === "me")!;
    equal(again.id, me.id);
    equal(again.member, "roamer");
    await second.close();
  } finally {
    await stopAll([a, b], redis);
  }
});

Deno.test("conversations across two processes on Redis: replies counted, mentions, a read told to the member's other process and kept for its session, search", async () => {
  const redis = await startRedis();
  const [a, b] = await twoProcesses(redis);
  const ann = await Client.connect(a.ws, { name: "ann", room: "talk" });
  const annToo = await Client.connect(b.ws, { session: String(ann.me.session), room: "talk" });
  const bob = await Client.connect(b.ws, { name: "bob", room: "talk" });
  try {
    await ann.waitFor((e) => e.event === "join" && e.member === "bob", 10_000);
    const root = await ann.request({ command: "broadcast", message: "Who wants Crème brûlée?" });
    const replies = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? ann : bob).request({
          command: "broadcast",
          message: `@ann me ${i}`,
          replyTo: root.id,
        })),
    );
    deepEqual(replies.map((r) => r.replyTo), replies.map(() => root.id));
    deepEqual(replies[0].mentions, [ann.me.id]);
    const history = await (await fetch(`${a.http}/rooms/talk/messages`)).json();
    equal(history.messages.find((m: Json) => m.id === root.id).replies, 6);
    const thread = await (await fetch(`${b.http}/rooms/talk/messages?thread=${root.id}`)).json();
    equal(thread.messages.length, 6);
    const found = await (await fetch(`${b.http}/rooms/talk/messages?q=CRÈME%20BRÛLÉE`)).json();
    deepEqual(found.messages.map((m: Json) => m.id), [root.id]);
    const second = [...replies].sort((x, y) => (x.seq as number) - (y.seq as number))[1];
    await ann.request({ command: "read", room: "talk", id: second.id });
    equal((await annToo.next((e) => e.event === "read", 10_000)).id, second.id);
    const session = String(ann.me.session);
    await closeAll([ann, annToo]);
    const back = await Client.connect(b.ws, { session, room: "talk" });
    const joined = back.events.find((e) => e.event === "joined")!;
    equal(joined.readUpTo, second.id);
    equal(joined.unread, 4);
    await back.close();
  } finally {
    await closeAll([ann, annToo, bob]);
    await stopAll([a, b], redis);
  }
});

Deno.test("rooms you can run across two processes on Redis: a private room hidden from an outsider on the other process, invite, promote, mute, kick and ban on every connection", async () => {
  const redis = await startRedis();
  const secret = "redis-moderation-secret";
  const [a, b] = await twoProcesses(redis, { CHAT_JWT_SECRET: secret });
  const token = (name: string) => issueToken(secret, name);
  const owner = await Client.connect(a.ws, { token: await token("olga"), room: "lobby" });
  const otto = await Client.connect(b.ws, { token: await token("otto"), room: "lobby" });
  const ottoOnA = await Client.connect(a.ws, { token: await token("otto"), room: "lobby" });
  try {
    const made = await owner.request({ command: "join", room: "vault", private: true });
    equal(made.role, "owner");
    equal((await otto.request({ command: "join", room: "vault" })).code, "room_forbidden");
    const hidden = await fetch(`${b.http}/rooms/${made.room}/messages`, {
      headers: { authorization: `Bearer ${await token("otto")}` },
    });
    equal(hidden.status, 404);
    await hidden.body?.cancel();
    await owner.request({ command: "invite", room: "vault", to: "otto" });
    await otto.next((e) => e.event === "invited", 10_000);
    equal((await otto.request({ command: "join", room: made.room })).role, "member");
    equal((await ottoOnA.request({ command: "join", room: made.room })).event, "joined");
    const promoted = await owner.request({
      command: "role",
      room: made.room,
      to: "otto",
      role: "moderator",
    });
    equal(promoted.role, "moderator");
    await owner.request({ command: "role", room: made.room, to: "otto", role: "member" });
    await owner.request({ command: "mute", room: made.room, to: "otto", seconds: 600 });
    await otto.next((e) => e.event === "muted", 10_000);
    const quiet = await otto.request({ command: "broadcast", room: made.room, message: "hm" });
    equal(quiet.code, "muted");
    await owner.request({ command: "ban", room: made.room, to: "otto" });
    for (const device of [otto, ottoOnA]) await device.next((e) => e.event === "banned", 10_000);
    await owner.waitFor((e) => e.event === "leave" && e.member === "otto", 10_000);
    equal((await otto.request({ command: "join", room: made.room })).code, "banned");
    const list = await (await fetch(`${b.http}/rooms/${made.room}`, {
      headers: { authorization: `Bearer ${await token("olga")}` },
    })).json();
    deepEqual(list.members, ["olga"]);
  } finally {
    await closeAll([owner, otto, ottoOnA]);
    await stopAll([a, b], redis);
  }
});

Deno.test("order across processes on Redis: a leaver's last line reaches the other process before its leave", async () => {
  const redis = await startRedis();
  const [a, b] = await twoProcesses(redis);
  try {
    await lastWordsArriveFirst(a.ws, b.ws, 10);
  } finally {
    await stopAll([a, b], redis);
  }
});

Deno.test("two processes racing for one name or one room name: one wins, at once, as the contract says", async () => {
  const redis = await startRedis();
  const [a, b] = await twoProcesses(redis);
  const clients: Client[] = [];
  try {
    for (let i = 0; i < 10; i++) {
      const name = `zoe${i}`;
      const pair = await Promise.all([
        Client.connect(a.ws, { name, room: "names" }),
        Client.connect(b.ws, { name, room: "names" }),
      ]);
      clients.push(...pair);
      // The first `me` of each is final: no clash to settle afterwards.
      const names = pair.map((c) => String(c.events.find((e) => e.event === "me")!.member)).sort();
      deepEqual(names, [name, `${name}-2`], `pair ${i}`);
    }
    for (let i = 0; i < 10; i++) {
      const body = JSON.stringify({ name: `race-${i}` });
      const init = { method: "POST", headers: { "content-type": "application/json" }, body };
      const answers = await Promise.all([
        fetch(`${a.http}/rooms`, init),
        fetch(`${b.http}/rooms`, init),
      ]);
      const statuses = answers.map((r) => r.status).sort();
      const bodies = await Promise.all(answers.map((r) => r.json()));
      deepEqual(statuses, [201, 409], `room race ${i}`);
      const ids = bodies.map((x) => x.id);
      equal(ids[0], ids[1], "the loser is told the winner's id");
    }
  } finally {
    await closeAll(clients);
    await stopAll([a, b], redis);
  }
});

Deno.test("cross-process scenario: 8 senders over 2 processes + Redis, a reader resuming ~30 times on alternate processes: every message once, in seq order", async () => {
  let resumes = 0;
  for (let run = 0; run < 2; run++) {
    const redis = await startRedis();
    const [a, b] = await twoProcesses(redis);
    const result = await floodAndResume(
      run,
      { nodes: [a, b], close: () => stopAll([a, b], redis) },
      40,
      25,
    );
    resumes += result.resumes;
  }
  console.log(`  ${resumes} resumes over 2 runs`);
});

Deno.test("Redis stopped: a message gets store_failed and is delivered to nobody, sockets stay open, and the chat resumes when Redis is back", async () => {
  const redis = await startRedis({ persist: true });
  const [a, b] = await twoProcesses(redis);
  const alice = await Client.connect(a.ws, { name: "alice", room: "outage" });
  const bob = await Client.connect(b.ws, { name: "bob", room: "outage" });
  try {
    await alice.waitFor((e) => e.event === "join" && e.member === "bob", 10_000);
    const before = await alice.request({ command: "broadcast", message: "before" });
    await bob.waitFor((e) => e.id === before.id, 10_000);
    await redis.stop();
    const refused = await alice.request({ command: "broadcast", message: "during" });
    equal(refused.event, "error");
    equal(refused.code, "store_failed");
    equal(alice.socket.readyState, WebSocket.OPEN);
    equal(bob.socket.readyState, WebSocket.OPEN);
    equal((await alice.request({ command: "me" })).event, "me", "the socket still answers");
    // A newcomer cannot be given a name now: told so, and closed with 1013 (come back later).
    const newcomer = Client.open(a.ws, { name: "newcomer", room: "outage" });
    equal((await newcomer.closed).code, 1013);
    equal(newcomer.events.find((e) => e.event === "error")?.code, "store_failed");
    await redis.restart();
    // The server reconnects by itself (backoff up to 2 s): the next message is stored.
    let after: Json | undefined;
    await eventually(
      async () => {
        const answer = await alice.request({ command: "broadcast", message: "after" });
        if (answer.event === "broadcast") after = answer;
        return after !== undefined;
      },
      "a message stored after Redis came back",
      15_000,
    );
    equal(after!.seq, (before.seq as number) + 1, "nothing was stored during the outage");
    await bob.waitFor((e) => e.id === after!.id, 10_000);
    const seen = bob.broadcasts().map((e) => e.message);
    deepEqual(seen, ["before", "after"], "bob got what was stored, once, and nothing else");
  } finally {
    await closeAll([alice, bob]);
    await stopAll([a, b], redis);
  }
});

Deno.test("the pub/sub connection killed during a burst (CLIENT KILL TYPE pubsub): nothing lost, nothing twice, in seq order", async () => {
  const redis = await startRedis();
  const [a, b] = await twoProcesses(redis);
  const alice = await Client.connect(a.ws, { name: "alice", room: "burst" });
  const bob = await Client.connect(b.ws, { name: "bob", room: "burst" });
  const admin = await redis.client();
  try {
    await alice.waitFor((e) => e.event === "join" && e.member === "bob", 10_000);
    const n = 600;
    let last: Json | undefined;
    const sending = (async () => {
      for (let i = 0; i < n; i++) {
        alice.send({ command: "broadcast", message: `m${i}`, id: `k${i}` });
        if (i % 50 === 49) await alice.waitFor((e) => e.re === `k${i}`, 10_000);
      }
      last = await alice.waitFor((e) => e.re === `k${n - 1}`, 10_000);
    })();
    // Kill every subscriber connection (both processes') while the burst is on, twice.
    await alice.waitFor((e) => e.re === "k99", 10_000);
    const killed = Number(await admin.sendCommand(["CLIENT", "KILL", "TYPE", "pubsub"]));
    ok(killed >= 2, `killed ${killed} subscriber connections`);
    await alice.waitFor((e) => e.re === "k399", 10_000);
    await admin.sendCommand(["CLIENT", "KILL", "TYPE", "pubsub"]);
    await sending;
    await bob.waitFor((e) => e.id === last!.id, 15_000);
    const got = bob.broadcasts().map((e) => e.message);
    deepEqual(got, Array.from({ length: n }, (_, i) => `m${i}`));
    const seqs = bob.broadcasts().map((e) => e.seq as number);
    deepEqual(seqs, seqs.map((_, i) => seqs[0] + i));
  } finally {
    await closeAll([alice, bob]);
    await stopAll([a, b], redis);
  }
});

Deno.test("presence converges: a process killed with -9 has its members leave everywhere within 15 s; SIGINT within 5 s", async () => {
  const redis = await startRedis();
  const [a, b] = await twoProcesses(redis);
  const c = await startProcess({ CHAT_REDIS_URL: redis.url, ...FAST });
  const alice = await Client.connect(a.ws, { name: "alice", room: "presence" });
  const carol = Client.open(b.ws, { name: "carol", room: "presence" });
  const dave = Client.open(c.ws, { name: "dave", room: "presence" });
  try {
    await alice.waitFor((e) => e.event === "join" && e.member === "carol", 10_000);
    await alice.waitFor((e) => e.event === "join" && e.member === "dave", 10_000);
    let started = Date.now();
    await b.stop("SIGKILL");
    await alice.waitFor((e) => e.event === "leave" && e.member === "carol", 15_000);
    const killedMs = Date.now() - started;
    ok(killedMs < 15_000, `carol left after ${killedMs} ms`);
    started = Date.now();
    await c.stop("SIGINT");
    await alice.waitFor((e) => e.event === "leave" && e.member === "dave", 5_000);
    const stoppedMs = Date.now() - started;
    ok(stoppedMs < 5_000, `dave left after ${stoppedMs} ms`);
    deepEqual((await alice.request({ command: "list" })).members, ["alice"]);
    // carol's name is free again for someone else.
    const again = await Client.connect(a.ws, { name: "carol", room: "presence" });
    equal(again.me.member, "carol");
    await again.close();
    console.log(`  kill -9: ${killedMs} ms; SIGINT: ${stoppedMs} ms`);
  } finally {
    await closeAll([alice, carol, dave]);
    await stopAll([a, b, c], redis);
  }
});

Deno.test("CHAT_REDIS_WAIT_REPLICAS=1 on a Redis without replicas: the start says so; a send is refused though stored (readers get it), the next at once and unstored", async () => {
  const redis = await startRedis();
  const port = freePort();
  const child = startCommand({
    ...FAST,
    PORT: String(port),
    HOSTNAME: "127.0.0.1",
    CHAT_KV_PATH: ":memory:",
    CHAT_LOG: "json",
    CHAT_REDIS_URL: redis.url,
    CHAT_REDIS_WAIT_REPLICAS: "1",
    CHAT_REDIS_WAIT_TIMEOUT_MS: "200",
  }, { stdout: "piped", stderr: "null" }).spawn();
  const output = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const clients: Client[] = [];
  try {
    let logged = "";
    while (!logged.includes("redis_replicas_short")) {
      const { value, done } = await output.read();
      if (done) throw new Error(`the server stopped: ${logged}`);
      logged += value;
    }
    ok(/"replicas":0,"wanted":1/.test(logged), logged);
    await listening(port);
    const ws = `ws://127.0.0.1:${port}/ws`;
    const alice = await Client.connect(ws, { name: "alice", room: "durable" });
    const bob = await Client.connect(ws, { name: "bob", room: "durable" });
    clients.push(alice, bob);
    const first = await alice.request({ command: "broadcast", message: "one" });
    equal(first.code, "store_failed", "not acknowledged: no replica confirmed it");
    const second = await alice.request({ command: "broadcast", message: "two" });
    equal(second.code, "store_failed", "refused at once while the room is short of replicas");
    // "one" is in the room's log on the master: history has it and bob got it; "two" is nowhere.
    await bob.waitFor((e) => e.event === "broadcast" && e.message === "one", 5000);
    const history = await (await fetch(`http://127.0.0.1:${port}/rooms/durable/messages`)).json();
    deepEqual(history.messages.map((m: Json) => m.message), ["one"]);
    ok(!bob.broadcasts().some((e) => e.message === "two"));
  } finally {
    await closeAll(clients);
    child.kill("SIGKILL");
    await child.status;
    await output.cancel().catch(() => {});
    await redis.close();
  }
});

Deno.test("a Redis that refuses the password stops the start at once with one line (no password shown), not after the connect timeout", async () => {
  const redis = await startRedis();
  try {
    const admin = await redis.client();
    await admin.sendCommand(["CONFIG", "SET", "requirepass", "right-one"]);
    const started = performance.now();
    const out = await startCommand(
      {
        PORT: String(freePort()),
        HOSTNAME: "127.0.0.1",
        CHAT_KV_PATH: ":memory:",
        CHAT_REDIS_URL: `redis://:wrong-one@127.0.0.1:${redis.port}/0`,
        // Long on purpose: the start must not wait for it.
        CHAT_REDIS_CONNECT_TIMEOUT_MS: "60000",
      },
      { stderr: "piped" },
    ).output();
    const seconds = (performance.now() - started) / 1000;
    const said = new TextDecoder().decode(out.stderr).trim();
    equal(out.code, 1);
    equal(said.split("\n").length, 1, said);
    ok(
      /^chat: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0 refused the credentials \(WRONGPASS/
        .test(said),
      said,
    );
    ok(said.endsWith("check the user and password in CHAT_REDIS_URL"), said);
    ok(!said.includes("wrong-one"), said);
    ok(seconds < 30, `it waited ${seconds.toFixed(1)} s`);
    await admin.sendCommand(["AUTH", "right-one"]).catch(() => {});
    await admin.sendCommand(["CONFIG", "SET", "requirepass", ""]);
  } finally {
    await redis.close();
  }
});
