// A real redis-server per test file: on a free loopback port, without persistence, stopped by its
// pid (never by name: other Redis servers on the machine are not ours).
import { closeRedis, openRedis, type RedisClient } from "../../src/engines/redis/redis_client.ts";
import { eventually, freePort, type ServerProcess, startProcess } from "../_helpers.ts";

/** Limits lifted for servers under a test's load (every client comes from 127.0.0.1). */
export const LIFTED_LIMITS = {
  CHAT_RATE_PER_SEC: "100000",
  CHAT_RATE_BURST: "100000",
  CHAT_MAX_CONNECTIONS_PER_ADDRESS: "1000",
  CHAT_ROOMS_PER_HOUR: "100000000",
};

/** Two `deno task start` processes with the same settings (one chat, over Redis). */
export async function twoServers(
  settings: Record<string, string>,
): Promise<[ServerProcess, ServerProcess]> {
  return await Promise.all([startProcess(settings), startProcess(settings)]) as [
    ServerProcess,
    ServerProcess,
  ];
}

/** Kills the processes (SIGKILL), then stops what they ran on (a Redis, a cluster). */
export async function stopAll(
  processes: ServerProcess[],
  under: { close(): Promise<void> },
): Promise<void> {
  await Promise.all(processes.map((p) => p.stop("SIGKILL")));
  await under.close();
}

/** A redis-server this test started. */
export interface TestRedis {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  /** A client on it (closed by `stop`). */
  client(): Promise<RedisClient>;
  /** Stops it (SIGTERM to its pid) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after `stop`), empty. */
  restart(): Promise<void>;
  /** Closes the clients it handed out and stops it. */
  close(): Promise<void>;
}

function spawn(port: number, dir?: string): Deno.ChildProcess {
  // Without `dir`, nothing is persisted; with it, every write is in the AOF before Redis answers
  // (for tests that stop Redis and expect it back with its data, as a real deployment would).
  const persistence = dir === undefined
    ? ["--save", "", "--appendonly", "no"]
    : ["--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir];
  return new Deno.Command("redis-server", {
    args: ["--port", String(port), "--bind", "127.0.0.1", ...persistence],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function answers(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buffer = new Uint8Array(16);
      const n = await conn.read(buffer);
      return n !== null && new TextDecoder().decode(buffer.subarray(0, n)).startsWith("+PONG");
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

/**
 * Starts a redis-server on a free port and waits until it answers PING; with `persist`, its data
 * lives in an append-only file in a temporary folder and survives {@link TestRedis.restart}.
 */
export async function startRedis(options: { persist?: boolean } = {}): Promise<TestRedis> {
  const port = freePort();
  const dir = options.persist ? await Deno.makeTempDir({ prefix: "chat-redis-" }) : undefined;
  let child = spawn(port, dir);
  await eventually(() => answers(port), `redis-server on port ${port}`, 10_000);
  const clients: RedisClient[] = [];
  let running = true;
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    get pid() {
      return child.pid;
    },
    client: async () => {
      const client = await openRedis(`redis://127.0.0.1:${port}/0`, "test");
      clients.push(client);
      return client;
    },
    stop: async () => {
      if (!running) return;
      running = false;
      child.kill("SIGTERM");
      await child.status;
    },
    restart: async () => {
      if (running) return;
      child = spawn(port, dir);
      running = true;
      await eventually(() => answers(port), `redis-server back on port ${port}`, 10_000);
    },
    close: async () => {
      for (const client of clients) await closeRedis(client);
      if (running) {
        running = false;
        child.kill("SIGTERM");
        await child.status;
      }
      if (dir !== undefined) await Deno.remove(dir, { recursive: true });
    },
  };
}
