// The hub's parts, each on its own: log order, the room feed, local rooms, the room directory,
// name settlement and the parser of messages between nodes.
import assert from "node:assert/strict";
import { LocalConnection } from "../src/core/local_connection.ts";
import { LocalRooms } from "../src/core/local_rooms.ts";
import { logTime, nextLogId } from "../src/core/log_order.ts";
import { clashLosers } from "../src/core/name_keeping.ts";
import { nameKey } from "../src/core/names.ts";
import { parsePresenceMessage, parseRoomMessage } from "../src/core/node_messages.ts";
import { Presence } from "../src/core/presence.ts";
import { RoomDirectory } from "../src/core/room_directory.ts";
import { type FeedEntry, RoomFeed, storedEntry } from "../src/core/room_feed.ts";
import type { ChatMessage, MessageDraft, Outbound } from "../src/core/types.ts";
import { MemoryStore } from "../src/engines/memory/memory_store.ts";
import { eventually, FakeClock, seededIds } from "./_helpers.ts";

const ROOM = "01J0000000000000000000ROOM";
const LOTS = { maxMessages: 1000, maxAgeMs: 0 };

function draftMaker(clock: FakeClock, memberId = "01J00000000000000000MEMBER") {
  const ids = seededIds(clock, 5);
  return (text: string): MessageDraft => ({
    event: "broadcast",
    room: ROOM,
    id: ids(),
    member: "m",
    memberId,
    message: text,
    ts: clock.now,
  });
}

Deno.test("log order: a candidate above the last id is kept; one at or below becomes the next id", () => {
  const last = "01J8Z0000000000000000000ZZ";
  assert.equal(nextLogId(undefined, "01J8Z00000AAAAAAAAAAAAAAAA"), "01J8Z00000AAAAAAAAAAAAAAAA");
  assert.equal(nextLogId(last, "01J9000000000000000000000A"), "01J9000000000000000000000A");
  assert.equal(nextLogId(last, "01J8Y00000000000000000000A"), "01J8Z000000000000000000100");
  assert.equal(nextLogId(last, last), "01J8Z000000000000000000100", "never the same id twice");
  assert.equal(logTime(nextLogId(last, "01J8Y00000000000000000000A")), logTime(last));
});

/** A feed over a memory store, recording what it delivers. */
function feedOver(store: MemoryStore, options: { graceMs?: number; awaits?: Set<string> } = {}) {
  const delivered: FeedEntry[] = [];
  const feed = new RoomFeed({
    room: ROOM,
    store,
    graceMs: options.graceMs ?? 10,
    deliver: (entry) => delivered.push(entry),
    awaitsAck: (memberId) => options.awaits?.has(memberId) ?? false,
  });
  return { feed, delivered, seqs: () => delivered.map((e) => e.seq) };
}

const entry = storedEntry;

Deno.test("room feed: events offered out of order are delivered in seq order, each once", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore(LOTS, clock.read);
  const draft = draftMaker(clock);
  await store.appendMessage(draft("before the feed"));
  const { feed, seqs } = feedOver(store, { graceMs: 60_000 });
  await feed.ready;
  assert.equal(feed.startSeq, 1);
  const stored = [];
  for (let i = 0; i < 6; i++) stored.push(await store.appendMessage(draft(String(i))));
  for (const i of [2, 0, 4, 1, 1, 3, 5, 0]) feed.offer(entry(stored[i]));
  assert.deepEqual(seqs(), [2, 3, 4, 5, 6, 7]);
  feed.close();
});

Deno.test("room feed: a gap the bus does not fill is read from the store after the grace", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore(LOTS, clock.read);
  const draft = draftMaker(clock);
  const { feed, seqs } = feedOver(store, { graceMs: 5 });
  await feed.ready;
  const stored = [];
  for (let i = 0; i < 5; i++) stored.push(await store.appendMessage(draft(String(i))));
  feed.offer(entry(stored[0]));
  feed.offer(entry(stored[4])); // 2, 3 and 4 never come from the bus
  assert.deepEqual(seqs(), [1]);
  await eventually(() => seqs().length === 5, "the repair");
  assert.deepEqual(seqs(), [1, 2, 3, 4, 5]);
  assert.equal(feed.stats.repairs, 1);
  assert.equal(feed.stats.repaired, 4);
  feed.close();
});

Deno.test("room feed: a reported gap at the tail is read from the store at once", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore(LOTS, clock.read);
  const draft = draftMaker(clock);
  const { feed, seqs } = feedOver(store, { graceMs: 60_000 });
  await feed.ready;
  for (let i = 0; i < 3; i++) await store.appendMessage(draft(String(i)));
  feed.gap();
  await eventually(() => seqs().length === 3, "the repair");
  feed.close();
});

Deno.test("room feed: the store's copy of a local author's message waits for its acknowledgement", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore(LOTS, clock.read);
  const author = "01J0000000000000000AUTHOR1";
  const awaits = new Set([author]);
  const { feed, delivered } = feedOver(store, { graceMs: 60_000, awaits });
  await feed.ready;
  const mine = await store.appendMessage(draftMaker(clock, author)("mine"));
  feed.gap();
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(delivered, [], "held: the author's acknowledgement is still on its way");
  const acks: Outbound[] = [];
  awaits.clear();
  feed.offer(entry(mine, { connectionId: author, send: (out) => acks.push(out) }));
  const [first, ...rest] = delivered as FeedEntry[];
  assert.equal(rest.length, 0);
  assert.equal(first.ack?.connectionId, author, "delivered with the acknowledgement");
  feed.close();
});

Deno.test("room feed: what retention dropped before the node caught up is skipped, not awaited", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ maxMessages: 3, maxAgeMs: 0 }, clock.read);
  const draft = draftMaker(clock);
  const { feed, seqs } = feedOver(store, { graceMs: 60_000 });
  await feed.ready;
  for (let i = 0; i < 8; i++) await store.appendMessage(draft(String(i)));
  feed.gap();
  await eventually(() => seqs().length === 3, "the repair");
  assert.deepEqual(seqs(), [6, 7, 8]);
  feed.close();
});

Deno.test("local rooms: fan-out skips the actor; the author gets its acknowledgement even after leaving", () => {
  const clock = new FakeClock();
  const rooms = new LocalRooms();
  const got = new Map<string, unknown[]>();
  const member = (id: string) => {
    const sink: unknown[] = [];
    got.set(id, sink);
    return new LocalConnection(id, id, id, { send: (out) => sink.push(out.event) }, {
      perSecond: 1,
      burst: 1,
      clock: clock.read,
    });
  };
  const a = member("a");
  const b = member("b");
  assert.equal(rooms.enter(a, ROOM), true, "the first member opens the room here");
  assert.equal(rooms.enter(b, ROOM), false);
  const join = { event: { event: "join", room: ROOM, member: "b", memberId: "b" } } as const;
  rooms.fanout(ROOM, { ...join }, b);
  assert.equal(got.get("a")!.length, 1);
  assert.equal(got.get("b")!.length, 0);
  assert.equal(rooms.exit(a, ROOM), false);
  const message = { event: "broadcast", room: ROOM, seq: 1, id: "X", memberId: "a" } as ChatMessage;
  const acks: unknown[] = [];
  rooms.deliver(ROOM, entry(message, { connectionId: "a", send: (out) => acks.push(out.event) }));
  assert.deepEqual(acks, [message], "a left, and still gets its answer");
  assert.deepEqual(got.get("b")!.at(-1), message);
  assert.equal(rooms.exit(b, ROOM), true, "the last member closes the room here");
  assert.equal(rooms.has(ROOM), false);
});

Deno.test("room directory: by id or name, case-insensitively; a race on a name ends at the winner", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore(LOTS, clock.read);
  const one = new RoomDirectory(store, seededIds(clock, 1), clock.read);
  const two = new RoomDirectory(store, seededIds(clock, 2), clock.read);
  const made = await one.resolve("Porch", true);
  assert.equal((await two.resolve("porch", true)).id, made.id, "found, not made twice");
  assert.equal((await two.resolve(made.id.toLowerCase())).id, made.id);
  await assert.rejects(two.resolve("nowhere"), { code: "no_such_room" });
  await assert.rejects(two.resolve("  "), { code: "invalid_field" });
});

Deno.test("name settlement: the smallest member id keeps the name, every other holder yields", () => {
  const presence = new Presence();
  presence.add("01B", "sam", "n1");
  presence.add("01A", "Sam", "n2");
  presence.add("01C", "SAM", "n3");
  const losers = clashLosers(presence.holdersOf(nameKey("sam"))).map((m) => m.id).sort();
  assert.deepEqual(losers, ["01B", "01C"]);
  assert.deepEqual(clashLosers(presence.holdersOf(nameKey("nobody"))), []);
});

Deno.test("messages between nodes: what fits is typed, what does not is dropped", () => {
  assert.deepEqual(parsePresenceMessage({ t: "join", node: "n", id: "m", room: "r" }), {
    t: "join",
    node: "n",
    id: "m",
    room: "r",
  });
  assert.equal(parsePresenceMessage({ t: "join", node: "n", id: "m" }), undefined, "no room");
  assert.equal(parsePresenceMessage({ t: "join", id: "m", room: "r" }), undefined, "no node");
  assert.equal(parsePresenceMessage({ t: "beat", node: "n", n: "3" }), undefined);
  assert.equal(parsePresenceMessage({ t: "noise", node: "n" }), undefined);
  assert.equal(
    parsePresenceMessage({ t: "sync", node: "n", members: [{ id: "m", name: "x", rooms: [1] }] }),
    undefined,
    "a room that is not a string spoils the sync",
  );
  const message = {
    event: "broadcast",
    room: ROOM,
    id: "01J00000000000000000000001",
    member: "m",
    memberId: "M",
    message: "hi",
    ts: 1,
    seq: 1,
  };
  const stored = { t: "stored", room: ROOM, seq: 1, id: message.id, memberId: "M", text: "{}" };
  assert.deepEqual(parseRoomMessage(stored), stored);
  assert.equal(parseRoomMessage({ ...stored, seq: "1" }), undefined, "seq must be a number");
  assert.equal(parseRoomMessage({ ...stored, seq: 0 }), undefined, "seq starts at 1");
  assert.equal(parseRoomMessage({ ...stored, text: undefined }), undefined);
  assert.equal(parseRoomMessage({ id: "x", text: "{}" }), undefined, "the 0.1 shape");
});
