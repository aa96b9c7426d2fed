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
 * if (health.status !== 200) throw new Error(`health answered ${health.status}`);
 * await chat.close();
 * ```
 *
 * @example Hooks and a bot: a moderation hook and a `roll` command
 * ```ts
 * import { ChatError, createChat } from "./mod.ts";
 *
 * const chat = await createChat({
 *   kvPath: ":memory:",
 *   log: "off",
 *   hooks: {
 *     // Refuse a name, or attach data that later hooks and commands see.
 *     onConnect: ({ name }) => name === "root" ? { refuse: "pick another name" } : { data: { joined: Date.now() } },
 *     // Refuse or rewrite a message before it is stored.
 *     onMessage: ({ message }) =>
 *       /spam/i.test(message) ? { refuse: "no spam" } : { message: message.replaceAll("darn", "d**n") },
 *   },
 *   commands: {
 *     // {"command": "roll", "sides": 20} → {"event": "roll", "value": 7}, and the dice say it in the room.
 *     roll: async ({ member, rooms, fields, post }) => {
 *       const sides = typeof fields.sides === "number" ? fields.sides : 6;
 *       if (!Number.isInteger(sides) || sides < 2) throw new ChatError("invalid_field", "sides: 2 or more");
 *       const value = 1 + Math.floor(Math.random() * sides);
 *       await post(rooms[0], `${member.name} rolled ${value}`, "dice");
 *       return { value };
 *     },
 *   },
 * });
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, chat.fetch);
 * const socket = new WebSocket(`ws://127.0.0.1:${server.addr.port}/ws?name=ann&room=games`);
 * const answer = await new Promise<{ event: string; value: number }>((resolve) => {
 *   socket.onopen = () => socket.send(JSON.stringify({ command: "roll", sides: 20, id: "r1" }));
 *   socket.onmessage = (m) => {
 *     const event = JSON.parse(m.data);
 *     if (event.re === "r1") resolve(event);
 *   };
 * });
 * if (answer.event !== "roll" || answer.value < 1 || answer.value > 20) throw new Error("no roll");
 * await chat.notify("everyone", "closing for the night"); // a notice, not stored
 * socket.close();
 * await chat.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */
import type { ModerationRequest } from "./core/moderation.ts";
import type { ModerationEvent } from "./core/room_access.ts";
import type { Hono } from "hono";
import { monotonicFactory } from "ulid";
import { DEFAULT_SETTINGS, type Settings } from "./config.ts";
import type { Bus } from "./core/bus.ts";
import { Hub, type HubStats as ChatStats } from "./core/hub.ts";
import type { Store } from "./core/store.ts";
import type { ChatMessage, Clock, IdSource, Logger } from "./core/types.ts";
import { GOING_AWAY } from "./wire/close_codes.ts";
import { encode } from "./wire/events.ts";
import { jsonLogger, silentLogger } from "./log.ts";
import { openMemoryEngine } from "./engines/memory/open.ts";
import type { EngineContext, Engines } from "./engines/engine.ts";
import { openKvEngine } from "./engines/kv/open.ts";
import { openRedisEngine } from "./engines/redis/open.ts";
import { buildApp, Sessions } from "./transport/app.ts";
import { ChatMetrics } from "./transport/metrics.ts";
import { RateLimits } from "./core/rate_limiter.ts";
import { type GrpcAddress, type GrpcServer, serveGrpc } from "./transport/grpc/grpc_server.ts";
import { SessionKeys } from "./transport/sessions.ts";
import { tokenVerifier } from "./transport/tokens.ts";
import {
  type ChatHooks,
  checkCommandNames,
  type CommandHandler,
  type NoticeTo,
} from "./transport/embedding.ts";

export { isDenoDeploy, loadSettings, SettingsError } from "./config.ts";
export type { Settings } from "./config.ts";
export { ChatError } from "./core/errors.ts";
export type { ErrorCode } from "./core/errors.ts";
export type { Env } from "./config.ts";
export type { Bus, BusHandler, BusMessage, GapHandler } from "./core/bus.ts";
export type { AppendOptions, RoomPage, Store } from "./core/store.ts";
export type {
  ChangeBase,
  ChangeEvent,
  ChatMessage,
  Clock,
  Connection,
  DeletedEvent,
  DirectEvent,
  EditedEvent,
  IdSource,
  LogEntry,
  Logger,
  LogPage,
  MeEvent,
  MembershipEvent,
  MessageDraft,
  MessagePage,
  MessageQuery,
  NoticeEvent,
  Outbound,
  PresenceDiffEvent,
  PushEvent,
  ReactionEvent,
  RenamedEvent,
  Room,
  StoredMessage,
  Tombstone,
  TypingEvent,
} from "./core/types.ts";
export type { MessageChange } from "./core/message_changes.ts";
export type { HubStats as ChatStats, RoomDetails, RoomSummary } from "./core/hub.ts";
export type { LogPosition } from "./core/log_order.ts";
export type { MemberInfo, MessageHook, MessageInfo, MessageVerdict } from "./core/hooks.ts";
export type {
  ChatHooks,
  CommandContext,
  CommandHandler,
  ConnectInfo,
  ConnectVerdict,
  NoticeTo,
} from "./transport/embedding.ts";
export type { Retention } from "./engines/retention.ts";
export type { GrpcAddress } from "./transport/grpc/grpc_server.ts";

export { BroadcastChannelBus } from "./engines/kv/broadcast_channel_bus.ts";
export { MemoryBus, MemoryNetwork } from "./engines/memory/memory_bus.ts";
export { KvBus } from "./engines/kv/kv_bus.ts";
export type { KvBusOptions } from "./engines/kv/kv_bus.ts";
export { KvStore } from "./engines/kv/kv_store.ts";
export { storeHeads } from "./engines/kv/open.ts";
export { MemoryStore } from "./engines/memory/memory_store.ts";
export { RedisBus } from "./engines/redis/redis_bus.ts";
export type { RedisBusOptions } from "./engines/redis/redis_bus.ts";
export { RedisStore } from "./engines/redis/redis_store.ts";
export type { Announce, RedisStoreOptions } from "./engines/redis/redis_store.ts";
export { RedisKeys } from "./engines/redis/redis_keys.ts";
export { openRedis, RedisUnreachable } from "./engines/redis/redis_client.ts";
export type { RedisClient } from "./engines/redis/redis_client.ts";

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
  /** Hooks into connections and messages (refuse, rename, attach data, rewrite). */
  readonly hooks?: ChatHooks;
  /** Commands of your own, by name: `{"command": "<name>", ...}` from any client. */
  readonly commands?: Readonly<Record<string, CommandHandler>>;
}

/** A running chat: its Hono app, its settings, its counters, and how to stop it. */
export interface Chat {
  /** The Hono app to serve or to mount (`app.route("/chat", chat.app)`). */
  readonly app: Hono;
  /** This isolate's node id (the `x-chat-node` header of `/health`). */
  readonly nodeId: string;
  /** Counters of this isolate: members, rooms listened to, repairs, nodes heard from. */
  stats(): ChatStats;
  /**
   * Stores a message in a room (id or name; created if missing) in the server's name (`as`,
   * default `Server`), delivered to the room's members on every node like any message.
   */
  post(room: string, message: string, as?: string): Promise<ChatMessage>;
  /**
   * Pushes `{"event": "notice", "message", "room"?}` (not stored) to everyone, the members of a
   * room, or one member (id or name), on every node.
   */
  notify(to: NoticeTo, message: string): Promise<void>;
  /**
   * Moderates a room as the server (which ranks as every room's owner): `invite`, `role`, `kick`,
   * `ban`, `unban` or `mute` the member `to` (a name while connected, or a member id); the event
   * is stored in the room and sent as if a moderator had done it.
   */
  moderate(room: string, request: ModerationRequest): Promise<ModerationEvent>;
  /** The settings in force. */
  readonly settings: Settings;
  /**
   * The app's fetch handler, for `Deno.serve` or `deno serve`; pass the handler's `info` along so
   * that per-address limits see the peer (when mounted with `app.route`, give `{ remoteAddr }` as
   * the parent app's env).
   */
  readonly fetch: (
    request: Request,
    info?: { readonly remoteAddr: Deno.Addr },
  ) => Response | Promise<Response>;
  /**
   * Serves `chat_v1.ChatService` over gRPC proper (h2c with trailers), with `grpc.health.v1` and
   * server reflection, on its own port (`CHAT_GRPC_PORT`; 0 picks a free one); `close` stops it.
   * Rejects as `listen` does when the port cannot be had (`Deno.errors.AddrInUse`, ...).
   */
  serveGrpc(where: GrpcAddress): Promise<{ port: number }>;
  /**
   * Stops accepting, closes every socket with 1001, tells other isolates, commits pending writes
   * and releases the store and bus. Safe to call twice.
   */
  close(): Promise<void>;
}

/**
 * Chooses the engine from the settings (the only place that does; `createMemoryChat` names the
 * memory engine itself): Redis when `CHAT_REDIS_URL` or `CHAT_REDIS_CLUSTER` is set and no store or
 * bus is given, else Deno KV with the bus named by `busKind` (see `engines/`).
 */
function openEngines(
  settings: Settings,
  given: { store?: Store; bus?: Bus },
  context: EngineContext,
): Promise<Engines> {
  const onRedis = settings.redisUrl !== "" || settings.redisCluster.length > 0;
  if (onRedis && !given.store && !given.bus) return openRedisEngine(context);
  return openKvEngine(context, given);
}

/**
 * Builds a chat. Without options it uses the documented defaults: Deno KV at `data/chat.kv`,
 * a `BroadcastChannel` bus, JSON logs. Pass `kvPath: ":memory:"` for a throwaway chat, or your
 * own `store`, `bus`, `clock` and `ids`.
 */
export function createChat(options: ChatOptions = {}): Promise<Chat> {
  return createChatOn(options);
}

/** Builds a chat on the engine that `openEngine` opens (by default the one the settings name). */
async function createChatOn(
  options: ChatOptions,
  openEngine?: (context: EngineContext) => Promise<Engines>,
): Promise<Chat> {
  const {
    store: givenStore,
    bus: givenBus,
    clock = Date.now,
    logger,
    staticRoot: _staticRoot,
    hooks: _hooks,
    commands: _commands,
    ...overrides
  } = options;
  checkCommandNames(options.commands ?? {});
  const settings: Settings = { ...DEFAULT_SETTINGS, ...overrides };
  const ids = options.ids ?? monotonicFactory();
  const log = logger ?? (settings.log === "json" ? jsonLogger() : silentLogger);
  const nodeId = ids();
  const context = { settings, nodeId, clock, log };
  const engines = openEngine
    ? await openEngine(context)
    : await openEngines(settings, { store: givenStore, bus: givenBus }, context);
  const { store, bus } = engines;
  log("engines", {
    node: nodeId,
    bus: engines.busKind,
    store: engines.storeKind,
    metrics: settings.metrics,
    ...(settings.onDeploy ? { deploy: true } : {}),
  });
  const sessions = new Sessions();
  let metrics: ChatMetrics | undefined;
  const observer = { committed: (ms: number) => metrics?.committed(ms) };
  const hooks = options.hooks;
  const hub = new Hub({
    store,
    bus,
    clock,
    ids,
    nodeId,
    settings,
    log,
    encode,
    observer,
    onMessage: hooks?.onMessage,
    names: engines.names,
  });
  if (settings.metrics === "on") {
    metrics = new ChatMetrics({
      stats: () => hub.stats(),
      connections: () => sessions.open.size,
      refusals: sessions.refusals,
    });
  }
  hub.start();
  const staticRoot = options.staticRoot ?? new URL("../static/", import.meta.url);
  const commands = new Map(Object.entries(options.commands ?? {}));
  const sessionKeys = await SessionKeys.open(store);
  const tokens = await tokenVerifier(settings, { log, clock });
  const app = buildApp({
    hub,
    settings,
    log,
    sessions,
    staticRoot,
    metrics,
    hooks,
    commands,
    sessionKeys,
    tokens,
  });
  let closing: Promise<void> | undefined;
  const grpcServers: GrpcServer[] = [];
  const grpcLimits = new RateLimits(settings.ratePerSecond, settings.rateBurst, clock);
  const serveGrpcPort = async (where: GrpcAddress) => {
    const server = await serveGrpc({
      hub,
      streams: sessions.streams,
      tokens,
      maxBodyBytes: settings.maxBodyBytes,
      limits: grpcLimits,
      maxQueuedBytes: settings.maxBufferedBytes,
      holdStream: (address) => sessions.holdStream(address, settings),
      log,
    }, where);
    grpcServers.push(server);
    return { port: server.port };
  };
  const close = () =>
    closing ??= (async () => {
      sessions.draining = true;
      for (const session of sessions.open) session.close(GOING_AWAY, "server shutting down");
      for (const end of [...sessions.streams]) end();
      await Promise.all(grpcServers.map((server) => server.close()));
      hub.close();
      await engines.close();
      // Wait for the close handshakes (within half the shutdown budget), so that the process
      // does not exit under clients that are still sending.
      await sessions.allClosed(settings.shutdownMs / 2);
    })();
  return {
    app,
    nodeId,
    stats: () => hub.stats(),
    post: (room, message, as) => hub.sendAsServer(room, message, as),
    notify: (to, message) => hub.notify(to, message),
    moderate: (room, request) => hub.moderateAsServer(room, request),
    settings,
    // The peer's address (Deno.serve's second argument) reaches the per-address limits.
    fetch: (request, info) => app.fetch(request, { remoteAddr: info?.remoteAddr }),
    serveGrpc: serveGrpcPort,
    close,
  };
}

/** Builds a chat on the in-memory store and bus: nothing persists, nothing crosses isolates. */
export function createMemoryChat(options: ChatOptions = {}): Promise<Chat> {
  const given = { store: options.store, bus: options.bus };
  return createChatOn(options, (context) => openMemoryEngine(context, undefined, given));
}
