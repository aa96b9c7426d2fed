import assert from "node:assert/strict";
import { MemoryBus, MemoryNetwork } from "../src/engines/memory/memory_bus.ts";
import { ChatError } from "../src/core/errors.ts";
import { DEFAULT_SETTINGS } from "../src/config.ts";
import { Hub, type HubSettings } from "../src/core/hub.ts";
import type { LocalConnection } from "../src/core/local_connection.ts";
import type { Outbound } from "../src/core/types.ts";
import { encode } from "../src/wire/events.ts";
import { validateMessageText } from "../src/core/message.ts";
import {
  guestName,
  nameKey,
  uniqueName,
  validateDisplayName,
  validateRoomName,
} from "../src/core/names.ts";
import { RateLimiter } from "../src/core/rate_limiter.ts";
import { MemoryStore } from "../src/engines/memory/memory_store.ts";
import { FakeClock, seededIds } from "./_helpers.ts";

// The server's defaults (config.ts) with small limits; rooms are never swept here.
const SETTINGS: HubSettings = {
  ...DEFAULT_SETTINGS,
  roomIdleTtlSeconds: 0,
  maxMessageLength: 20,
  ratePerSecond: 2,
  rateBurst: 3,
  maxRoomsPerConnection: 3,
  heartbeatMs: 1000,
  presenceTimeoutMs: 5000,
};

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof ChatError ? error.code : "not a ChatError";
  }
  return undefined;
}

async function rejection(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return error instanceof ChatError ? error.code : "not a ChatError";
  }
  return undefined;
}

function makeHub(
  options: { clock?: FakeClock; network?: MemoryNetwork; seed?: number; store?: MemoryStore } = {},
) {
  const clock = options.clock ?? new FakeClock();
  const ids = seededIds(clock, options.seed);
  const store = options.store ?? new MemoryStore({ maxMessages: 100, maxAgeMs: 0 }, clock.read);
  const nodeId = ids();
  const hub = new Hub({
    store,
    bus: new MemoryBus(options.network, nodeId),
    clock: clock.read,
    ids,
    nodeId,
    settings: SETTINGS,
    encode,
  });
  hub.start({ timers: false });
  return { hub, clock, store };
}

class Sink {
  readonly events: Record<string, unknown>[] = [];
  readonly send = (out: Outbound) => this.events.push(JSON.parse(encode(out)));
  of(kind: string) {
    return this.events.filter((e) => e.event === kind);
  }
}

const flush = () => new Promise((r) => setTimeout(r, 0));

/** Joins as the transport does: the answer, then the held events. */
async function join(hub: Hub, member: LocalConnection, ref: string) {
  const joined = await hub.join(member, ref);
  await joined.flush();
  return joined;
}

Deno.test("display names are 1-50 characters after trimming, without control characters", () => {
  assert.equal(validateDisplayName("  ana  "), "ana");
  assert.equal(validateDisplayName("x".repeat(33)), "x".repeat(33), "seed 002's longer names fit");
  assert.equal(validateDisplayName("x".repeat(50)), "x".repeat(50));
  assert.equal(validateDisplayName("😀".repeat(50)), "😀".repeat(50));
  assert.equal(code(() => validateDisplayName("x".repeat(51))), "invalid_name");
  assert.equal(code(() => validateDisplayName("   ")), "invalid_name");
  assert.equal(code(() => validateDisplayName("a\nb")), "invalid_name");
  assert.equal(code(() => validateDisplayName("a\u0085b")), "invalid_name");
  assert.equal(code(() => validateRoomName("")), "invalid_field");
});

Deno.test("names are NFKC-normalised; invisible and direction-changing characters are refused", () => {
  assert.equal(validateDisplayName("ｆｕｌｌ"), "full", "full-width letters become plain ones");
  for (
    const bad of [
      "al\u200bice",
      "\u202eecila",
      "\u200b\u200b",
      "bob\u{e0041}",
      "x\ufeffy",
      "a\u2066b",
    ]
  ) {
    assert.equal(code(() => validateDisplayName(bad)), "invalid_name", JSON.stringify(bad));
  }
  assert.equal(code(() => validateRoomName("lo\u200dbby")), "invalid_field");
});

Deno.test("names that render blank, stack marks (Zalgo) or pass for the server are refused", () => {
  for (const blank of ["\u2800", "a\u2800b", "\u3164", "\u0301\u0301", "\u{1d159}"]) {
    assert.equal(code(() => validateDisplayName(blank)), "invalid_name", JSON.stringify(blank));
    assert.equal(code(() => validateRoomName(blank)), "invalid_field", JSON.stringify(blank));
  }
  assert.equal(validateDisplayName("José"), "José", "one mark is fine");
  assert.equal(validateDisplayName("Việt"), "Việt", "two marks on one letter are fine");
  assert.equal(code(() => validateDisplayName("z\u0301\u0302\u0303o")), "invalid_name");
  assert.equal(
    validateDisplayName("山田\u3000太郎"),
    "山田 太郎",
    "an ideographic space inside (NFKC: a space)",
  );
  for (const server of ["Server", "server", "SERVER", "Ѕerver"]) {
    assert.equal(code(() => validateDisplayName(server)), "invalid_name", server);
  }
  assert.equal(validateDisplayName("Servers"), "Servers");
});

Deno.test("a letter outside ASCII that looks like an ASCII one is that one, whatever its case: Ɩobby is lobby", () => {
  assert.equal(nameKey("Ɩobby"), nameKey("lobby"), "Latin capital iota looks like l");
  assert.equal(nameKey("АNNA"), nameKey("anna"), "Cyrillic capital A");
  assert.equal(nameKey("Ian"), nameKey("ian"), "ASCII keeps its case folding");
});

Deno.test("names that look the same share one key: Cyrillic а beside Latin a, 1 beside l, any case", () => {
  assert.equal(nameKey("аlice"), nameKey("alice"));
  assert.equal(nameKey("ALICE"), nameKey("alice"));
  assert.equal(nameKey("paypa1"), nameKey("paypal"));
  assert.notEqual(nameKey("alice"), nameKey("alicia"));
  const taken = new Set([nameKey("alice")]);
  assert.equal(uniqueName("аlice", (k) => taken.has(k)), "аlice-2", "the look-alike gets a suffix");
});

Deno.test("a taken name gets the first free suffix and still fits in 50 characters", () => {
  const taken = new Set(["alice", "alice-2"]);
  assert.equal(uniqueName("bob", (k) => taken.has(k)), "bob");
  assert.equal(uniqueName("Alice", (k) => taken.has(k)), "Alice-3");
  const long = "y".repeat(50);
  const named = uniqueName(long, (k) => k === long);
  assert.equal(named, `${"y".repeat(48)}-2`);
  assert.match(guestName(() => 0.5), /^guest-8000$/);
});

Deno.test("message text must be non-blank and within the limit", () => {
  assert.equal(validateMessageText("hi", 2), "hi");
  assert.equal(validateMessageText("😀😀", 2), "😀😀");
  assert.equal(code(() => validateMessageText("   ", 2)), "invalid_field");
  assert.equal(code(() => validateMessageText("abc", 2)), "too_large");
});

Deno.test("the rate limiter allows a burst, then the sustained rate", () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter(2, 3, clock.read);
  assert.deepEqual([1, 2, 3, 4].map(() => limiter.take()), [true, true, true, false]);
  clock.advance(499);
  assert.equal(limiter.take(), false);
  clock.advance(1);
  assert.equal(limiter.take(), true);
  assert.equal(limiter.take(), false);
  clock.advance(10_000);
  assert.deepEqual([1, 2, 3, 4].map(() => limiter.take()), [true, true, true, false]);
});

Deno.test("rooms are found by id or by name, case-insensitively, and created on demand", async () => {
  const { hub } = makeHub();
  const created = await hub.createRoom("  Garden ");
  assert.equal(created.name, "Garden");
  assert.equal((await hub.resolveRoom(created.id)).id, created.id);
  assert.equal((await hub.resolveRoom(created.id.toLowerCase())).id, created.id);
  assert.equal((await hub.resolveRoom("GARDEN")).id, created.id);
  assert.equal(await rejection(hub.resolveRoom("nowhere")), "no_such_room");
  assert.equal(await rejection(hub.createRoom("garden")), "room_exists");
  const made = await hub.resolveRoom("kitchen", true);
  assert.equal(made.name, "kitchen");
  hub.close();
});

Deno.test("join and leave update the member list and tell the others", async () => {
  const { hub } = makeHub();
  const a = new Sink();
  const b = new Sink();
  const alice = await hub.connect(a, "alice");
  const bob = await hub.connect(b, "bob");
  const joined = await join(hub, alice, "den");
  assert.deepEqual(joined.members, ["alice"]);
  const second = await join(hub, bob, "den");
  assert.deepEqual(second.members, ["alice", "bob"]);
  assert.deepEqual(a.of("join").map((e) => e.member), ["bob"]);
  assert.deepEqual(b.of("join"), []);
  await hub.leave(bob, "den");
  assert.deepEqual(a.of("leave").map((e) => e.member), ["bob"]);
  assert.equal(await rejection(hub.leave(bob, "den")), "not_in_room");
  hub.disconnect(alice);
  assert.equal(hub.presence.countOf(joined.room.id), 0);
  hub.close();
});

Deno.test("a connection may be in a bounded number of rooms", async () => {
  const { hub } = makeHub();
  const alice = await hub.connect(new Sink(), "alice");
  for (const room of ["a", "b", "c"]) await join(hub, alice, room);
  assert.equal(await rejection(hub.join(alice, "d")), "too_many_rooms");
  await join(hub, alice, "a"); // joining a room again is not a new room
  hub.close();
});

Deno.test("broadcast validates, rate-limits, stores, then delivers to the others", async () => {
  const { hub, store, clock } = makeHub();
  const a = new Sink();
  const b = new Sink();
  const alice = await hub.connect(a, "alice");
  const bob = await hub.connect(b, "bob");
  const room = (await join(hub, alice, "den")).room.id;
  await join(hub, bob, "den");
  const stored = await hub.sendMessage(alice, "hello");
  assert.equal(stored.ts, clock.now);
  assert.deepEqual(b.of("broadcast"), [{ ...stored }]);
  assert.deepEqual(a.of("broadcast"), [], "the sender's copy is the acknowledgement");
  assert.equal(await rejection(hub.sendMessage(alice, "x".repeat(21))), "too_large");
  assert.equal(await rejection(hub.sendMessage(alice, "   ")), "invalid_field");
  await hub.sendMessage(alice, "two");
  await hub.sendMessage(alice, "three");
  assert.equal(await rejection(hub.sendMessage(alice, "four")), "rate_limited");
  const page = await store.readMessages(room, { limit: 10 });
  assert.deepEqual(page.messages.map((m) => m.message), ["hello", "two", "three"]);
  clock.advance(500);
  await hub.sendMessage(alice, "later");
  hub.close();
});

Deno.test("a failing store refuses the message and delivers nothing", async () => {
  const { hub, store } = makeHub();
  const b = new Sink();
  const alice = await hub.connect(new Sink(), "alice");
  const bob = await hub.connect(b, "bob");
  await join(hub, alice, "den");
  await join(hub, bob, "den");
  await store.close();
  assert.equal(await rejection(hub.sendMessage(alice, "lost")), "store_failed");
  assert.deepEqual(b.of("broadcast"), []);
  hub.close();
});

Deno.test("nodes on one bus share presence, and a silent node's members are dropped", async () => {
  const network = new MemoryNetwork();
  const clock = new FakeClock();
  const store = new MemoryStore({ maxMessages: 100, maxAgeMs: 0 }, clock.read);
  const one = makeHub({ network, clock, store, seed: 1 });
  const two = makeHub({ network, clock, store, seed: 2 });
  const a = new Sink();
  const alice = await one.hub.connect(a, "alice");
  await join(one.hub, alice, "den");
  await flush();
  const bob = await two.hub.connect(new Sink(), "bob");
  const joined = await join(two.hub, bob, "den");
  assert.deepEqual(joined.members, ["alice", "bob"]);
  await flush();
  assert.deepEqual(a.of("join").map((e) => e.member), ["bob"]);
  // Node two goes silent (no bye, no heartbeats); node one keeps ticking.
  for (let i = 0; i < 5; i++) {
    clock.advance(1000);
    one.hub.tick();
  }
  assert.deepEqual(a.of("leave"), []);
  clock.advance(1001);
  one.hub.tick();
  assert.deepEqual(a.of("leave").map((e) => e.member), ["bob"]);
  assert.equal(one.hub.presence.countOf(joined.room.id), 1);
  one.hub.close();
  two.hub.close();
});

Deno.test("the same name taken on two nodes at once is settled: the older member keeps it", async () => {
  const network = new MemoryNetwork();
  const clock = new FakeClock();
  const store = new MemoryStore({ maxMessages: 100, maxAgeMs: 0 }, clock.read);
  const one = makeHub({ network, clock, store, seed: 1 });
  const two = makeHub({ network, clock, store, seed: 2 });
  const s1 = new Sink();
  const s2 = new Sink();
  // At once: neither node has heard of the other's member when it picks the name.
  const [first, second] = await Promise.all([
    one.hub.connect(s1, "sam"),
    two.hub.connect(s2, "sam"),
  ]);
  await flush();
  const [keeper, renamed] = first.id < second.id ? [first, second] : [second, first];
  const renamedSink = renamed === first ? s1 : s2;
  assert.equal(keeper.name, "sam");
  assert.equal(renamed.name, "sam-2");
  assert.deepEqual(renamedSink.of("me").map((e) => e.member), ["sam-2"]);
  await flush();
  assert.equal(one.hub.presence.get(renamed.id)?.name, "sam-2");
  assert.equal(two.hub.presence.get(renamed.id)?.name, "sam-2");
  one.hub.close();
  two.hub.close();
});

Deno.test("a member renamed while in a room is announced to the room with renamed", async () => {
  const network = new MemoryNetwork();
  const clock = new FakeClock();
  const store = new MemoryStore({ maxMessages: 100, maxAgeMs: 0 }, clock.read);
  const one = makeHub({ network, clock, store, seed: 3 });
  const two = makeHub({ network, clock, store, seed: 4 });
  await one.hub.createRoom("den");
  const watcher = new Sink();
  await join(one.hub, await one.hub.connect(watcher, "watcher"), "den");
  await flush();
  // The two nodes cannot hear each other while both admit "kim" and put her in the room.
  network.pause();
  const s1 = new Sink();
  const s2 = new Sink();
  const first = await one.hub.connect(s1, "kim");
  const second = await two.hub.connect(s2, "kim");
  await join(one.hub, first, "den");
  await join(two.hub, second, "den");
  network.resume();
  await flush();
  const loser = first.id < second.id ? second : first;
  assert.equal(loser.name, "kim-2");
  const renamed = watcher.of("renamed");
  assert.deepEqual(renamed, [{
    event: "renamed",
    room: (await one.hub.resolveRoom("den")).id,
    memberId: loser.id,
    from: "kim",
    to: "kim-2",
  }]);
  const names = one.hub.presence.membersOf(renamed[0].room as string).map((m) => m.name);
  assert.deepEqual(names.sort(), ["kim", "kim-2", "watcher"]);
  one.hub.close();
  two.hub.close();
});

Deno.test("a node's full state travels in parts and is applied whole, once every part is in", async () => {
  const network = new MemoryNetwork();
  const clock = new FakeClock();
  const store = new MemoryStore({ maxMessages: 100, maxAgeMs: 0 }, clock.read);
  const one = makeHub({ network, clock, store, seed: 1 });
  for (let i = 0; i < 450; i++) await one.hub.connect(new Sink(), `m${i}`);
  await flush();
  const parts: unknown[] = [];
  const spy = new MemoryBus(network, "spy");
  spy.subscribe("presence", (m) => m.t === "sync" && parts.push([m.part, m.parts]));
  const two = makeHub({ network, clock, store, seed: 2 }); // says hello; one answers in 3 parts
  await flush();
  await flush();
  const seen = two.hub.presence.membersOn(one.hub.nodeId).map((m) => m.name);
  assert.equal(seen.length, 450);
  assert.equal(new Set(seen).size, 450);
  assert.deepEqual(parts.slice(0, 3), [[0, 3], [1, 3], [2, 3]]);
  spy.close();
  one.hub.close();
  two.hub.close();
});
