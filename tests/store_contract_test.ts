import { KvStore } from "../src/engines/kv/kv_store.ts";
import { MemoryStore } from "../src/engines/memory/memory_store.ts";
import { storeContract } from "./store_contract.ts";

storeContract("MemoryStore", (retention, clock) => {
  const store = new MemoryStore(retention, clock.read);
  return Promise.resolve({
    store,
    another: () => Promise.resolve(store.handle()),
    cleanup: () => store.close(),
  });
}, { handles: true });

storeContract("KvStore on :memory:", async (retention, clock) => {
  const store = await KvStore.open(":memory:", { retention, clock: clock.read });
  return { store, cleanup: () => store.close() };
}, { handles: false });

storeContract("KvStore on a file, two handles", async (retention, clock) => {
  const dir = await Deno.makeTempDir({ prefix: "chat-store-" });
  const path = `${dir}/chat.kv`;
  const store = await KvStore.open(path, { retention, clock: clock.read });
  return {
    store,
    another: () => KvStore.open(path, { retention, clock: clock.read }),
    cleanup: async () => {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}, { handles: true });
