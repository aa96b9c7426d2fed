/**
 * An edge-native chat server for Deno: rooms, presence and history over WebSocket and HTTP,
 * shared by every isolate of a process through `BroadcastChannel`, stored in Deno KV.
 *
 * @example Serve it alone, or mount it in your own Hono app
 * ```ts
 * import { Hono } from "hono";
 * import { createChat } from "./mod.ts";
 *
 * const chat = await createChat({ kvPath: ":memory:", log: "off" });
 * const app = new Hono();
 * app.route("/chat", chat.app); // the client at /chat/, the socket at /chat/ws
 * const health = await app.request("/chat/health");
 * console.assert(health.status === 200);
 * await chat.close();
 * ```
 *
 * @module
 */
import type { Hono } from "hono";
import { monotonicFactory } from "ulid";
import { BroadcastChannelBus } from "./bus/broadcast_channel_bus.ts";
import { MemoryBus } from "./bus/memory_bus.ts";
import { DEFAULT_SETTINGS, type Settings } from "./config.ts";
import type { Bus } from "./core/bus.ts";
import { Hub, type HubStats as ChatStats } from "./core/hub.ts";
import type { Store } from "./core/store.ts";
import type { Clock, IdSource, Logger } from "./core/types.ts";
import { GOING_AWAY } from "./wire/close_codes.ts";
import { encode } from "./wire/events.ts";
import { jsonLogger, silentLogger } from "./log.ts";
import { KvBus } from "./bus/kv_bus.ts";
import { KvStore, openKvDatabase } from "./store/kv_store.ts";
import { MemoryStore } from "./store/memory_store.ts";
import { buildApp, Sessions } from "./transport/app.ts";
import { ChatMetrics } from "./transport/metrics.ts";

export { loadSettings, SettingsError } from "./config.ts";
export type { Settings } from "./config.ts";
export { ChatError } from "./core/errors.ts";
export type { ErrorCode } from "./core/errors.ts";
export type { Env } from "./config.ts";
export type { Bus, BusHandler, BusMessage, GapHandler } from "./core/bus.ts";
export type { Store } from "./core/store.ts";
export type {
  ChatMessage,
  Clock,
  Connection,
  IdSource,
  Logger,
  MeEvent,
  MembershipEvent,
  MessageDraft,
  MessagePage,
  MessageQuery,
  Outbound,
  PushEvent,
  RenamedEvent,
  Room,
} from "./core/types.ts";
export type { HubStats as ChatStats, RoomDetails, RoomSummary } from "./core/hub.ts";
export type { LogPosition } from "./core/log_order.ts";
export type { Retention } from "./store/retention.ts";

export { BroadcastChannelBus } from "./bus/broadcast_channel_bus.ts";
export { MemoryBus, MemoryNetwork } from "./bus/memory_bus.ts";
export { KvBus } from "./bus/kv_bus.ts";
export type { KvBusOptions } from "./bus/kv_bus.ts";
export { KvStore } from "./store/kv_store.ts";
export { MemoryStore } from "./store/memory_store.ts";

/** Settings plus the moving parts a caller may supply instead of the defaults. */
export interface ChatOptions extends Partial<Settings> {
  /** Rooms and history; default: Deno KV at `kvPath`. */
  readonly store?: Store;
  /** How isolates talk; default: per `bus` (`BroadcastChannel`). */
  readonly bus?: Bus;
  /** Time; default `Date.now`. */
  readonly clock?: Clock;
  /** Ids; default monotonic ULIDs. */
  readonly ids?: IdSource;
  /** Log sink; default per `log` (JSON lines on stdout, or nothing). */
  readonly logger?: Logger;
  /** Where the web client's files are (a `file:` or `http(s):` URL); default: this package's `static/`. */
  readonly staticRoot?: URL;
}

/** A running chat: its Hono app, its settings, its counters, and how to stop it. */
export interface Chat {
  /** The Hono app to serve or to mount (`app.route("/chat", chat.app)`). */
  readonly app: Hono;
  /** This isolate's node id (the `x-chat-node` header of `/health`). */
  readonly nodeId: string;
  /** Counters of this isolate: members, rooms listened to, repairs, nodes heard from. */
  stats(): ChatStats;
  /** The settings in force. */
  readonly settings: Settings;
  /** The app's fetch handler, for `Deno.serve` or `deno serve`. */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /**
   * Stops accepting, closes every socket with 1001, tells other isolates, commits pending writes
   * and releases the store and bus. Safe to call twice.
   */
  close(): Promise<void>;
}

/** The store and bus a chat runs on, and how to release them in order. */
interface Engines {
  readonly store: Store;
  readonly bus: Bus;
  /** Which bus, for the log line and `stats`. */
  readonly busKind: string;
  close(): Promise<void>;
}

/**
 * Chooses the store and the bus (the only place that does): Deno KV at `kvPath` unless a store
 * is given, and the bus named by `busKind` unless a bus is given. The KV bus shares the store's
 * database handle. Where `BroadcastChannel` does not exist, the KV bus stands in for it.
 */
async function openEngines(
  settings: Settings,
  given: { store?: Store; bus?: Bus },
  nodeId: string,
  clock: Clock,
  log: Logger,
): Promise<Engines> {
  let busKind: string = given.bus ? "custom" : settings.busKind;
  if (busKind === "broadcast-channel" && typeof BroadcastChannel === "undefined") busKind = "kv";
  const needKv = !given.store || busKind === "kv";
  const kv = needKv
    ? await openKvDatabase(settings.kvPath === "default" ? undefined : settings.kvPath)
    : undefined;
  const retention = { maxMessages: settings.retainMessages, maxAgeMs: settings.retainMs };
  const store = given.store ?? new KvStore(kv!, { retention, clock, log });
  const namespace = settings.busNamespace;
  const bus: Bus = given.bus ??
    (busKind === "memory"
      ? new MemoryBus(undefined, nodeId)
      : busKind === "kv"
      ? new KvBus(kv!, { nodeId, namespace: `${namespace}-bus`, log })
      : new BroadcastChannelBus(namespace, nodeId));
  return {
    store,
    bus,
    busKind,
    close: async () => {
      await bus.drain?.();
      await store.close();
      bus.close();
      kv?.close();
    },
  };
}

/**
 * Builds a chat. Without options it uses the documented defaults: Deno KV at `data/chat.kv`,
 * a `BroadcastChannel` bus, JSON logs. Pass `kvPath: ":memory:"` for a throwaway chat, or your
 * own `store`, `bus`, `clock` and `ids`.
 */
export async function createChat(options: ChatOptions = {}): Promise<Chat> {
  const {
    store: givenStore,
    bus: givenBus,
    clock = Date.now,
    logger,
    staticRoot: _staticRoot,
    ...overrides
  } = options;
  const settings: Settings = { ...DEFAULT_SETTINGS, ...overrides };
  const ids = options.ids ?? monotonicFactory();
  const log = logger ?? (settings.log === "json" ? jsonLogger() : silentLogger);
  const nodeId = ids();
  const engines = await openEngines(
    settings,
    { store: givenStore, bus: givenBus },
    nodeId,
    clock,
    log,
  );
  const { store, bus } = engines;
  log("engines", { node: nodeId, bus: engines.busKind, store: givenStore ? "custom" : "kv" });
  const sessions = new Sessions();
  let metrics: ChatMetrics | undefined;
  const observer = { committed: (ms: number) => metrics?.committed(ms) };
  const hub = new Hub({ store, bus, clock, ids, nodeId, settings, log, encode, observer });
  if (settings.metrics === "on") {
    metrics = new ChatMetrics({
      stats: () => hub.stats(),
      connections: () => sessions.open.size,
      refusals: sessions.refusals,
    });
  }
  hub.start();
  const staticRoot = options.staticRoot ?? new URL("../static/", import.meta.url);
  const app = buildApp({ hub, settings, log, sessions, staticRoot, metrics });
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      sessions.draining = true;
      for (const session of sessions.open) session.close(GOING_AWAY, "server shutting down");
      hub.close();
      await engines.close();
    })();
  return {
    app,
    nodeId,
    stats: () => hub.stats(),
    settings,
    fetch: (request) => app.fetch(request),
    close,
  };
}

/** Builds a chat on the in-memory store and bus: nothing persists, nothing crosses isolates. */
export function createMemoryChat(options: ChatOptions = {}): Promise<Chat> {
  const clock = options.clock ?? Date.now;
  const retention = {
    maxMessages: options.retainMessages ?? DEFAULT_SETTINGS.retainMessages,
    maxAgeMs: options.retainMs ?? DEFAULT_SETTINGS.retainMs,
  };
  return createChat({
    ...options,
    store: options.store ?? new MemoryStore(retention, clock),
    bus: options.bus ?? new MemoryBus(),
  });
}
