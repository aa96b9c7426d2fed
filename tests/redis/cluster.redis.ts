// The Redis engine on a real Redis Cluster (3 masters, 3 replicas, `redis-cli --cluster create`):
// two `deno task start` processes with `CHAT_REDIS_CLUSTER` and `CHAT_REDIS_WAIT_REPLICAS=1` are
// one chat; a reader hopping between them misses nothing; a master killed with SIGKILL in the
// middle of a flood loses nothing acknowledged; a slot moved under load loses nothing either; a
// server started before its cluster is formed waits for it.
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
} from "../_helpers.ts";
import { floodAndResume, fullHistory } from "../_resume_scenario.ts";
import { keySlot } from "../../src/engines/redis/cluster_slots.ts";
import { startCluster, type TestCluster } from "./_cluster.ts";
import { LIFTED_LIMITS, stopAll, twoServers } from "./_redis.ts";

/** Two processes on the cluster, each append waiting for one replica. */
function twoProcesses(cluster: TestCluster): Promise<[ServerProcess, ServerProcess]> {
  return twoServers({
    CHAT_REDIS_CLUSTER: cluster.seeds,
    CHAT_REDIS_WAIT_REPLICAS: "1",
    ...LIFTED_LIMITS,
  });
}

/** The key whose slot holds a room (the engine's layout: `chat:{r:<id>}:...`). */
const roomKey = (room: string) => `chat:{r:${room}}:head`;

Deno.test("two processes on a Redis Cluster (WAIT 1) are one chat: members, broadcasts both ways, one log, direct messages, rooms on every shard", async () => {
  const cluster = await startCluster();
  const [a, b] = await twoProcesses(cluster);
  const clients: Client[] = [];
  try {
    const alice = await Client.connect(a.ws, { name: "alice", room: "across" });
    const bob = await Client.connect(b.ws, { name: "bob", room: "across" });
    clients.push(alice, bob);
    await alice.waitFor((e) => e.event === "join" && e.member === "bob", 10_000);
    deepEqual((await bob.request({ command: "list" })).members, ["alice", "bob"]);
    const one = await alice.request({ command: "broadcast", message: "from A" });
    const two = await bob.request({ command: "broadcast", message: "from B" });
    equal((await bob.waitFor((e) => e.id === one.id)).seq, one.seq);
    equal((await alice.waitFor((e) => e.id === two.id)).seq, two.seq);
    equal(two.seq, (one.seq as number) + 1, "one log: seq continues across processes");
    const room = String(alice.events.find((e) => e.event === "joined")!.room);
    deepEqual((await fullHistory(b.http, room)).map((m) => m.message), ["from A", "from B"]);
    const dm = await bob.request({ command: "direct", to: "alice", message: "psst" });
    await alice.waitFor((e) => e.event === "direct" && e.id === dm.id, 10_000);

    // Rooms until every master owns one: each works across the processes.
    const masters = new Set<number>();
    for (let i = 0; masters.size < 3 && i < 60; i++) {
      const name = `spread-${i}`;
      const x = await Client.connect(a.ws, { name: `x${i}`, room: name });
      const y = await Client.connect(b.ws, { name: `y${i}`, room: name });
      clients.push(x, y);
      const id = String(x.events.find((e) => e.event === "joined")!.room);
      const sent = await y.request({ command: "broadcast", message: `hello ${i}` });
      equal((await x.waitFor((e) => e.id === sent.id, 10_000)).message, `hello ${i}`);
      masters.add(await cluster.masterOf(roomKey(id)));
    }
    equal(masters.size, 3, "rooms on all three masters");
    await bob.close();
    await alice.waitFor((e) => e.event === "leave" && e.member === "bob", 10_000);
  } finally {
    await closeAll(clients);
    await stopAll([a, b], cluster);
  }
});

Deno.test("a reader hopping between two processes on a Redis Cluster resumes with every stored event once, in seq order", async () => {
  const cluster = await startCluster();
  const [a, b] = await twoProcesses(cluster);
  const result = await floodAndResume(
    0,
    { nodes: [a, b], close: () => stopAll([a, b], cluster) },
    40,
    15,
  );
  console.log(`  ${result.messages} messages, ${result.resumes} resumes`);
});

/** Most messages one sender sends in a flood, and the longest a flood lasts (bounds, not targets). */
const MAX_PER_SENDER = 2000;
const MAX_FLOOD_MS = 60_000;

/**
 * Senders on both processes send one message at a time (pausing 20 ms after a refusal, as a
 * client backs off); after the first 50 acknowledgements `disturb` starts (a failover, a
 * reshard), and once it is over each sender goes on until 50 more of its messages are
 * acknowledged. Resolves with the acknowledged ids.
 */
async function flood(
  senders: Client[],
  disturb: () => Promise<unknown>,
): Promise<{ acknowledged: Set<string>; failed: number }> {
  const acknowledged = new Set<string>();
  let failed = 0;
  let disturbed: Promise<unknown> | undefined;
  let over = false;
  const deadline = Date.now() + MAX_FLOOD_MS;
  await Promise.all(senders.map(async (sender, s) => {
    let after = 0;
    for (let n = 0; n < MAX_PER_SENDER && Date.now() < deadline; n++) {
      const reply = await sender.request({ command: "broadcast", message: `${s}:${n}` }, 20_000);
      if (reply.event === "error") {
        failed++;
        await new Promise((r) => setTimeout(r, 20));
      } else {
        acknowledged.add(String(reply.id));
        if (over && ++after >= 50) break;
      }
      if (acknowledged.size >= 50 && !disturbed) {
        disturbed = disturb().finally(() => over = true);
      }
    }
  }));
  ok(over, "the flood outlasted the disturbance");
  ok(
    acknowledged.size >= 250,
    `the chat went on after the disturbance (${acknowledged.size} acknowledged)`,
  );
  await disturbed;
  return { acknowledged, failed };
}

/**
 * Fills the room `readerA` (on the first process) is in: a reader on the second process and four
 * senders alternating between them (all added to `clients`); resolves once all are in.
 */
async function busyRoom(
  [a, b]: [ServerProcess, ServerProcess],
  readerA: Client,
  room: string,
  clients: Client[],
): Promise<{ readerB: Client; senders: Client[] }> {
  const readerB = await Client.connect(b.ws, { name: "reader-b", room });
  clients.push(readerB);
  const senders: Client[] = [];
  for (let i = 0; i < 4; i++) {
    senders.push(await Client.connect((i % 2 ? b : a).ws, { name: `s${i}`, room }));
  }
  clients.push(...senders);
  await readerA.waitFor((e) => e.event === "join" && e.member === "s3", 10_000);
  return { readerB, senders };
}

/** What a reader got of a room: each stored message once, in seq order, and all of them. */
async function readerSawAll(reader: Client, room: string, stored: Json[], name: string) {
  const last = stored.at(-1)!;
  await reader.waitFor((e) => e.event === "broadcast" && e.id === last.id, 30_000);
  const got = reader.broadcasts(room);
  const ids = got.map((e) => String(e.id));
  equal(new Set(ids).size, ids.length, `${name} got no message twice`);
  const seqs = got.map((e) => e.seq as number);
  ok(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]), `${name} got them in seq order`);
  deepEqual(ids, stored.map((m) => String(m.id)), `${name} got every stored message`);
}

Deno.test("the master of the busiest room killed (SIGKILL) mid-flood with WAIT 1: every acknowledged message is in history, every reader gets each stored message once, in order, and acknowledgements resume once a replica is back", async () => {
  const cluster = await startCluster();
  const [a, b] = await twoProcesses(cluster);
  const clients: Client[] = [];
  try {
    const readerA = await Client.connect(a.ws, { name: "reader-a", room: "busy" });
    clients.push(readerA);
    const room = String(readerA.events.find((e) => e.event === "joined")!.room);
    const { readerB, senders } = await busyRoom([a, b], readerA, room, clients);
    const master = await cluster.masterOf(roomKey(room));
    // Killed, failed over to its replica, then back as the new master's replica: meanwhile the
    // room's shard has no replica, and WAIT 1 refuses to acknowledge what it cannot promise.
    const result = await flood(senders, async () => {
      await cluster.kill(master);
      await cluster.failedOver(master);
      await cluster.restart(master);
    });
    console.log(
      `  ${result.acknowledged.size} acknowledged, ${result.failed} failed during the failover`,
    );
    ok(await cluster.masterOf(roomKey(room)) !== master, "another master serves the room");
    for (const server of [a, b]) {
      const stored = await fullHistory(server.http, room);
      const ids = new Set(stored.map((m) => String(m.id)));
      for (const id of result.acknowledged) ok(ids.has(id), `acknowledged ${id} is in history`);
      const seqs = stored.map((m) => m.seq as number);
      ok(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]), "history in seq order");
    }
    const stored = await fullHistory(a.http, room);
    await readerSawAll(readerA, room, stored, "the reader on A");
    await readerSawAll(readerB, room, stored, "the reader on B");
  } finally {
    await closeAll(clients);
    await stopAll([a, b], cluster);
  }
});

Deno.test("a room's slot moved to another master (redis-cli --cluster reshard) under load: nothing acknowledged is lost, readers get each message once, in order", async () => {
  const cluster = await startCluster();
  const [a, b] = await twoProcesses(cluster);
  const clients: Client[] = [];
  try {
    // A room whose slot is among the first 100 of its master's range (`reshard` moves the
    // lowest slots first), so that moving 100 slots moves it and takes a moment, not seconds.
    const ranges = (await cluster.cli(cluster.nodes[0].port, "CLUSTER", "NODES")).split("\n")
      .filter((line) => line.includes("master"))
      .map((line) => ({
        port: Number(line.split(" ")[1].split("@")[0].split(":")[1]),
        first: Number(line.split(" ")[8].split("-")[0]),
      }));
    let readerA: Client | undefined;
    let room = "";
    let from = 0;
    let count = 0;
    for (let i = 0; i < 500 && count === 0; i++) {
      const reader = await Client.connect(a.ws, { name: "reader-a", room: `moving-${i}` });
      room = String(reader.events.find((e) => e.event === "joined")!.room);
      const slot = keySlot(roomKey(room));
      const range = ranges.find((r) => slot >= r.first && slot < r.first + 100);
      if (range) {
        readerA = reader;
        from = range.port;
        count = slot - range.first + 1;
      } else await reader.close();
    }
    ok(readerA, "a room near the start of a master's slots");
    clients.push(readerA);
    const { readerB, senders } = await busyRoom([a, b], readerA, room, clients);
    const to = ranges.find((r) => r.port !== from)!.port;
    const result = await flood(senders, () => cluster.reshard(from, to, count));
    equal(result.failed, 0, "a slot move refuses no send (TRYAGAIN is retried)");
    await eventually(
      async () => await cluster.masterOf(roomKey(room)) === to,
      "the room's slot on its new master",
      30_000,
    );
    console.log(
      `  ${result.acknowledged.size} acknowledged, ${result.failed} failed, ${count} slots moved`,
    );
    // After the move, both processes still write to the room and hear each other.
    const late = await senders[1].request({ command: "broadcast", message: "after the move" });
    equal(late.event, "broadcast");
    await readerA.waitFor((e) => e.id === late.id, 10_000);
    const stored = await fullHistory(b.http, room);
    const ids = new Set(stored.map((m) => String(m.id)));
    for (const id of result.acknowledged) ok(ids.has(id), `acknowledged ${id} is in history`);
    await readerSawAll(readerA, room, stored, "the reader on A");
    await readerSawAll(readerB, room, stored, "the reader on B");
  } finally {
    await closeAll(clients);
    await stopAll([a, b], cluster);
  }
});

Deno.test("a server started beside a cluster that is still forming waits for it (saying so once), then serves; one that never forms stops with one line naming the slots", async () => {
  const cluster = await startCluster({ form: false });
  const port = freePort();
  const child = startCommand(
    {
      ...LIFTED_LIMITS,
      PORT: String(port),
      HOSTNAME: "127.0.0.1",
      CHAT_KV_PATH: ":memory:",
      CHAT_LOG: "json",
      CHAT_REDIS_CLUSTER: cluster.seeds,
      // Longer than forming takes on a busy machine: this part is about waiting, not giving up.
      CHAT_REDIS_CONNECT_TIMEOUT_MS: "60000",
    },
    { stdout: "piped", stderr: "piped" },
  ).spawn();
  const errors = new Response(child.stderr).text();
  const output = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let logged = "";
  try {
    // It says once that it waits, before the cluster exists.
    while (!logged.includes("redis_cluster_waiting")) {
      const { value, done } = await output.read();
      if (done) throw new Error(`the server stopped: ${logged}`);
      logged += value;
    }
    await cluster.form();
    await listening(port);
    const alice = await Client.connect(`ws://127.0.0.1:${port}/ws`, {
      name: "alice",
      room: "late",
    });
    const sent = await alice.request({ command: "broadcast", message: "after forming" });
    equal(sent.event, "broadcast");
    await alice.close();
  } catch (error) {
    // Say what the server said (it may have stopped by itself).
    try {
      child.kill("SIGKILL");
    } catch {
      // gone already
    }
    for (;;) {
      const { value, done } = await output.read();
      if (done) break;
      logged += value;
    }
    throw new Error(`${error}; the server logged: ${logged} ${await errors}`);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // it stopped by itself (the error above says what it logged)
    }
    await child.status;
    await output.cancel().catch(() => {});
    await errors;
    await cluster.close();
  }

  // Nodes that never form a cluster: the start gives up after the connect timeout, naming why.
  const lonely = await startCluster({ form: false, masters: 1, replicas: 0 });
  try {
    const out = await startCommand(
      {
        PORT: String(freePort()),
        HOSTNAME: "127.0.0.1",
        CHAT_KV_PATH: ":memory:",
        CHAT_REDIS_CLUSTER: lonely.seeds,
        CHAT_REDIS_CONNECT_TIMEOUT_MS: "1500",
      },
      { stdout: "piped", stderr: "piped" },
    ).output();
    equal(out.code, 1);
    const said = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    ok(
      /cannot reach the Redis Cluster at .*cluster_state:fail, 0 of 16384 slots.*\(CHAT_REDIS_CLUSTER\)/
        .test(said),
      said,
    );
  } finally {
    await lonely.close();
  }
});
