// The slot of a key, as Redis Cluster computes it: the published CRC16 check value and slots
// from the Redis Cluster specification, hash tags included. tests/redis/contracts.redis.ts checks
// it against CLUSTER KEYSLOT of a live cluster, edge cases included.
import { equal } from "node:assert/strict";
import { keySlot, SLOTS } from "../src/engines/redis/cluster_slots.ts";

Deno.test("keySlot: CRC16/XMODEM mod 16384, as the Redis Cluster specification gives", () => {
  // The specification's example: CRC16 of "123456789" is 0x31C3 (12739 < 16384).
  equal(keySlot("123456789"), 0x31c3 % SLOTS);
  equal(keySlot("foo"), 12182); // CLUSTER KEYSLOT foo
  equal(keySlot("bar"), 5061); // CLUSTER KEYSLOT bar
  equal(keySlot(""), 0);
});

Deno.test("keySlot: a hash tag decides the slot; an empty or unclosed one does not", () => {
  equal(keySlot("{user1000}.following"), keySlot("user1000"));
  equal(keySlot("chat:{r:01ABC}:head"), keySlot("chat:{r:01ABC}:ids"));
  equal(keySlot("chat:{r:01ABC}:head"), keySlot("r:01ABC"));
  equal(keySlot("foo{{bar}}zap"), keySlot("{bar"), "the first { to the next }");
});
