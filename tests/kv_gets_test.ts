import assert from "node:assert/strict";
import { KvGets, kvGets } from "../src/engines/kv/kv_gets.ts";

/** A real KV (`:memory:`) whose `getMany` calls are counted, with the keys of each. */
async function countedKv() {
  const kv = await Deno.openKv(":memory:");
  const calls: Deno.KvKey[][] = [];
  const getMany = kv.getMany.bind(kv);
  const counted = new Proxy(kv, {
    get(target, name) {
      if (name === "getMany") {
        return (keys: Deno.KvKey[]) => (calls.push(keys), getMany(keys));
      }
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv, counted, calls };
}

Deno.test("kv gets: a read alone goes at once; reads asked meanwhile go together, ten keys a call", async () => {
  const { kv, counted, calls } = await countedKv();
  try {
    for (let i = 0; i < 25; i++) await kv.set(["k", i], i);
    const gets = new KvGets(counted);
    const reads = Array.from({ length: 25 }, (_, i) => gets.get<number>(["k", i]));
    const values = (await Promise.all(reads)).map((entry) => entry.value);
    assert.deepEqual(values, Array.from({ length: 25 }, (_, i) => i));
    // The first went alone, the 24 asked while it was on its way in calls of 10, 10 and 4.
    assert.deepEqual(calls.map((keys) => keys.length), [1, 10, 10, 4]);
  } finally {
    kv.close();
  }
});

Deno.test("kv gets: the same key asked many times together is read once", async () => {
  const { kv, counted, calls } = await countedKv();
  try {
    await kv.set(["access", "room"], { bans: ["x"] });
    const gets = new KvGets(counted);
    const first = gets.get(["other"]);
    const same = Array.from({ length: 50 }, () => gets.get(["access", "room"]));
    await first;
    for (const entry of await Promise.all(same)) assert.deepEqual(entry.value, { bans: ["x"] });
    assert.deepEqual(calls.map((keys) => keys.length), [1, 1]);
  } finally {
    kv.close();
  }
});

Deno.test("kv gets: a read asked after a commit sees it, even with a read of the key on its way", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await kv.set(["access", "room"], "before");
    const gets = new KvGets(kv);
    const early = gets.get<string>(["access", "room"]); // on its way
    await kv.set(["access", "room"], "after"); // committed before the next read is asked
    const late = gets.get<string>(["access", "room"]);
    assert.equal((await late).value, "after");
    assert.ok(["before", "after"].includes((await early).value!));
  } finally {
    kv.close();
  }
});

Deno.test("kv gets: a refused read rejects its own callers only", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await kv.set(["fine"], 1);
    const gets = new KvGets(kv);
    const tooLong = gets.get(["x".repeat(5000)]); // over Deno KV's key size: refused
    const fine = gets.get<number>(["fine"]);
    await assert.rejects(tooLong);
    assert.equal((await fine).value, 1);
    // And it goes on reading afterwards.
    assert.equal((await gets.get<number>(["fine"])).value, 1);
  } finally {
    kv.close();
  }
});

Deno.test("kv gets: one per KV handle", async () => {
  const a = await Deno.openKv(":memory:");
  const b = await Deno.openKv(":memory:");
  try {
    assert.equal(kvGets(a), kvGets(a));
    assert.notEqual(kvGets(a), kvGets(b));
  } finally {
    a.close();
    b.close();
  }
});
