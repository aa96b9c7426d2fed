import assert from "node:assert/strict";
import { BroadcastChannelBus } from "../src/engines/kv/broadcast_channel_bus.ts";
import { Client, closeAll, eventually, Isolate, uniqueNamespace } from "./_helpers.ts";

// Deno's BroadcastChannel drops posts for an isolate that lags by a few hundred of them. These
// tests make an isolate lag on purpose and check that the loss is detected and repaired.

Deno.test("presence updates lost by a lagging isolate are recovered by a full resync", async () => {
  const dir = await Deno.makeTempDir();
  const namespace = uniqueNamespace();
  const options = {
    kvPath: `${dir}/chat.kv`,
    busNamespace: namespace,
    log: "off",
    maxConnectionsPerAddress: 1000, // every client of this test comes from 127.0.0.1
  };
  const lagging = await Isolate.start(options);
  const busy = await Isolate.start(options);
  const watcher = await Client.connect(lagging.ws, { name: "watcher", room: "crowd" });
  const noise = new BroadcastChannelBus(namespace);
  const crowd: Client[] = [];
  try {
    const blocked = lagging.block(1000);
    // While the isolate is busy: 30 members join elsewhere, amid 2000 unrelated presence posts.
    for (let i = 0; i < 30; i++) {
      crowd.push(await Client.connect(busy.ws, { name: `m${i}`, room: "crowd" }));
    }
    for (let i = 0; i < 2000; i++) {
      noise.publish("presence", { t: "noise", node: "probe", i });
      await Promise.resolve();
    }
    await blocked;
    await eventually(
      async () => {
        const list = await watcher.request({ command: "list" });
        return (list.members as string[]).length === 31;
      },
      "the lagging isolate to see all 31 members",
      10_000,
    );
    const stats = await lagging.stats();
    assert.ok(Number(stats.presenceResyncs) > 0, "the loss was detected and resynced");
  } finally {
    noise.close();
    await closeAll([watcher, ...crowd]);
    await lagging.stop();
    await busy.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("messages the bus lost are repaired from the store, exactly once and none missing", async () => {
  const dir = await Deno.makeTempDir();
  const options = {
    kvPath: `${dir}/chat.kv`,
    busNamespace: uniqueNamespace(),
    ratePerSecond: 1e6,
    rateBurst: 1e6,
  };
  const sending = await Isolate.start(options);
  const lagging = await Isolate.start(options);
  const alice = await Client.connect(sending.ws, { name: "alice", room: "flood" });
  const bob = await Client.connect(lagging.ws, { name: "bob", room: "flood" });
  try {
    const blocked = lagging.block(1500);
    // One message per turn of alice's isolate: each crosses as its own packet.
    for (let i = 0; i < 1500; i++) {
      alice.send({ command: "broadcast", message: String(i) });
      if (i % 3 === 0) await new Promise((r) => setTimeout(r, 0));
    }
    await alice.waitFor((e) => e.message === "1499", 20_000);
    await blocked;
    await eventually(() => bob.broadcasts().length >= 1500, "every message at bob", 15_000);
    const got = bob.broadcasts().map((m) => String(m.message));
    assert.equal(got.length, 1500);
    assert.equal(new Set(got).size, 1500, "no duplicate");
    const stats = await lagging.stats();
    console.log(`  repaired ${stats.messagesRepaired} messages in ${stats.gapRepairs} repairs`);
    assert.ok(Number(stats.gapRepairs) > 0, "the bus lost packets and the hub repaired them");
  } finally {
    await alice.close();
    await bob.close();
    await sending.stop();
    await lagging.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
