/**
 * The Redis engine (`CHAT_REDIS_URL`, or `CHAT_REDIS_CLUSTER` for a Redis Cluster): store, bus
 * and name claims on Redis, so that any number of processes are one chat. The store publishes
 * each room's events itself (in the script that commits them, or once replicas have them with
 * `CHAT_REDIS_WAIT_REPLICAS`), so the bus leaves rooms' topics to it; the bus subscribes on
 * connections of its own.
 *
 * @module
 */
import { roomOfTopic } from "../../core/room_feeds.ts";
import type { Logger } from "../../core/types.ts";
import { type EngineContext, type Engines, retentionOf } from "../engine.ts";
import { RedisBus } from "./redis_bus.ts";
import { RedisKeys } from "./redis_keys.ts";
import { ClusterLink, type RedisLink, SingleLink } from "./redis_link.ts";
import { RedisNameRegistry } from "./redis_name_registry.ts";
import { RedisStore } from "./redis_store.ts";

/** Channels a topic other than a room's is spread over on a Cluster (see `RedisBus`). */
const CLUSTER_SPREAD = 8;

/** Connects to Redis (one server or a Cluster) and opens the store, the bus and the name claims. */
export async function openRedisEngine(
  { settings, nodeId, clock, log }: EngineContext,
): Promise<Engines> {
  const keys = new RedisKeys(settings.redisPrefix);
  const link: RedisLink = settings.redisCluster.length > 0
    ? await ClusterLink.open(settings.redisCluster, log, settings.redisConnectTimeoutMs)
    : await SingleLink.open(settings.redisUrl, log, settings.redisConnectTimeoutMs);
  const bus = await RedisBus.open(link, {
    nodeId,
    keys,
    log,
    spread: link.cluster ? CLUSTER_SPREAD : 1,
    publishedByStore: (topic) => roomOfTopic(topic) !== undefined,
  });
  const store = new RedisStore(link, {
    retention: retentionOf(settings),
    clock,
    log,
    keys,
    announce: bus.announcer(),
    waitReplicas: settings.redisWaitReplicas,
    waitTimeoutMs: settings.redisWaitTimeoutMs,
  });
  const names = await RedisNameRegistry.start(link, {
    nodeId,
    keys,
    log,
    ttlMs: settings.presenceTimeoutMs,
    heartbeatMs: settings.heartbeatMs,
  });
  if (settings.redisWaitReplicas > 0) warnIfShort(link, settings.redisWaitReplicas, log);
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
      await link.close();
    },
  };
}

/**
 * With `CHAT_REDIS_WAIT_REPLICAS`, says at start which masters have fewer replicas than asked:
 * appends to their rooms will be refused (not acknowledged) until enough replicas attach.
 */
function warnIfShort(link: RedisLink, wanted: number, log: Logger): void {
  link.replicas().then((counts) => {
    for (const [master, replicas] of counts) {
      if (replicas < wanted) log("redis_replicas_short", { master, replicas, wanted });
    }
  }).catch((error) => log("redis_replicas_unknown", { error: String(error) }));
}
