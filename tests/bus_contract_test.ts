import { BroadcastChannelBus } from "../src/bus/broadcast_channel_bus.ts";
import { MemoryBus, MemoryNetwork } from "../src/bus/memory_bus.ts";
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
