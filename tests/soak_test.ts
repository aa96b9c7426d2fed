import assert from "node:assert/strict";
import { Client, closeAll, eventually, type Json, startServer } from "./_helpers.ts";

const CLIENTS = Number(Deno.env.get("SOAK_CLIENTS") ?? 200);
const ROOMS = 10;
const ROUNDS = Number(Deno.env.get("SOAK_ROUNDS") ?? 25);

/** One member's view across its connections: what it received, and what it had acked. */
class Member {
  readonly seen: string[] = [];
  readonly acked: string[] = [];
  client!: Client;
  constructor(readonly name: string, readonly room: string) {}

  async connect(url: string, since?: string): Promise<void> {
    const query: Record<string, string> = { name: this.name, room: this.room };
    if (since) query.since = since;
    this.client = Client.open(url, query);
    this.client.socket.addEventListener("message", (m) => {
      const e = JSON.parse(String(m.data)) as Json;
      if (e.event === "broadcast") this.seen.push(String(e.id));
      if (e.event === "broadcast" && e.re) this.acked.push(String(e.id));
    });
    await this.client.next((e) => e.event === "joined", 20_000);
  }
}

Deno.test(`soak: ${CLIENTS} clients in ${ROOMS} rooms, reconnects with since, every ack delivered exactly once`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-soak-" });
  const server = await startServer({
    kvPath: `${dir}/chat.kv`,
    ratePerSecond: 1e6,
    rateBurst: 1e6,
    maxConnectionsPerAddress: 10_000, // every client of this test comes from 127.0.0.1
  });
  const members = Array.from(
    { length: CLIENTS },
    (_, i) => new Member(`m${i}`, `soak-${i % ROOMS}`),
  );
  const started = Date.now();
  try {
    for (const m of members) await m.connect(server.ws);
    let reconnects = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Everyone sends one message; a tenth of the members drop and come back with since.
      const sends = members.map((m, i) =>
        m.client.request({
          command: "broadcast",
          message: `r${round} from ${m.name}`,
          id: `r${round}-${i}`,
        }, 20_000)
      );
      const leaving = members.filter((_, i) => (i + round) % 10 === 0);
      await Promise.all(sends);
      for (const m of leaving) {
        await m.client.close();
        reconnects++;
      }
      for (const m of leaving) await m.connect(server.ws, m.seen.at(-1));
    }
    // Let the last messages land everywhere, then compare with history.
    const history = new Map<string, string[]>();
    for (let r = 0; r < ROOMS; r++) {
      const ids: string[] = [];
      for (let more = true, after = "0".repeat(26); more;) {
        const url = `${server.http}/rooms/soak-${r}/messages?limit=200&after=${after}`;
        const page = await (await fetch(url)).json();
        ids.push(...page.messages.map((m: Json) => String(m.id)));
        more = page.more;
        after = ids.at(-1) ?? "";
      }
      history.set(`soak-${r}`, ids);
    }
    let deliveries = 0;
    for (const m of members) {
      const expected = history.get(m.room)!;
      await eventually(() => m.seen.length >= expected.length, `${m.name} to catch up`, 20_000);
      assert.deepEqual(m.seen, expected, `${m.name} got every message of its room once, in order`);
      for (const id of m.acked) assert.ok(expected.includes(id), "every ack is in history");
      deliveries += m.seen.length;
    }
    const acked = members.reduce((n, m) => n + m.acked.length, 0);
    const total = [...history.values()].reduce((n, ids) => n + ids.length, 0);
    assert.equal(total, CLIENTS * ROUNDS, "every message sent was acknowledged and stored");
    console.log(
      `  ${CLIENTS} clients, ${ROOMS} rooms, ${ROUNDS} rounds: ${total} messages stored, ` +
        `${acked} acks seen, ${deliveries} deliveries checked, ${reconnects} reconnects with since, ` +
        `${Date.now() - started} ms`,
    );
  } finally {
    await closeAll(members.map((m) => m.client));
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
