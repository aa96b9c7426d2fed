// The engine contract (tests/engine_contract.ts) on the engines as `src/mod.ts` opens them:
// Deno KV with the BroadcastChannel bus (one process), with the KV bus (Deno Deploy's wiring: a
// room's topic is a watch on its head in the store), and the memory engine (`createMemoryChat`;
// two nodes on one world). The Redis engines run it in tests/redis/contracts.redis.ts.
import { loadSettings } from "../src/config.ts";
import { openKvEngine } from "../src/engines/kv/open.ts";
import { MemoryWorld, openMemoryEngine } from "../src/engines/memory/open.ts";
import { engineContract } from "./engine_contract.ts";

for (const bus of ["broadcast-channel", "kv"] as const) {
  engineContract(`KV engine, ${bus} bus`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "chat-engine-" });
    const vars: Record<string, string> = {
      CHAT_KV_PATH: `${dir}/chat.kv`,
      CHAT_BUS: bus,
      CHAT_BUS_NAMESPACE: `engine-${crypto.randomUUID()}`,
      CHAT_LOG: "off",
    };
    const settings = loadSettings({ get: (name: string) => vars[name] });
    return {
      open: (nodeId) => openKvEngine({ settings, nodeId, clock: Date.now, log: () => {} }),
      cleanup: () => Deno.remove(dir, { recursive: true }),
    };
  });
}

engineContract("memory engine", () => {
  const settings = loadSettings({ get: (name: string) => name === "CHAT_LOG" ? "off" : undefined });
  const world = new MemoryWorld();
  return Promise.resolve({
    open: (nodeId) => openMemoryEngine({ settings, nodeId, clock: Date.now, log: () => {} }, world),
    cleanup: () => Promise.resolve(),
  });
});
