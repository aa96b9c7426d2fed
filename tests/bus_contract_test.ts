import { BroadcastChannelBus } from "../src/engines/kv/broadcast_channel_bus.ts";
import { KvBus } from "../src/engines/kv/kv_bus.ts";
import { MemoryBus, MemoryNetwork } from "../src/engines/memory/memory_bus.ts";
import { uniqueNamespace } from "./_helpers.ts";
import { busContract } from "./bus_contract.ts";

busContract("MemoryBus", () => {
  const network = new MemoryNetwork();
  return Promise.resolve({
    make: (nodeId) => new MemoryBus(network, nodeId),
    cleanup: () => Promise.resolve(),
  });
});

busContract("BroadcastChannelBus", () => {
  const namespace = uniqueNamespace();
  return Promise.resolve({
    make: (nodeId) => new BroadcastChannelBus(namespace, nodeId),
    cleanup: () => Promise.resolve(),
  });
});

busContract("KvBus (two handles on one KV file)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-kvbus-" });
  const handles: Deno.Kv[] = [];
  return {
    make: async (nodeId) => {
      const kv = await Deno.openKv(`${dir}/bus.kv`);
      handles.push(kv);
      return new KvBus(kv, { nodeId, namespace: "contract" });
    },
    cleanup: async () => {
      for (const kv of handles) kv.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});
