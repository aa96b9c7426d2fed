import assert from "node:assert/strict";
import { Client, cluster, type Json, startServer } from "./_helpers.ts";

type Summary = { name: string; members: number };

/** The next `rooms` event whose list shows `name` with `members`. */
function roomsShowing(client: Client, name: string, members: number): Promise<Json> {
  return client.next((e) =>
    e.event === "rooms" &&
    (e.rooms as Summary[]).some((r) => r.name === name && r.members === members)
  );
}

Deno.test("rooms: the answer is the list; a watcher is sent it again when counts change or a room is made, once per burst, never unchanged", async () => {
  const server = await startServer({ maxConnectionsPerAddress: 100 });
  try {
    const watcher = await Client.connect(server.ws, { name: "watcher" });
    const first = await watcher.request({ command: "rooms" });
    assert.deepEqual((first.rooms as Summary[]).map(({ name, members }) => ({ name, members })), [
      { name: "lobby", members: 1 },
    ]);
    // Ten people arrive in a new room at once: the watcher hears the end state, in few events.
    const crowd = await Promise.all(
      Array.from(
        { length: 10 },
        (_, i) => Client.connect(server.ws, { name: `p${i}`, room: "party" }),
      ),
    );
    await roomsShowing(watcher, "party", 10);
    const pushes = watcher.events.filter((e) => e.event === "rooms" && e.re === undefined);
    assert.ok(pushes.length <= 4, `${pushes.length} pushes for one burst of 10 joins`);
    // A room made over HTTP shows up.
    const made = await fetch(`${server.http}/rooms`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "announced" }),
    });
    assert.equal(made.status, 201);
    await roomsShowing(watcher, "announced", 0);
    // Leaving lowers the count.
    await Promise.all(crowd.map((c) => c.close()));
    await roomsShowing(watcher, "party", 0);
    // Someone who did not ask is never sent the list.
    const quiet = await Client.connect(server.ws, { name: "quiet", room: "party" });
    await roomsShowing(watcher, "party", 1);
    assert.equal(quiet.events.filter((e) => e.event === "rooms").length, 0);
    const lists = watcher.events.filter((e) => e.event === "rooms").map((e) =>
      JSON.stringify(e.rooms)
    );
    for (let i = 1; i < lists.length; i++) {
      assert.notEqual(lists[i], lists[i - 1], "sent unchanged");
    }
    await Promise.all([watcher.close(), quiet.close()]);
  } finally {
    await server.close();
  }
});

Deno.test("rooms: a watcher on one isolate sees joins and leaves made on another", async () => {
  const c = await cluster(2);
  try {
    const [a, b] = c.isolates;
    const watcher = await Client.connect(`ws://127.0.0.1:${a.port}/ws`, { name: "watcher" });
    await watcher.request({ command: "rooms" });
    const far = await Client.connect(`ws://127.0.0.1:${b.port}/ws`, {
      name: "far",
      room: "elsewhere",
    });
    await roomsShowing(watcher, "elsewhere", 1);
    await far.close();
    await roomsShowing(watcher, "elsewhere", 0);
    await watcher.close();
  } finally {
    await c.close();
  }
});
