import assert from "node:assert/strict";
import { Client, closeAll, cluster, type Json, startServer } from "./_helpers.ts";

const meOf = (client: Client): Json => client.events.find((e) => e.event === "me")!;

Deno.test("once-only sends: a broadcast resent with its key after a reconnect is acknowledged with the first event, stored and delivered once", async () => {
  const server = await startServer();
  const watcher = await Client.connect(server.ws, { name: "watcher", room: "once" });
  let sender = await Client.connect(server.ws, { name: "sender", room: "once" });
  try {
    const first = await sender.request({ command: "broadcast", message: "only once", key: "k-1" });
    const session = String(meOf(sender).session);
    await sender.close();
    // The client did not see its acknowledgement (say): it resends everything unacknowledged.
    sender = await Client.connect(server.ws, { session, room: "once" });
    const again = await sender.request({ command: "broadcast", message: "only once", key: "k-1" });
    assert.equal(again.event, "broadcast");
    assert.deepEqual([again.id, again.seq], [first.id, first.seq], "the first event, as the ack");
    const third = await sender.request({ command: "broadcast", message: "another", key: "k-2" });
    assert.equal(third.seq, (first.seq as number) + 1);
    await watcher.next((e) => e.event === "broadcast" && e.message === "another");
    const seen = watcher.events.filter((e) => e.event === "broadcast").map((e) => e.message);
    assert.deepEqual(seen, ["only once", "another"], "delivered once");
    const page = await (await fetch(`${server.http}/rooms/once/messages`)).json();
    assert.deepEqual(page.messages.map((m: Json) => m.message), ["only once", "another"]);
    // The same key with another text is a mistake, not a new message.
    const reused = await sender.request({ command: "broadcast", message: "changed", key: "k-1" });
    assert.equal(reused.code, "key_reused");
    // Keys are the member's own: another member's k-1 is its own message.
    const other = await watcher.request({ command: "broadcast", message: "mine", key: "k-1" });
    assert.equal(other.message, "mine");
    const bad = await watcher.request({ command: "broadcast", message: "x", key: "" });
    assert.equal(bad.code, "invalid_field");
  } finally {
    await closeAll([watcher, sender]);
    await server.close();
  }
});

Deno.test("once-only sends hold across isolates: resent on another isolate, still one message", async () => {
  const { isolates: [a, b], close } = await cluster(2);
  const first = await Client.connect(a.ws, { name: "mover", room: "x" });
  try {
    const sent = await first.request({ command: "broadcast", message: "hello", key: "same" });
    const session = String(meOf(first).session);
    await first.close();
    const second = await Client.connect(b.ws, { session, room: "x" });
    const resent = await second.request({ command: "broadcast", message: "hello", key: "same" });
    assert.equal(resent.id, sent.id);
    const page = await (await fetch(`${b.http}/rooms/x/messages`)).json();
    assert.equal(page.messages.length, 1);
    await second.close();
  } finally {
    await close();
  }
});
