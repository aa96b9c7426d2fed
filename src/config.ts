/** Every setting of the chat, parsed once from the environment. */
export interface Settings {
  /** `PORT`: where `deno task start` listens. */
  readonly port: number;
  /** `HOSTNAME`: the interface it binds. */
  readonly hostname: string;
  /**
   * `CHAT_KV_PATH`: the Deno KV file; `:memory:` keeps nothing; `default` is Deno's own default
   * database (the managed KV on Deno Deploy, where it is chosen when the variable is unset).
   */
  readonly kvPath: string;
  /** `CHAT_MAX_MESSAGE`: longest message in characters. */
  readonly maxMessageLength: number;
  /** `CHAT_MAX_FRAME`: largest WebSocket frame in bytes; bigger ones close with 1009. */
  readonly maxFrameBytes: number;
  /** `CHAT_RATE_PER_SEC`: sustained broadcasts per second per connection. */
  readonly ratePerSecond: number;
  /** `CHAT_RATE_BURST`: broadcasts allowed at once above the sustained rate. */
  readonly rateBurst: number;
  /** `CHAT_MAX_ROOMS_PER_CONNECTION`: rooms one connection may be in. */
  readonly maxRoomsPerConnection: number;
  /** `CHAT_RETAIN_MESSAGES`: messages kept per room. */
  readonly retainMessages: number;
  /** `CHAT_RETAIN_MS`: age after which messages are dropped; 0 keeps them. */
  readonly retainMs: number;
  /** `CHAT_HEARTBEAT_MS`: how often an isolate tells the others it is alive. */
  readonly heartbeatMs: number;
  /** `CHAT_PRESENCE_TIMEOUT_MS`: silence after which an isolate's members are dropped. */
  readonly presenceTimeoutMs: number;
  /**
   * `CHAT_BUS`: `broadcast-channel` (the isolates of one process), `kv` (Deno KV watches: every
   * isolate or instance sharing the KV database; the default on Deno Deploy) or `memory` (this
   * isolate only).
   */
  readonly busKind: "broadcast-channel" | "kv" | "memory";
  /** `CHAT_BUS_NAMESPACE`: prefix of the BroadcastChannel names and of the KV bus's keys. */
  readonly busNamespace: string;
  /** `CHAT_IDLE_TIMEOUT_S`: seconds without a pong before a socket is closed. */
  readonly idleTimeoutSeconds: number;
  /** `CHAT_MAX_BUFFERED`: unsent bytes a socket may hold before it is closed with 1013. */
  readonly maxBufferedBytes: number;
  /** `CHAT_MAX_CONNECTIONS`: sockets per isolate; more get 503. */
  readonly maxConnections: number;
  /** `CHAT_ALLOWED_ORIGINS`: comma-separated origins allowed besides same-origin; `*` for any. */
  readonly allowedOrigins: readonly string[];
  /** `CHAT_JWT_SECRET`: when set, `/ws` and `POST /rooms` need a token (HS256 with this secret). */
  readonly jwtSecret: string;
  /**
   * `CHAT_JWKS_URL`: an identity provider's JSON Web Key Set; when set, tokens are needed as with
   * a secret, and RS256, ES256 and EdDSA tokens are verified against it.
   */
  readonly jwksUrl: string;
  /** `CHAT_JWT_ISSUER`: when set, a token's `iss` must be exactly this. */
  readonly jwtIssuer: string;
  /** `CHAT_JWT_AUDIENCE`: when set, a token's `aud` must be or include this. */
  readonly jwtAudience: string;
  /** `CHAT_JWKS_REFETCH_S`: the least time between key-set fetches caused by unknown `kid`s (the first is at once). */
  readonly jwksRefetchSeconds: number;
  /**
   * `CHAT_WEB_TOKEN_URL`: where the web client gets a fresh token when tokens are on (your app's
   * endpoint: a `GET` with the page's cookies answering `{"token"}` or the token as text).
   */
  readonly webTokenUrl: string;
  /** `CHAT_SHUTDOWN_MS`: how long a graceful shutdown may take. */
  readonly shutdownMs: number;
  /** `CHAT_LOG`: `json` for one JSON line per event, `off` for silence. */
  readonly log: "json" | "off";
  /** `CHAT_MAX_BODY`: largest HTTP request body in bytes; bigger ones get 413. */
  readonly maxBodyBytes: number;
  /** `CHAT_TOKEN_MAX_TTL_S`: the longest a token may be valid (its `exp` from now); longer or none: 401. */
  readonly tokenMaxTtlSeconds: number;
  /** `CHAT_ALLOWED_HOSTS`: comma-separated `Host` values served (DNS rebinding); empty: any. */
  readonly allowedHosts: readonly string[];
  /** `CHAT_JOIN_RATE_PER_SEC`: sustained joins and leaves per second per connection. */
  readonly joinRatePerSecond: number;
  /** `CHAT_JOIN_BURST`: joins and leaves allowed at once above that. */
  readonly joinBurst: number;
  /** `CHAT_MAX_ROOMS`: rooms the server holds at most; creating more gets `over_capacity`. */
  readonly maxRooms: number;
  /** `CHAT_MAX_CONNECTIONS_PER_ADDRESS`: sockets one client address may hold on an isolate. */
  readonly maxConnectionsPerAddress: number;
  /** `CHAT_TRUST_PROXY`: `on` takes the client address from `X-Forwarded-For` (behind a proxy). */
  readonly trustProxy: "on" | "off";
  /** `CHAT_MAX_REPLAY`: messages one `since` replay may send; a longer backlog: `recovered: false`. */
  readonly maxReplay: number;
  /** `CHAT_METRICS`: `on` serves `GET /metrics` (Prometheus text); `off` leaves it out. */
  readonly metrics: "on" | "off";
  /** `CHAT_METRICS_TOKEN`: when set, `/metrics` needs `Authorization: Bearer <token>`. */
  readonly metricsToken: string;
  /**
   * `CHAT_REDIS_URL`: `redis://host:port/db` (or `rediss://`): Redis carries fan-out, presence,
   * rooms and history, and every process on it is one chat. Empty: no Redis.
   */
  readonly redisUrl: string;
  /** `CHAT_REDIS_PREFIX`: the prefix of every Redis key and channel (several chats, one Redis). */
  readonly redisPrefix: string;
  /** `CHAT_REDIS_CONNECT_TIMEOUT_MS`: how long a starting server waits for Redis before it exits. */
  readonly redisConnectTimeoutMs: number;
  /**
   * `CHAT_REDIS_CLUSTER`: comma-separated `host:port` seeds of a Redis Cluster, instead of
   * `CHAT_REDIS_URL`: the same engine, each room in its slot, its events on sharded pub/sub.
   * Empty: no cluster.
   */
  readonly redisCluster: readonly string[];
  /**
   * `CHAT_REDIS_WAIT_REPLICAS`: replicas that must have each append before it is acknowledged
   * (`WAIT`), so that a failover loses nothing acknowledged. 0: do not wait.
   */
  readonly redisWaitReplicas: number;
  /** `CHAT_REDIS_WAIT_TIMEOUT_MS`: how long an append waits for them before it fails. */
  readonly redisWaitTimeoutMs: number;
  /**
   * `CHAT_LARGE_ROOM`: members above which a room is large: joins and leaves go out as
   * `presence_diff` events, and `joined`/`list` give a page of names with the count.
   */
  readonly largeRoom: number;
  /** `CHAT_PRESENCE_DIFF_MS`: how often a large room's `presence_diff` is sent. */
  readonly presenceDiffMs: number;
  /**
   * `CHAT_OVERSIZE_BAN_S`: after a frame over `CHAT_MAX_FRAME`, the sender's address loses its
   * other sockets and is refused for this long (0: off; only with real client addresses).
   */
  readonly oversizeBanSeconds: number;
  /**
   * Running on Deno Deploy (`DENO_DEPLOY` or `DENO_DEPLOYMENT_ID` is set, as Deploy sets them):
   * `main.ts` then serves by itself, KV defaults to the app's database and the bus to `kv`, and
   * `/metrics` is served only behind `CHAT_METRICS_TOKEN`.
   */
  readonly onDeploy: boolean;
  /**
   * `CHAT_ROOM_IDLE_TTL_S`: an empty room that never had a message is removed this many seconds
   * after it was created (its name free again); 0 keeps every room.
   */
  readonly roomIdleTtlSeconds: number;
  /**
   * `CHAT_ROOMS_PER_HOUR`: rooms one client (token subject, else address) may create, sustained,
   * with bursts of 20: with the idle TTL, one client cannot fill `CHAT_MAX_ROOMS` for everyone.
   */
  readonly roomsPerHour: number;
  /** `CHAT_SESSION_TTL_S`: how long a session lasts unused (every use renews it). */
  readonly sessionTtlSeconds: number;
  /**
   * `CHAT_GRPC_PORT`: where `chat_v1.ChatService` is served over gRPC proper (h2c with trailers),
   * with health and reflection; unset: no gRPC port.
   */
  readonly grpcPort?: number;
}

/** The defaults, as documented in the README. */
export const DEFAULT_SETTINGS: Settings = {
  port: 8000,
  hostname: "0.0.0.0",
  kvPath: "data/chat.kv",
  maxMessageLength: 4000,
  maxFrameBytes: 64 * 1024,
  ratePerSecond: 5,
  rateBurst: 10,
  maxRoomsPerConnection: 50,
  retainMessages: 10_000,
  retainMs: 0,
  heartbeatMs: 1000,
  presenceTimeoutMs: 10_000,
  busKind: "broadcast-channel",
  busNamespace: "chat",
  idleTimeoutSeconds: 30,
  maxBufferedBytes: 1024 * 1024,
  maxConnections: 10_000,
  allowedOrigins: [],
  jwtSecret: "",
  jwksUrl: "",
  jwtIssuer: "",
  jwtAudience: "",
  jwksRefetchSeconds: 30,
  webTokenUrl: "",
  shutdownMs: 4000,
  log: "json",
  metrics: "on",
  metricsToken: "",
  maxBodyBytes: 64 * 1024,
  tokenMaxTtlSeconds: 7 * 24 * 3600,
  allowedHosts: [],
  joinRatePerSecond: 2,
  joinBurst: 10,
  maxRooms: 10_000,
  maxReplay: 5000,
  maxConnectionsPerAddress: 8,
  trustProxy: "off",
  redisUrl: "",
  redisPrefix: "chat",
  redisConnectTimeoutMs: 10_000,
  redisCluster: [],
  redisWaitReplicas: 0,
  redisWaitTimeoutMs: 1000,
  largeRoom: 100,
  presenceDiffMs: 50,
  oversizeBanSeconds: 0,
  onDeploy: false,
  roomIdleTtlSeconds: 86_400,
  roomsPerHour: 100,
  sessionTtlSeconds: 30 * 24 * 3600,
};

/** A setting that could not be parsed; its message names the variable and the value. */
export class SettingsError extends Error {
  /** An error for one variable. */
  constructor(message: string) {
    super(message);
    this.name = "SettingsError";
  }
}

function redisUrl(env: Env): string {
  const raw = env.get("CHAT_REDIS_URL")?.trim() ?? "";
  if (raw === "") return "";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SettingsError(
      `CHAT_REDIS_URL must be a URL such as redis://127.0.0.1:6379/0, got '${raw}'`,
    );
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new SettingsError(`CHAT_REDIS_URL must start with redis:// or rediss://, got '${raw}'`);
  }
  return raw;
}

/** `CHAT_REDIS_CLUSTER`: `host:port` seeds; not together with `CHAT_REDIS_URL`. */
function redisCluster(env: Env): string[] {
  // `redis://host:port` is taken too (what CHAT_REDIS_URL looks like).
  const seeds = list(env, "CHAT_REDIS_CLUSTER").map((seed) => seed.replace(/^redis:\/\//, ""));
  for (const seed of seeds) {
    const match = /^(.+):(\d+)$/.exec(seed);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      throw new SettingsError(
        `CHAT_REDIS_CLUSTER must list host:port seeds such as 10.0.0.1:7000,10.0.0.2:7000, got '${seed}'`,
      );
    }
  }
  if (seeds.length > 0 && (env.get("CHAT_REDIS_URL")?.trim() ?? "") !== "") {
    throw new SettingsError("set CHAT_REDIS_URL or CHAT_REDIS_CLUSTER, not both");
  }
  return seeds;
}

/** `CHAT_JWKS_URL`: an http(s) URL (a `file:` one for local keys), or empty. */
function jwksUrl(env: Env): string {
  const raw = env.get("CHAT_JWKS_URL")?.trim() ?? "";
  if (raw === "") return "";
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== "https:" && url?.protocol !== "http:" && url?.protocol !== "file:") {
    throw new SettingsError(
      `CHAT_JWKS_URL must be an http(s) URL such as https://example.auth0.com/.well-known/jwks.json (or a file: URL), got '${raw}'`,
    );
  }
  return raw;
}

/** Where settings are read from: `Deno.env`, or any object with the same `get`. */
export type Env = { get(name: string): string | undefined };

function integer(env: Env, name: string, fallback: number, min: number): number {
  const raw = env.get(name);
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    const what = min === 0 ? "a non-negative integer" : `an integer of at least ${min}`;
    throw new SettingsError(`${name} must be ${what}, got '${raw}'`);
  }
  return value;
}

function number(env: Env, name: string, fallback: number): number {
  const raw = env.get(name);
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new SettingsError(`${name} must be a positive number, got '${raw}'`);
  }
  return value;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env.get(name);
  if (raw === undefined || raw.trim() === "") return fallback;
  const found = allowed.find((value) => value === raw.trim());
  if (!found) throw new SettingsError(`${name} must be one of ${allowed.join(", ")}, got '${raw}'`);
  return found;
}

function list(env: Env, name: string): string[] {
  return (env.get(name) ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** `CHAT_GRPC_PORT`, as a setting only when it is set. */
function grpcPort(env: Env): { grpcPort?: number } {
  const raw = env.get("CHAT_GRPC_PORT");
  if (raw === undefined || raw.trim() === "") return {};
  const port = integer(env, "CHAT_GRPC_PORT", 0, 1);
  if (port > 65535) {
    throw new SettingsError(`CHAT_GRPC_PORT must be a port (1-65535), got '${raw}'`);
  }
  return { grpcPort: port };
}

/** Whether `env` is Deno Deploy's: it sets `DENO_DEPLOY=true` and `DENO_DEPLOYMENT_ID`. */
export function isDenoDeploy(env: Env = Deno.env): boolean {
  return Boolean(env.get("DENO_DEPLOYMENT_ID")?.trim()) ||
    env.get("DENO_DEPLOY")?.trim() === "true";
}

/**
 * `/metrics` on or off. A public deployment does not publish its figures to everyone: on Deno
 * Deploy they are served only behind `CHAT_METRICS_TOKEN`, and are off without one.
 */
function metricsSetting(env: Env, onDeploy: boolean, token: string): "on" | "off" {
  const wanted = oneOf(env, "CHAT_METRICS", DEFAULT_SETTINGS.metrics, ["on", "off"] as const);
  return onDeploy && token === "" ? "off" : wanted;
}

/** Reads every setting from `env` (default: `Deno.env`), refusing bad values with a clear message. */
export function loadSettings(env: Env = Deno.env): Settings {
  const d = DEFAULT_SETTINGS;
  const onDeploy = isDenoDeploy(env);
  const metricsToken = env.get("CHAT_METRICS_TOKEN")?.trim() ?? "";
  const heartbeatMs = integer(env, "CHAT_HEARTBEAT_MS", d.heartbeatMs, 10);
  const presenceTimeoutMs = integer(env, "CHAT_PRESENCE_TIMEOUT_MS", d.presenceTimeoutMs, 10);
  if (presenceTimeoutMs <= heartbeatMs * 2) {
    throw new SettingsError(
      `CHAT_PRESENCE_TIMEOUT_MS (${presenceTimeoutMs}) must exceed twice CHAT_HEARTBEAT_MS (${heartbeatMs})`,
    );
  }
  return {
    port: integer(env, "PORT", d.port, 0),
    hostname: env.get("HOSTNAME")?.trim() || d.hostname,
    kvPath: env.get("CHAT_KV_PATH")?.trim() || (onDeploy ? "default" : d.kvPath),
    maxMessageLength: integer(env, "CHAT_MAX_MESSAGE", d.maxMessageLength, 1),
    maxFrameBytes: integer(env, "CHAT_MAX_FRAME", d.maxFrameBytes, 256),
    ratePerSecond: number(env, "CHAT_RATE_PER_SEC", d.ratePerSecond),
    rateBurst: integer(env, "CHAT_RATE_BURST", d.rateBurst, 1),
    maxRoomsPerConnection: integer(
      env,
      "CHAT_MAX_ROOMS_PER_CONNECTION",
      d.maxRoomsPerConnection,
      1,
    ),
    retainMessages: integer(env, "CHAT_RETAIN_MESSAGES", d.retainMessages, 1),
    retainMs: integer(env, "CHAT_RETAIN_MS", d.retainMs, 0),
    heartbeatMs,
    presenceTimeoutMs,
    busKind: oneOf(
      env,
      "CHAT_BUS",
      onDeploy ? "kv" : d.busKind,
      ["broadcast-channel", "kv", "memory"] as const,
    ),
    busNamespace: env.get("CHAT_BUS_NAMESPACE")?.trim() || d.busNamespace,
    idleTimeoutSeconds: integer(env, "CHAT_IDLE_TIMEOUT_S", d.idleTimeoutSeconds, 0),
    maxBufferedBytes: integer(env, "CHAT_MAX_BUFFERED", d.maxBufferedBytes, 1024),
    maxConnections: integer(env, "CHAT_MAX_CONNECTIONS", d.maxConnections, 1),
    allowedOrigins: list(env, "CHAT_ALLOWED_ORIGINS"),
    jwtSecret: env.get("CHAT_JWT_SECRET") ?? "",
    jwksUrl: jwksUrl(env),
    jwtIssuer: env.get("CHAT_JWT_ISSUER")?.trim() ?? "",
    jwtAudience: env.get("CHAT_JWT_AUDIENCE")?.trim() ?? "",
    jwksRefetchSeconds: integer(env, "CHAT_JWKS_REFETCH_S", d.jwksRefetchSeconds, 1),
    webTokenUrl: env.get("CHAT_WEB_TOKEN_URL")?.trim() ?? "",
    shutdownMs: integer(env, "CHAT_SHUTDOWN_MS", d.shutdownMs, 0),
    log: oneOf(env, "CHAT_LOG", d.log, ["json", "off"] as const),
    metrics: metricsSetting(env, onDeploy, metricsToken),
    metricsToken,
    maxBodyBytes: integer(env, "CHAT_MAX_BODY", d.maxBodyBytes, 256),
    tokenMaxTtlSeconds: integer(env, "CHAT_TOKEN_MAX_TTL_S", d.tokenMaxTtlSeconds, 1),
    allowedHosts: list(env, "CHAT_ALLOWED_HOSTS").map((h) => h.toLowerCase()),
    joinRatePerSecond: number(env, "CHAT_JOIN_RATE_PER_SEC", d.joinRatePerSecond),
    joinBurst: integer(env, "CHAT_JOIN_BURST", d.joinBurst, 1),
    maxRooms: integer(env, "CHAT_MAX_ROOMS", d.maxRooms, 1),
    maxReplay: integer(env, "CHAT_MAX_REPLAY", d.maxReplay, 1),
    maxConnectionsPerAddress: integer(
      env,
      "CHAT_MAX_CONNECTIONS_PER_ADDRESS",
      d.maxConnectionsPerAddress,
      1,
    ),
    trustProxy: oneOf(env, "CHAT_TRUST_PROXY", d.trustProxy, ["on", "off"] as const),
    redisUrl: redisUrl(env),
    redisPrefix: env.get("CHAT_REDIS_PREFIX")?.trim() || d.redisPrefix,
    redisConnectTimeoutMs: integer(
      env,
      "CHAT_REDIS_CONNECT_TIMEOUT_MS",
      d.redisConnectTimeoutMs,
      1,
    ),
    redisCluster: redisCluster(env),
    redisWaitReplicas: integer(env, "CHAT_REDIS_WAIT_REPLICAS", d.redisWaitReplicas, 0),
    redisWaitTimeoutMs: integer(env, "CHAT_REDIS_WAIT_TIMEOUT_MS", d.redisWaitTimeoutMs, 1),
    largeRoom: integer(env, "CHAT_LARGE_ROOM", d.largeRoom, 1),
    presenceDiffMs: integer(env, "CHAT_PRESENCE_DIFF_MS", d.presenceDiffMs, 1),
    oversizeBanSeconds: integer(env, "CHAT_OVERSIZE_BAN_S", d.oversizeBanSeconds, 0),
    onDeploy,
    roomIdleTtlSeconds: integer(env, "CHAT_ROOM_IDLE_TTL_S", d.roomIdleTtlSeconds, 0),
    roomsPerHour: number(env, "CHAT_ROOMS_PER_HOUR", d.roomsPerHour),
    sessionTtlSeconds: integer(env, "CHAT_SESSION_TTL_S", d.sessionTtlSeconds, 1),
    ...grpcPort(env),
  };
}
