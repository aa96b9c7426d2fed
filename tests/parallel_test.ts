import assert from "node:assert/strict";
import { KvStore } from "../src/engines/kv/kv_store.ts";
import { Client, closeAll, eventually, freePort, healthNode } from "./_helpers.ts";

for (const bus of ["broadcast-channel", "kv"]) {
  Deno.test(`${bus}: deno serve --parallel serves one chat across its isolates and shuts down cleanly`, () =>
    parallelChat(bus));
}

/** Two isolates under `deno serve --parallel` on the given bus: one chat, then a clean SIGTERM. */
async function parallelChat(bus: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-parallel-" });
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-run", "--allow-env", "--allow-read", "src/cli/start_parallel.ts"],
    env: {
      PORT: String(port),
      HOSTNAME: "127.0.0.1",
      CHAT_ISOLATES: "2",
      CHAT_KV_PATH: `${dir}/chat.kv`,
      CHAT_LOG: "off",
      CHAT_BUS_NAMESPACE: `parallel-${crypto.randomUUID()}`,
      CHAT_BUS: bus,
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const clients: Client[] = [];
  try {
    await eventually(
      async () => {
        try {
          return (await healthNode(port)) !== "";
        } catch {
          return false;
        }
      },
      "the parallel server to listen",
      20_000,
    );
    // Both isolates answer once both have started (the second may still be opening KV).
    const nodes = new Set<string>();
    await eventually(
      async () => {
        nodes.add(await healthNode(port));
        return nodes.size === 2;
      },
      "requests to reach both isolates",
      20_000,
    );
    assert.equal(nodes.size, 2, "requests reach both isolates");

    for (let i = 0; i < 8; i++) {
      clients.push(await Client.connect(`ws://127.0.0.1:${port}/ws`, { name: "zed", room: "one" }));
    }
    // Whichever isolate each socket landed on, everyone sees all eight, under eight names.
    for (const client of clients) {
      let seen: unknown = [];
      await eventually(
        async () => {
          const list = await client.request({ command: "list" });
          seen = list.members;
          const names = (list.members as string[]).map((n) => n.toLowerCase());
          return names.length === 8 && new Set(names).size === 8;
        },
        `every member in every list with a distinct name (last: ${JSON.stringify(seen)})`,
        5000,
      ).catch((error) => {
        throw new Error(`${error.message}; last list: ${JSON.stringify(seen)}`);
      });
    }
    await clients[0].request({ command: "broadcast", message: "to all isolates" });
    for (const client of clients.slice(1)) {
      await client.next((e) => e.message === "to all isolates");
    }
    const rooms = await (await fetch(`http://127.0.0.1:${port}/rooms`)).json();
    assert.equal(rooms.find((r: { name: string }) => r.name === "one").members, 8);
    const acked = await clients[1].request({ command: "broadcast", message: "last words" });

    // SIGTERM: every isolate closes its sockets with 1001 and the process exits 0.
    child.kill("SIGTERM");
    const closes = await Promise.all(clients.map((c) => c.closed));
    assert.deepEqual(closes.map((c) => c.code), clients.map(() => 1001));
    assert.equal((await child.status).code, 0);
    // And the acknowledged message is in the store for the next start.
    const store = await KvStore.open(`${dir}/chat.kv`, {
      retention: { maxMessages: 100, maxAgeMs: 0 },
    });
    const page = await store.readMessages(String(acked.room), { limit: 1 });
    await store.close();
    assert.deepEqual(page.messages.map((m) => m.id), [acked.id]);
  } finally {
    await closeAll(clients);
    // SIGTERM first: start_parallel forwards it to `deno serve`, which SIGKILL would orphan.
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* exited meanwhile */ }
    }, 10_000);
    await child.status;
    clearTimeout(timer);
    await child.stderr.cancel();
    await Deno.remove(dir, { recursive: true });
  }
}
