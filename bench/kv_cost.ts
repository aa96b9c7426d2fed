/**
 * KV operations the KV bus (`CHAT_BUS=kv`, the Deno Deploy engine) costs, counted on a real
 * Deno KV file: two chats ("instances") share it through a counting wrapper, and the counts are
 * taken around one message, one join and the heartbeats of 10 s. Deploy bills KV reads and
 * writes, so these are the numbers to multiply. Run by `deno task bench`; alone:
 * `deno run --allow-all bench/kv_cost.ts`.
 *
 * @module
 */
import { KvBus } from "../src/engines/kv/kv_bus.ts";
import { createChat, storeHeads } from "../src/mod.ts";
import { KvStore } from "../src/engines/kv/kv_store.ts";

/** Operation counts of one KV handle. */
interface Counts {
  commits: number;
  gets: number;
  lists: number;
  watchEvents: number;
}

/** Wraps a KV handle so that every read, commit and watch event is counted. */
function counting(kv: Deno.Kv, counts: Counts): Deno.Kv {
  return new Proxy(kv, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof value !== "function") return value;
      if (key === "get" || key === "getMany") {
        return (...args: unknown[]) => {
          counts.gets++;
          return value.apply(target, args);
        };
      }
      if (key === "list") {
        return (...args: unknown[]) => {
          counts.lists++;
          return value.apply(target, args);
        };
      }
      if (key === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => {
            counts.commits++;
            return commit();
          };
          return op;
        };
      }
      if (key === "watch") {
        return (...args: unknown[]) => {
          const stream = value.apply(target, args) as ReadableStream;
          return stream.pipeThrough(
            new TransformStream({
              transform(chunk, controller) {
                counts.watchEvents++;
                controller.enqueue(chunk);
              },
            }),
          );
        };
      }
      return value.bind(target);
    },
  });
}

const dir = await Deno.makeTempDir({ prefix: "chat-kv-cost-" });
const path = `${dir}/cost.kv`;
const retention = { maxMessages: 10_000, maxAgeMs: 0 };
const heartbeatMs = 1000;

async function instance(name: string) {
  const counts: Counts = { commits: 0, gets: 0, lists: 0, watchEvents: 0 };
  const kv = counting(await Deno.openKv(path), counts);
  const chat = await createChat({
    log: "off",
    heartbeatMs,
    presenceTimeoutMs: 10_000,
    ratePerSecond: 1000,
    rateBurst: 1000,
    store: new KvStore(kv, { retention }),
    bus: new KvBus(kv, { nodeId: name, namespace: "cost", watchedKey: storeHeads }),
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, chat.fetch);
  return { counts, kv, chat, server, ws: `ws://127.0.0.1:${server.addr.port}/ws` };
}

function open(
  url: string,
): Promise<
  { socket: WebSocket; next: (m: (e: Record<string, unknown>) => boolean) => Promise<void> }
> {
  const socket = new WebSocket(url);
  const events: Record<string, unknown>[] = [];
  const waiters: { match: (e: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  socket.onmessage = (m) => {
    const event = JSON.parse(String(m.data));
    events.push(event);
    for (const w of [...waiters]) {
      if (w.match(event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const next = (match: (e: Record<string, unknown>) => boolean) =>
    events.some(match)
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiters.push({ match, resolve }));
  return new Promise((resolve) => socket.onopen = () => resolve({ socket, next }));
}

const snapshot = (c: Counts): Counts => ({ ...c });
const diff = (a: Counts, b: Counts): Counts => ({
  commits: b.commits - a.commits,
  gets: b.gets - a.gets,
  lists: b.lists - a.lists,
  watchEvents: b.watchEvents - a.watchEvents,
});
const quiet = () => new Promise((r) => setTimeout(r, 300));

const a = await instance("a");
const b = await instance("b");
const rows: string[] = [];
const row = (what: string, one: Counts, other: Counts) =>
  rows.push(
    `| ${what} | ${one.commits} | ${one.gets} | ${one.lists} | ${other.commits} | ${other.gets} | ${other.lists} | ${other.watchEvents} |`,
  );
try {
  const alice = await open(`${a.ws}?name=alice&room=cost`);
  await alice.next((e) => e.event === "joined");
  await quiet();
  // One join, on b, into a room that a already listens to.
  let before = [snapshot(b.counts), snapshot(a.counts)];
  const bob = await open(`${b.ws}?name=bob&room=cost`);
  await bob.next((e) => e.event === "joined");
  await alice.next((e) => e.event === "join");
  await quiet();
  row(
    "a join (+ connect), on the joining instance / on the other",
    diff(before[0], b.counts),
    diff(before[1], a.counts),
  );
  // Messages, one at a time, sent on a and received on b.
  const n = 20;
  before = [snapshot(a.counts), snapshot(b.counts)];
  for (let i = 0; i < n; i++) {
    alice.socket.send(JSON.stringify({ command: "broadcast", message: `m${i}`, id: `x${i}` }));
    await bob.next((e) => e.message === `m${i}`);
  }
  await quiet();
  const perMessage = (c: Counts): Counts => ({
    commits: +(c.commits / n).toFixed(1),
    gets: +(c.gets / n).toFixed(1),
    lists: +(c.lists / n).toFixed(1),
    watchEvents: +(c.watchEvents / n).toFixed(1),
  });
  row(
    "a message (one at a time), on the sending instance / on the receiving one",
    perMessage(diff(before[0], a.counts)),
    perMessage(diff(before[1], b.counts)),
  );
  // Ten seconds of heartbeats with nothing else going on.
  before = [snapshot(a.counts), snapshot(b.counts)];
  await new Promise((r) => setTimeout(r, 10_000));
  const beats = (c: Counts): Counts => ({
    commits: +(c.commits / 10).toFixed(1),
    gets: +(c.gets / 10).toFixed(1),
    lists: +(c.lists / 10).toFixed(1),
    watchEvents: +(c.watchEvents / 10).toFixed(1),
  });
  row(
    "one second idle (heartbeats every 1 s), on each instance",
    beats(diff(before[0], a.counts)),
    beats(diff(before[1], b.counts)),
  );
  alice.socket.close();
  bob.socket.close();
} finally {
  for (const i of [a, b]) {
    await i.chat.close();
    await i.server.shutdown();
    i.kv.close();
  }
  await Deno.remove(dir, { recursive: true });
}

console.log(
  [
    "KV operations of the KV bus (`CHAT_BUS=kv`), counted on a KV file shared by two instances:",
    "",
    "| event | commits (this) | gets (this) | lists (this) | commits (other) | gets (other) | lists (other) | watch events (other) |",
    "| --- | --: | --: | --: | --: | --: | --: | --: |",
    ...rows,
  ].join("\n"),
);
