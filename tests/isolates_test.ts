import assert from "node:assert/strict";
import { Client, closeAll, cluster, eventually, type Json } from "./_helpers.ts";

/**
 * The cross-isolate suite, run once per bus that spans isolates: `BroadcastChannel` (the default
 * locally) and Deno KV watches (`CHAT_BUS=kv`, the default on Deno Deploy).
 */
function crossIsolateSuite(label: string, extra: Record<string, unknown>): void {
  Deno.test(`${label}: members on different isolates see one chat: broadcasts both ways, list, join, leave`, async () => {
    const { isolates: [a, b], close } = await cluster(2, extra);
    const alice = await Client.connect(a.ws, { name: "alice", room: "general" });
    // Presence crosses isolates in a bus round trip (a KV watch takes a few ms more).
    await eventually(async () => {
      const room = await (await fetch(`${b.http}/rooms/general`)).json();
      return room.members?.includes("alice");
    }, "b to know alice");
    const bob = await Client.connect(b.ws, { name: "bob", room: "general" });
    try {
      assert.equal(bob.events[1].room, alice.events[1].room, "one room across isolates");
      assert.deepEqual(bob.events[1].members, ["alice", "bob"]);
      const join = await alice.next((e) => e.event === "join");
      assert.equal(join.member, "bob");

      await alice.request({ command: "broadcast", message: "from a" });
      assert.equal((await bob.next((e) => e.event === "broadcast")).message, "from a");
      await bob.request({ command: "broadcast", message: "from b" });
      assert.equal((await alice.next((e) => e.event === "broadcast")).message, "from b");

      const list = await alice.request({ command: "list" });
      assert.deepEqual(list.members, ["alice", "bob"]);
      const rooms = await (await fetch(`${a.http}/rooms`)).json();
      assert.equal(rooms.find((r: Json) => r.name === "general").members, 2);
      const details = await (await fetch(`${a.http}/rooms/general`)).json();
      assert.deepEqual(details.members, ["alice", "bob"]);

      await bob.request({ command: "leave", room: "general" });
      const leave = await alice.next((e) => e.event === "leave");
      assert.equal(leave.member, "bob");
      await bob.close();
      let members: unknown = [];
      await eventually(
        async () => {
          members = (await alice.request({ command: "list" })).members;
          return JSON.stringify(members) === '["alice"]';
        },
        `bob to be gone from the list (${JSON.stringify(members)})`,
        2000,
      );
    } finally {
      await closeAll([alice, bob]);
      await close();
    }
  });

  Deno.test(`${label}: a clean close on one isolate is seen at once on the others`, async () => {
    const { isolates: [a, b], close } = await cluster(2, { ...extra, presenceTimeoutMs: 60_000 });
    const alice = await Client.connect(a.ws, { name: "alice" });
    const bob = await Client.connect(b.ws, { name: "bob" });
    try {
      await alice.next((e) => e.event === "join" && e.member === "bob");
      await bob.close();
      // The presence timeout is a minute: only the clean close can explain a prompt leave.
      const leave = await alice.next((e) => e.event === "leave", 2000);
      assert.equal(leave.member, "bob");
    } finally {
      await closeAll([alice, bob]);
      await close();
    }
  });

  Deno.test(`${label}: an isolate that shuts down cleanly has its members leave everywhere within 5 s`, async () => {
    // The presence timeout is a minute: only the goodbye can explain a prompt leave.
    const { isolates: [a, b], close } = await cluster(2, { ...extra, presenceTimeoutMs: 60_000 });
    const alice = await Client.connect(a.ws, { name: "alice" });
    const bob = await Client.connect(b.ws, { name: "bob" });
    try {
      await alice.next((e) => e.event === "join" && e.member === "bob");
      const stopping = Date.now();
      await b.stop(); // what SIGINT does: sockets closed with 1001, goodbye, store flushed
      const leave = await alice.next((e) => e.event === "leave" && e.member === "bob", 5000);
      assert.ok(Date.now() - stopping < 5000, "within Deno Deploy's 5 s");
      assert.equal(leave.member, "bob");
      assert.equal((await bob.closed).code, 1001);
    } finally {
      await closeAll([alice, bob]);
      await close();
    }
  });

  Deno.test(`${label}: the same name asked on two isolates at the same moment ends as two names within 2 s`, async () => {
    const { isolates: [a, b], close } = await cluster(2, extra);
    const watcher = await Client.connect(a.ws, { name: "watcher", room: "race" });
    const pairs: [Client, Client][] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const name = `sam${i}`;
        const one = Client.open(a.ws, { name, room: "race" });
        const two = Client.open(b.ws, { name, room: "race" });
        pairs.push([one, two]);
      }
      const started = Date.now();
      const currentName = (c: Client) =>
        String(c.events.filter((e) => e.event === "me").at(-1)?.member);
      for (const [one, two] of pairs) {
        await Promise.all([
          one.next((e) => e.event === "joined"),
          two.next((e) => e.event === "joined"),
        ]);
      }
      let raced = 0;
      for (const [one, two] of pairs) {
        const deadline = started + 2000;
        while (currentName(one).toLowerCase() === currentName(two).toLowerCase()) {
          assert.ok(Date.now() < deadline, `names still equal: ${currentName(one)}`);
          await Promise.race([
            one.next((e) => e.event === "me", deadline - Date.now()),
            two.next((e) => e.event === "me", deadline - Date.now()),
          ]).catch(() => {});
        }
        for (const c of [one, two]) {
          const mes = c.events.filter((e) => e.event === "me");
          if (mes.length > 1) {
            raced++;
            // The room hears the final name: by the documented `renamed` event when the member
            // was already in the room, or in its `join` when the rename came first.
            const heard = await watcher.waitFor((e) =>
              e.memberId === c.me.id &&
              ((e.event === "renamed" && e.to === currentName(c)) ||
                (e.event === "join" && e.member === currentName(c)))
            );
            if (heard.event === "renamed") assert.equal(heard.from, mes[0].member);
          }
        }
      }
      // Every connected member now has a distinct name, as everyone sees it (over KV, presence
      // arrives a watch round trip later: within the same 2 s).
      let members: string[] = [];
      await eventually(
        async () => {
          members = (await watcher.request({ command: "list" })).members as string[];
          return members.length === 11;
        },
        "the watcher to list all 11",
        Math.max(100, started + 2000 - Date.now()),
      );
      const names = members.map((n) => n.toLowerCase());
      assert.equal(new Set(names).size, 11, JSON.stringify(members));
      console.log(`  ${raced} of 5 simultaneous pairs raced and were renamed`);
    } finally {
      await closeAll([watcher, ...pairs.flat()]);
      await close();
    }
  });

  Deno.test(`${label}: members of an isolate that dies without a word leave everywhere within the deadline`, async () => {
    const { isolates: [a, b], close } = await cluster(2, extra);
    const alice = await Client.connect(a.ws, { name: "alice" });
    const bob = Client.open(b.ws, { name: "bob" });
    try {
      await bob.next((e) => e.event === "joined");
      await alice.next((e) => e.event === "join" && e.member === "bob");
      const killedAt = Date.now();
      b.kill();
      const leave = await alice.next((e) => e.event === "leave", 5000);
      const took = Date.now() - killedAt;
      assert.equal(leave.member, "bob");
      // presenceTimeoutMs is 1500 with 200 ms heartbeats: the leave comes after the silence,
      // not before and not much later.
      assert.ok(took <= 1500 + 2 * 200 + 500, `leave took ${took} ms`);
      const list = await alice.request({ command: "list" });
      assert.deepEqual(list.members, ["alice"]);
    } finally {
      await alice.close();
      bob.socket.close();
      await close();
    }
  });

  Deno.test(`${label}: a new isolate learns who is already there`, async () => {
    const c = await cluster(1, extra);
    const [a] = c.isolates;
    const alice = await Client.connect(a.ws, { name: "alice", room: "den" });
    try {
      const b = await c.add();
      // It asks everyone for their state as soon as it listens (with KV, once its watch is live).
      await eventually(
        async () => {
          const rooms = await (await fetch(`${b.http}/rooms`)).json();
          return rooms.find((r: Json) => r.name === "den")?.members === 1;
        },
        "the new isolate to count alice in den",
        2000,
      );
      const bob = await Client.connect(b.ws, { name: "alice", room: "den" });
      assert.equal(bob.me.member, "alice-2", "the name taken on the other isolate is known");
      assert.deepEqual(bob.events[1].members, ["alice", "alice-2"]);
      await bob.close();
    } finally {
      await alice.close();
      await c.close();
    }
  });

  Deno.test(`${label}: per-sender order holds across isolates under a burst of 500 messages`, async () => {
    const { isolates: [a, b], close } = await cluster(2, extra);
    const sender = await Client.connect(a.ws, { name: "sender", room: "burst" });
    const local = await Client.connect(a.ws, { name: "local", room: "burst" });
    const remote = await Client.connect(b.ws, { name: "remote", room: "burst" });
    try {
      for (let i = 0; i < 500; i++) sender.send({ command: "broadcast", message: String(i) });
      await remote.waitFor((e) => e.message === "499", 20_000);
      await local.waitFor((e) => e.message === "499", 20_000);
      const expected = Array.from({ length: 500 }, (_, i) => String(i));
      assert.deepEqual(remote.broadcasts().map((m) => m.message), expected);
      assert.deepEqual(local.broadcasts().map((m) => m.message), expected);
      const ids = remote.broadcasts().map((m) => String(m.id));
      assert.deepEqual([...ids].sort(), ids, "ids increase in send order");
      assert.equal(new Set(ids).size, 500);
    } finally {
      await closeAll([sender, local, remote]);
      await close();
    }
  });

  Deno.test(`${label}: ids stay unique across isolates sending at once`, async () => {
    const { isolates: [a, b], close } = await cluster(2, extra);
    const one = await Client.connect(a.ws, { name: "one", room: "ids" });
    const two = await Client.connect(b.ws, { name: "two", room: "ids" });
    try {
      for (let i = 0; i < 200; i++) {
        one.send({ command: "broadcast", message: `a${i}` });
        two.send({ command: "broadcast", message: `b${i}` });
      }
      await one.waitFor((e) => e.message === "b199", 20_000);
      await two.waitFor((e) => e.message === "a199", 20_000);
      await one.waitFor((e) => e.message === "a199", 20_000);
      assert.deepEqual([...one.events, ...two.events].filter((e) => e.event === "error"), []);
      const ids = one.broadcasts().map((m) => m.id);
      assert.equal(ids.length, 400);
      assert.equal(new Set(ids).size, 400);
    } finally {
      await closeAll([one, two]);
      await close();
    }
  });

  Deno.test(`${label}: an isolate with no member in a room receives none of its traffic`, async () => {
    const { isolates: [a, b, c], close } = await cluster(3, extra);
    const alice = await Client.connect(a.ws, { name: "alice", room: "busy" });
    const bob = await Client.connect(b.ws, { name: "bob", room: "busy" });
    const carol = await Client.connect(c.ws, { name: "carol", room: "quiet" });
    try {
      for (let i = 0; i < 50; i++) alice.send({ command: "broadcast", message: String(i) });
      await bob.next((e) => e.message === "49", 10_000);
      const busy = String(alice.events[1].room);
      const cStats = await c.stats();
      assert.equal(cStats.roomMessagesReceived, 0);
      assert.ok(!(cStats.subscribedRooms as string[]).includes(busy));
      const bStats = await b.stats();
      // Each message reaches a listening isolate once: over the bus, or (the KV bus, which only
      // signals that a room's head moved) read from the store.
      assert.equal(
        Number(bStats.roomMessagesReceived) + Number(bStats.messagesRepaired),
        50,
        "each message crosses once to a listening isolate",
      );
      assert.equal(cStats.messagesRepaired, 0);
      assert.deepEqual(carol.broadcasts(), []);
    } finally {
      await closeAll([alice, bob, carol]);
      await close();
    }
  });
}

crossIsolateSuite("broadcast-channel", {});
crossIsolateSuite("kv", { busKind: "kv" });

Deno.test("kv: a room of 1,000 members with 50-character CJK names syncs whole to a newcomer isolate", async () => {
  const { isolates: [a], add, close } = await cluster(1, {
    busKind: "kv",
    maxConnectionsPerAddress: 2000,
    joinBurst: 10,
  });
  const clients: Client[] = [];
  try {
    // 46 CJK characters and a 4-digit number: 50 characters, 96 bytes of KV value each.
    const stem = "漢字仮名交じり文".repeat(6).slice(0, 46);
    for (let i = 0; i < 1000; i++) {
      clients.push(
        Client.open(a.ws, { name: `${stem}${String(i).padStart(4, "0")}`, room: "big" }),
      );
    }
    await Promise.all(clients.map((c) => c.waitFor((e) => e.event === "joined", 30_000)));
    assert.equal([...clients[999].events[0].member as string].length, 50);
    // A newcomer asks every isolate for its members: a's answer is larger than one KV value.
    const b = await add();
    let count: unknown;
    await eventually(
      async () => {
        const rooms = await (await fetch(`${b.http}/rooms`)).json() as Json[];
        count = rooms.find((r) => r.name === "big")?.members;
        return count === 1000;
      },
      `b to count 1,000 members (counts ${count})`,
      20_000,
    );
    const page = await (await fetch(`${b.http}/rooms/big`)).json();
    assert.ok((page.members as string[]).every((name) => name.startsWith(stem)));
  } finally {
    await closeAll(clients);
    await close();
  }
});
