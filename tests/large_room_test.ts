import { deepEqual, equal, ok } from "node:assert/strict";
import { PresenceDiffs } from "../src/core/presence_diffs.ts";
import type { PresenceDiffEvent } from "../src/core/types.ts";
import { Client, closeAll, type Json, startServer, TextClient } from "./_helpers.ts";

Deno.test("presence diffs: a window's joins and leaves go out as one event per room; a join and a leave of one member cancel out", () => {
  const sent: [string, PresenceDiffEvent][] = [];
  const diffs = new PresenceDiffs({
    delayMs: 60_000, // flushed by hand below
    count: () => 7,
    send: (room, event) => sent.push([room, event]),
  });
  try {
    diffs.add("join", "r1", { member: "a", memberId: "A" });
    diffs.add("join", "r1", { member: "b", memberId: "B" });
    diffs.add("leave", "r1", { member: "a", memberId: "A" });
    diffs.add("leave", "r1", { member: "c", memberId: "C" });
    diffs.add("join", "r2", { member: "d", memberId: "D" });
    diffs.flush();
    deepEqual(sent, [
      ["r1", {
        event: "presence_diff",
        room: "r1",
        joins: [{ member: "b", memberId: "B" }],
        leaves: [{ member: "c", memberId: "C" }],
        count: 7,
      }],
      ["r2", {
        event: "presence_diff",
        room: "r2",
        joins: [{ member: "d", memberId: "D" }],
        leaves: [],
        count: 7,
      }],
    ]);
    diffs.flush();
    equal(sent.length, 2, "nothing pending, nothing sent");
  } finally {
    diffs.close();
  }
});

Deno.test("a large room: joins and leaves arrive as presence_diff events, joined and list give pages of names with the count", async () => {
  const server = await startServer({
    largeRoom: 3,
    presenceDiffMs: 30,
    maxConnectionsPerAddress: 100, // every client of this test comes from 127.0.0.1
  });
  const clients: Client[] = [];
  const text = await TextClient.open(server.ws, { wire: "text", name: "reader", room: "big" });
  await text.next((line) => line === "Server: reader has joined the chat");
  try {
    const first = await Client.connect(server.ws, { name: "m0", room: "big" });
    clients.push(first);
    // m0 and reader make 2: the next member is announced one by one.
    clients.push(await Client.connect(server.ws, { name: "m1", room: "big" }));
    await first.waitFor((e) => e.event === "join" && e.member === "m1");
    // From the 4th member on, the room is large: arrivals are gathered.
    for (let i = 2; i < 8; i++) {
      clients.push(Client.open(server.ws, { name: `m${i}`, room: "big" }));
    }
    await Promise.all(clients.map((c) => c.waitFor((e) => e.event === "joined")));
    const arrived = new Set<string>();
    while (arrived.size < 6) {
      const diff = await first.next((e) => e.event === "presence_diff");
      for (const j of diff.joins as Json[]) arrived.add(String(j.member));
      ok(Number(diff.count) >= 4);
    }
    deepEqual([...arrived].sort(), ["m2", "m3", "m4", "m5", "m6", "m7"]);
    equal(first.events.filter((e) => e.event === "join").length, 1, "only m1 came one by one");
    // The last to come got a page of names, the count, and `more`.
    const last = clients[7].events.find((e) => e.event === "joined")!;
    equal((last.members as string[]).length, 3);
    equal(last.count, 9);
    equal(last.more, true);
    const names: string[] = [];
    for (let offset = 0;;) {
      const page = await first.request({ command: "list", offset });
      names.push(...page.members as string[]);
      equal(page.count, 9);
      equal(page.offset, offset);
      if (!page.more) break;
      offset += (page.members as string[]).length;
    }
    deepEqual(names.sort(), ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "reader"]);
    const bad = await first.request({ command: "list", offset: -1 });
    equal(bad.code, "invalid_field");
    // The text wire still gets one line per arrival.
    await text.next((line) => line === "Server: m7 has joined the chat");
    // Leaves are gathered too.
    await Promise.all(clients.slice(4).map((c) => c.close()));
    const gone = new Set<string>();
    while (gone.size < 4) {
      const diff = await first.next((e) => e.event === "presence_diff");
      for (const l of diff.leaves as Json[]) gone.add(String(l.member));
    }
    deepEqual([...gone].sort(), ["m4", "m5", "m6", "m7"]);
  } finally {
    await closeAll(clients);
    await text.close();
    await server.close();
  }
});
