// The Store and Bus contract suites, unchanged, against a real Redis.
import { RedisBus } from "../../src/engines/redis/redis_bus.ts";
import { closeRedis, openRedis, type RedisClient } from "../../src/engines/redis/redis_client.ts";
import { RedisKeys } from "../../src/engines/redis/redis_keys.ts";
import { RedisStore } from "../../src/engines/redis/redis_store.ts";
import { busContract } from "../bus_contract.ts";
import { storeContract } from "../store_contract.ts";
import { startRedis } from "./_redis.ts";

storeContract("RedisStore (two clients on one Redis)", async (retention, clock) => {
  const redis = await startRedis();
  const keys = new RedisKeys(`contract-${crypto.randomUUID()}`);
  const clients: RedisClient[] = [];
  const open = async () => {
    const client = await openRedis(redis.url, "test");
    clients.push(client);
    return new RedisStore(client, { retention, clock: clock.read, keys });
  };
  return {
    store: await open(),
    another: open,
    cleanup: async () => {
      for (const client of clients) await closeRedis(client);
      await redis.close();
    },
  };
}, { handles: true });

busContract("RedisBus", async () => {
  const redis = await startRedis();
  const keys = new RedisKeys(`contract-${crypto.randomUUID()}`);
  const clients: RedisClient[] = [];
  return {
    make: async (nodeId) => {
      const client = await openRedis(redis.url, "test");
      clients.push(client);
      return await RedisBus.open(client, { nodeId, keys });
    },
    cleanup: async () => {
      for (const client of clients) await closeRedis(client);
      await redis.close();
    },
  };
});
