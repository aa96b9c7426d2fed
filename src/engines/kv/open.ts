/**
 * The default engine: Deno KV for rooms and history (a local SQLite file, `:memory:`, or the
 * managed store on Deno Deploy), with a `BroadcastChannel` bus between the isolates of one
 * process, the KV bus between instances that share the database (Deploy), or the memory bus in
 * one isolate. A store or bus given by an embedder takes the place of its own.
 *
 * @module
 */
import type { Bus } from "../../core/bus.ts";
import { roomOfTopic } from "../../core/room_feeds.ts";
import type { Store } from "../../core/store.ts";
import type { Logger } from "../../core/types.ts";
import type { Settings } from "../../config.ts";
import { type EngineContext, type Engines, retentionOf } from "../engine.ts";
import { MemoryBus } from "../memory/memory_bus.ts";
import { BroadcastChannelBus } from "./broadcast_channel_bus.ts";
import { openDeployKv } from "./deploy_kv.ts";
import { KvBus } from "./kv_bus.ts";
import { KvStore, openKvDatabase, roomHeadKey } from "./kv_store.ts";

/**
 * For the KV bus on the KV store's database: a room's topic is watched on the room's head in the
 * store (its events are there already), every other topic gets a log of its own.
 */
export function storeHeads(topic: string): Deno.KvKey | undefined {
  const room = roomOfTopic(topic);
  return room === undefined ? undefined : roomHeadKey(room);
}

/** The KV database at `kvPath`; on Deno Deploy, the app's own, saying when none is attached. */
async function openKv(settings: Settings, log: Logger): Promise<Deno.Kv> {
  if (settings.kvPath !== "default") return await openKvDatabase(settings.kvPath);
  if (settings.onDeploy) return (await openDeployKv(log)).kv;
  return await openKvDatabase(undefined);
}

/**
 * Opens Deno KV at `kvPath` (unless a store is given) and the bus named by `busKind` (unless a
 * bus is given). The KV bus shares the store's database handle; where `BroadcastChannel` does not
 * exist, the KV bus stands in for it.
 */
export async function openKvEngine(
  { settings, nodeId, clock, log }: EngineContext,
  given: { readonly store?: Store; readonly bus?: Bus } = {},
): Promise<Engines> {
  let busKind: string = given.bus ? "custom" : settings.busKind;
  if (busKind === "broadcast-channel" && typeof BroadcastChannel === "undefined") busKind = "kv";
  const needKv = !given.store || busKind === "kv";
  const kv = needKv ? await openKv(settings, log) : undefined;
  const store = given.store ?? new KvStore(kv!, { retention: retentionOf(settings), clock, log });
  const namespace = settings.busNamespace;
  const bus: Bus = given.bus ??
    (busKind === "memory" ? new MemoryBus(undefined, nodeId) : busKind === "kv"
      ? new KvBus(kv!, {
        nodeId,
        namespace: `${namespace}-bus`,
        log,
        // A room's events are in the store already: watch its head there, do not copy them.
        watchedKey: given.store ? undefined : storeHeads,
      })
      : new BroadcastChannelBus(namespace, nodeId));
  return {
    store,
    bus,
    busKind,
    storeKind: given.store ? "custom" : "kv",
    close: async () => {
      await bus.drain?.();
      await store.close();
      bus.close();
      kv?.close();
    },
  };
}
