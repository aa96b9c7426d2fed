import type { RedisClientType, RedisClusterType, RedisDefaultModules } from "redis";
import type { Logger } from "../../core/types.ts";

/** A node-redis client as this project configures it (RESP3, no modules, functions or scripts). */
export type RedisClient = RedisClientType<
  RedisDefaultModules,
  Record<never, never>,
  Record<never, never>,
  3,
  Record<never, never>
>;

/** A node-redis cluster client as this project configures it (RESP3, no modules). */
export type RedisClusterClient = RedisClusterType<
  RedisDefaultModules,
  Record<never, never>,
  Record<never, never>,
  3,
  Record<never, never>
>;

/**
 * A node-redis client with this project's settings (no offline queue, backoff with jitter). The
 * package is loaded here, on first use, so that a server without Redis (Deno Deploy above all)
 * never loads it: a cold start pays only for what it runs.
 */
async function newClient(url: string): Promise<RedisClient> {
  const { createClient } = await import("redis");
  return createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      reconnectStrategy: (retries: number) => reconnectDelay(retries),
      connectTimeout: 5000,
    },
  });
}

/** How long a reconnecting client waits at most between attempts, in ms. */
const MAX_BACKOFF_MS = 2000;

/**
 * The wait before reconnect attempt `retries`: doubling from 50 ms up to 2 s, with jitter so that
 * many processes losing one Redis do not come back in step.
 */
export function reconnectDelay(retries: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_BACKOFF_MS, 50 * 2 ** Math.min(retries, 10));
  return Math.round(base / 2 + random() * base / 2);
}

/**
 * Opens a client to `url` (`redis://host:port/db`). Commands fail at once while Redis is away
 * (no offline queue: an append must answer `store_failed`, not wait), and the client reconnects
 * with backoff by itself. Connection losses and returns are logged once each, not per attempt.
 */
export async function openRedis(
  url: string,
  role: string,
  log?: Logger,
  timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<RedisClient> {
  const client = await newClient(url);
  let lastError: unknown;
  let connecting = true;
  let refuse: (error: RedisUnreachable) => void = () => {};
  // Credentials refused will not be accepted by trying again: the start stops at once.
  const refused = new Promise<never>((_, reject) => refuse = reject);
  client.on("error", (error: unknown) => {
    lastError = error;
    if (!connecting || !refusedCredentials(error)) return;
    client.destroy();
    refuse(
      new RedisUnreachable(
        `Redis at ${redacted(url)} refused the credentials (${(error as Error).message})`,
        "credentials",
      ),
    );
  });
  watch(client, role, log);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      client.destroy();
      const reason = lastError instanceof Error ? lastError.message : "no answer";
      reject(new RedisUnreachable(`cannot reach Redis at ${redacted(url)} (${reason})`));
    }, timeoutMs);
  });
  try {
    await Promise.race([client.connect(), timedOut, refused]);
  } finally {
    connecting = false;
    clearTimeout(timer);
  }
  return client;
}

/** How long a starting server waits for Redis before it gives up, in ms. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Redis could not be used when the server started (the server does not start without it):
 * `unreachable` (no answer, or an error that may pass) or `credentials` (the password or user
 * was refused: trying again will not help).
 */
export class RedisUnreachable extends Error {
  /** An error naming the URL (without its password) and the reason. */
  constructor(message: string, readonly code: "unreachable" | "credentials" = "unreachable") {
    super(message);
    this.name = "RedisUnreachable";
  }
}

/** Whether Redis refused the connection's credentials (`WRONGPASS`, `NOAUTH`, a stray `AUTH`). */
function refusedCredentials(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /^(WRONGPASS|NOAUTH)\b|^ERR AUTH\b/.test(message);
}

/** The URL without its password, for messages and logs. */
export function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.href;
  } catch {
    return "(an invalid URL)";
  }
}

/** A second connection with the same settings (a subscriber needs its own). */
export async function duplicateRedis(
  client: RedisClient,
  role: string,
  log?: Logger,
): Promise<RedisClient> {
  const copy = client.duplicate();
  watch(copy, role, log);
  await copy.connect();
  return copy;
}

function watch(client: RedisClient, role: string, log?: Logger): void {
  let down = false;
  client.on("error", (error: unknown) => {
    if (down) return;
    down = true;
    log?.("redis_down", { role, error: String(error) });
  });
  client.on("ready", () => {
    if (!down) return;
    down = false;
    log?.("redis_back", { role });
  });
}

/**
 * Opens a cluster client from seed nodes (`host:port`): it learns the slots from them, routes each
 * command to the master of its key's slot, follows `MOVED`/`ASK`, and reads the topology again soon
 * after a node stops answering (a failover). Commands to a node that is away fail at once.
 */
export async function openRedisCluster(
  seeds: readonly string[],
  log?: Logger,
  timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<RedisClusterClient> {
  const { createCluster } = await import("redis");
  const cluster = createCluster({
    rootNodes: seeds.map((seed) => ({ url: `redis://${seed}` })),
    defaults: {
      disableOfflineQueue: true,
      socket: {
        reconnectStrategy: (retries: number) => reconnectDelay(retries),
        connectTimeout: 5000,
      },
    },
    RESP: 3,
    // A node that stops answering is usually a failed master: read the slots again soon.
    topologyRefreshOnReconnectionAttemptStrategy: TOPOLOGY_REFRESH_MS,
  }) as unknown as RedisClusterClient;
  let lastError: unknown;
  let down = false;
  cluster.on("error", (error: unknown) => lastError = error);
  cluster.on("node-error", (error: unknown, node: { host?: string; port?: number }) => {
    if (down) return;
    down = true;
    log?.("redis_down", {
      role: "cluster",
      node: `${node?.host}:${node?.port}`,
      error: String(error),
    });
  });
  cluster.on("node-ready", () => {
    if (!down) return;
    down = false;
    log?.("redis_back", { role: "cluster" });
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** What the cluster said last, once connected (while it does not serve every slot). */
  let serving: string | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      cluster.destroy();
      const reason = serving ?? (lastError instanceof Error ? lastError.message : "no answer");
      reject(
        new RedisUnreachable(`cannot reach the Redis Cluster at ${seeds.join(",")} (${reason})`),
      );
    }, timeoutMs);
  });
  try {
    // Wait for the cluster to serve before node-redis reads its slots: in a cluster still
    // forming, its discovery learns a half-made topology (no slots at all, or nodes still in
    // their handshake, whose connections it then waits on for good).
    const seen = (state: string) => serving = state;
    await Promise.race([untilFormed(seeds, log, seen), timedOut]);
    await Promise.race([cluster.connect(), timedOut]);
  } finally {
    clearTimeout(timer);
  }
  return cluster;
}

/**
 * Resolves once every seed that answers says `cluster_state:ok` (every slot served) — at least
 * one must answer — asking them on connections of their own every 200 ms and saying once that it
 * waits: a server started beside a cluster that is still forming waits until the nodes agree,
 * instead of failing on its first command.
 */
async function untilFormed(
  seeds: readonly string[],
  log: Logger | undefined,
  seen: (state: string) => void,
): Promise<void> {
  const stateOf = async (seed: string): Promise<string | undefined> => {
    let client: RedisClient | undefined;
    try {
      client = await openNodeClient(seed);
      const info = String(await client.sendCommand(["CLUSTER", "INFO"]));
      const state = /cluster_state:(\w+)/.exec(info)?.[1] ?? "unknown";
      const slots = /cluster_slots_assigned:(\d+)/.exec(info)?.[1] ?? "?";
      return state === "ok" ? "ok" : `cluster_state:${state}, ${slots} of ${SLOT_COUNT} slots`;
    } catch (error) {
      seen(`${seed}: ${error instanceof Error ? error.message : error}`);
      return undefined; // not answering: a seed that is down does not hold the start
    } finally {
      client?.destroy();
    }
  };
  for (let told = false;; told = true) {
    const states = (await Promise.all(seeds.map(stateOf))).filter((s) => s !== undefined);
    const waiting = states.find((state) => state !== "ok");
    if (states.length > 0 && waiting === undefined) return;
    if (waiting !== undefined) seen(waiting);
    if (!told) log?.("redis_cluster_waiting", { seeds: seeds.join(",") });
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The slots of a Redis Cluster. */
const SLOT_COUNT = 16384;

/** How soon after a cluster node stops answering its slots are read again, in ms. */
const TOPOLOGY_REFRESH_MS = 500;

/**
 * A client to one node of a cluster (a shard's subscriber). It does not reconnect by itself: its
 * owner sees it end and decides where to go, since the node may no longer own what it served.
 */
export async function openNodeClient(address: string): Promise<RedisClient> {
  const { createClient } = await import("redis");
  const client = createClient({
    url: `redis://${address}`,
    disableOfflineQueue: true,
    socket: { reconnectStrategy: false, connectTimeout: NODE_CONNECT_TIMEOUT_MS },
  });
  client.on("error", () => {}); // its owner listens for `end`
  await client.connect();
  return client;
}

/** How long a connection to one cluster node may take before it counts as failed, in ms. */
const NODE_CONNECT_TIMEOUT_MS = 2000;

/** Closes a client, whatever state it is in. */
export async function closeRedis(client: RedisClient): Promise<void> {
  try {
    if (client.isOpen) await client.close();
  } catch {
    client.destroy();
  }
}
