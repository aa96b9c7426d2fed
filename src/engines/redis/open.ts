/**
 * The Redis engine (`CHAT_REDIS_URL`): store, bus and name claims on one Redis, so that any
 * number of processes are one chat. The store publishes each room's events in the script that
 * commits them, so the bus leaves rooms' topics to it; the bus subscribes on a second connection.
 *
 * @module
 */
import { roomOfTopic } from "../../core/room_feeds.ts";
import { type EngineContext, type Engines, retentionOf } from "../engine.ts";
import { RedisBus } from "./redis_bus.ts";
import { closeRedis, openRedis } from "./redis_client.ts";
import { RedisKeys } from "./redis_keys.ts";
import { RedisNameRegistry } from "./redis_name_registry.ts";
import { RedisStore } from "./redis_store.ts";

/** Connects to `redisUrl` and opens the store, the bus and the name claims on it. */
export async function openRedisEngine(
  { settings, nodeId, clock, log }: EngineContext,
): Promise<Engines> {
  const keys = new RedisKeys(settings.redisPrefix);
  const client = await openRedis(
    settings.redisUrl,
    "commands",
    log,
    settings.redisConnectTimeoutMs,
  );
  const bus = await RedisBus.open(client, {
    nodeId,
    keys,
    log,
    publishedByStore: (topic) => roomOfTopic(topic) !== undefined,
  });
  const store = new RedisStore(client, {
    retention: retentionOf(settings),
    clock,
    log,
    keys,
    announce: bus.announcer(),
  });
  const names = await RedisNameRegistry.start(client, {
    nodeId,
    keys,
    log,
    ttlMs: settings.presenceTimeoutMs,
    heartbeatMs: settings.heartbeatMs,
  });
  return {
    store,
    bus,
    busKind: "redis",
    storeKind: "redis",
    names,
    close: async () => {
      await names.close();
      await bus.drain();
      await store.close();
      bus.close();
      await closeRedis(client);
    },
  };
}
