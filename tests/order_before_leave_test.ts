import { cluster, startServer } from "./_helpers.ts";
import { lastWordsArriveFirst } from "./_last_words.ts";

Deno.test("order on one server (KV file, as by default): a broadcast sent just before leave or close reaches the others first", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-order-" });
  const server = await startServer({ kvPath: `${dir}/chat.kv` });
  try {
    await lastWordsArriveFirst(server.ws, server.ws, 10);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

for (const [label, extra] of [["broadcast-channel", {}], ["kv", { busKind: "kv" }]] as const) {
  Deno.test(`order across isolates (${label}): the leaver's last line reaches another isolate before its leave`, async () => {
    const { isolates: [a, b], close } = await cluster(2, extra);
    try {
      await lastWordsArriveFirst(a.ws, b.ws, 10);
    } finally {
      await close();
    }
  });
}
