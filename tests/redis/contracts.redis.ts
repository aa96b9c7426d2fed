// The Store and Bus contract suites, unchanged, against a real Redis and a real Redis Cluster
// (3 masters, 3 replicas), through the links the engine uses in production. The cluster takes
// seconds to form, so one serves every case (each case has its own key prefix) and the last test
// of this file stops it.
import { equal } from "node:assert/strict";
import { keySlot } from "../../src/engines/redis/cluster_slots.ts";
import { RedisBus } from "../../src/engines/redis/redis_bus.ts";
import { RedisKeys } from "../../src/engines/redis/redis_keys.ts";
import { ClusterLink, type RedisLink, SingleLink } from "../../src/engines/redis/redis_link.ts";
import { RedisStore } from "../../src/engines/redis/redis_store.ts";
import { loadSettings } from "../../src/config.ts";
import { openRedisEngine } from "../../src/engines/redis/open.ts";
import { busContract } from "../bus_contract.ts";
import { engineContract } from "../engine_contract.ts";
import { storeContract } from "../store_contract.ts";
import { startCluster } from "./_cluster.ts";
import { startRedis } from "./_redis.ts";

/** Where the suites run: a way to open a link, and what to stop afterwards. */
interface Place {
  link(): Promise<RedisLink>;
  close(): Promise<void>;
}

async function oneRedis(): Promise<Place> {
  const redis = await startRedis();
  return { link: () => SingleLink.open(redis.url), close: () => redis.close() };
}

const cluster = await startCluster();
/** One redis-server for the engine contract (started with the cluster, stopped last). */
const single = await startRedis();

function aCluster(): Promise<Place> {
  const seeds = cluster.seeds.split(",");
  return Promise.resolve({ link: () => ClusterLink.open(seeds), close: () => Promise.resolve() });
}

for (
  const [name, place, spread] of [["one Redis", oneRedis, 1], [
    "a Redis Cluster",
    aCluster,
    8,
  ]] as const
) {
  storeContract(`RedisStore (two links to ${name})`, async (retention, clock) => {
    const at = await place();
    const keys = new RedisKeys(`contract-${crypto.randomUUID()}`);
    const links: RedisLink[] = [];
    const open = async () => {
      const link = await at.link();
      links.push(link);
      return new RedisStore(link, { retention, clock: clock.read, keys });
    };
    return {
      store: await open(),
      another: open,
      cleanup: async () => {
        for (const link of links) await link.close();
        await at.close();
      },
    };
  }, { handles: true });

  busContract(`RedisBus on ${name}`, async () => {
    const at = await place();
    const keys = new RedisKeys(`contract-${crypto.randomUUID()}`);
    const links: RedisLink[] = [];
    return {
      make: async (nodeId) => {
        const link = await at.link();
        links.push(link);
        return await RedisBus.open(link, { nodeId, keys, spread });
      },
      cleanup: async () => {
        for (const link of links) await link.close();
        await at.close();
      },
    };
  });
}

// The engine contract through the Redis engine's own wiring (`openRedisEngine`, as the server
// opens it): on one Redis, and on the cluster with WAIT 1 (the store publishes after WAIT).
for (
  const [name, vars] of [
    ["one Redis", () => ({ CHAT_REDIS_URL: `redis://127.0.0.1:${single.port}/0` })],
    ["a Redis Cluster, WAIT 1", () => ({
      CHAT_REDIS_CLUSTER: cluster.seeds,
      CHAT_REDIS_WAIT_REPLICAS: "1",
    })],
  ] as const
) {
  engineContract(`Redis engine on ${name}`, () => {
    const env: Record<string, string> = {
      ...vars(),
      CHAT_REDIS_PREFIX: `engine-${crypto.randomUUID()}`,
      CHAT_LOG: "off",
    };
    const settings = loadSettings({ get: (key: string) => env[key] });
    return Promise.resolve({
      open: (nodeId: string) =>
        openRedisEngine({ settings, nodeId, clock: Date.now, log: () => {} }),
      cleanup: () => Promise.resolve(),
    });
  });
}

Deno.test("keySlot agrees with CLUSTER KEYSLOT of a live cluster, hash-tag edge cases included", async () => {
  const keys = [
    "foo",
    "chat:{r:01M8SZ1WPR0XT1WK2CR3248BNN}:head",
    "chat:{bus:presence:3}",
    "foo{}{bar}",
    "foo{{bar}}zap",
    "foo{bar",
    "{}",
    "é{ü}",
    ...Array.from({ length: 50 }, () => crypto.randomUUID()),
  ];
  const port = cluster.nodes[0].port;
  for (const key of keys) {
    equal(keySlot(key), Number((await cluster.cli(port, "CLUSTER", "KEYSLOT", key)).trim()), key);
  }
});

Deno.test("(the shared cluster and Redis stop)", async () => {
  await cluster.close();
  await single.close();
});
