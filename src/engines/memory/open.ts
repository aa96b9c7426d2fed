/**
 * The memory engine: rooms and history in this isolate's memory, and a bus inside it. Nothing
 * persists and nothing crosses isolates — for tests, demos and throwaway chats
 * (`createMemoryChat`). Nodes opened on one {@link MemoryWorld} share their rooms and hear each
 * other, as nodes on one database and one bus would.
 *
 * @module
 */
import type { Bus } from "../../core/bus.ts";
import type { Store } from "../../core/store.ts";
import { type EngineContext, type Engines, retentionOf } from "../engine.ts";
import { MemoryBus, MemoryNetwork } from "./memory_bus.ts";
import { MemoryStore } from "./memory_store.ts";

/** What the nodes of one memory chat share: the data behind their stores, the bus network. */
export class MemoryWorld {
  /** The network every node's bus is on. */
  readonly network = new MemoryNetwork();
  #store?: MemoryStore;

  /** A store handle of its own for one node, on the world's data. */
  storeFor({ settings, clock }: EngineContext): MemoryStore {
    this.#store ??= new MemoryStore(retentionOf(settings), clock);
    return this.#store.handle();
  }
}

/**
 * Opens the memory engine for one node (of a world of its own unless one is given). A store or bus
 * given by an embedder takes the place of its own, as on the KV engine.
 */
export function openMemoryEngine(
  context: EngineContext,
  world: MemoryWorld = new MemoryWorld(),
  given: { readonly store?: Store; readonly bus?: Bus } = {},
): Promise<Engines> {
  const store: Store = given.store ?? world.storeFor(context);
  const bus: Bus = given.bus ?? new MemoryBus(world.network, context.nodeId);
  return Promise.resolve({
    store,
    bus,
    busKind: given.bus ? "custom" : "memory",
    storeKind: given.store ? "custom" : "memory",
    close: async () => {
      await bus.drain?.();
      await store.close();
      bus.close();
    },
  });
}
