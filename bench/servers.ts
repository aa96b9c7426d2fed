/**
 * The servers the benchmarks measure, started on loopback as child processes: ours in its
 * engines, the floor (a bare Deno relay) and the peers (Node `ws`, Socket.IO 4). Each answers
 * `GET /health` once ready; with `pinServers`, every one runs on one core (`taskset`).
 *
 * @module
 */
import { freePort, healthNode } from "./loopback.ts";
import { startCluster } from "./redis_cluster.ts";
import { startTaskFlags } from "../src/cli/start_task.ts";

const ROOT = new URL("../", import.meta.url);
/** A path inside the repository. */
export const path = (relative: string) => decodeURIComponent(new URL(relative, ROOT).pathname);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** When set, servers are started pinned to this CPU list (`taskset -c`). */
let serverCpus: string | undefined;

/** Pins every server started from now on to `cpus` (e.g. "0"), when `taskset` is installed. */
export function pinServers(cpus: string | undefined): void {
  serverCpus = cpus;
}

export type Kind = "ours" | "relay" | "socketio";

/** Where a load client of `kind` connects to be in `room` (as `name`, for ours). */
export function socketUrl(kind: Kind, port: number, room: string, name: string): string {
  return kind === "ours"
    ? `ws://127.0.0.1:${port}/ws?name=${name}&room=${room}`
    : kind === "socketio"
    ? `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket&room=${room}`
    : `ws://127.0.0.1:${port}/?room=${room}`;
}

export interface Server {
  readonly name: string;
  readonly kind: Kind;
  /** One port per process (clients are spread over them). */
  readonly ports: number[];
  readonly pids: number[];
  /** The processes it stands on (its Redis servers), whose CPU is part of its cost. */
  readonly backendPids: number[];
  stop(): Promise<void>;
}

export interface ServerSpec {
  readonly name: string;
  readonly kind: Kind;
  /** Isolates serving behind one port; the bench waits until each has answered. */
  readonly isolates?: number;
  /** Processes, each on its own port (default 1). */
  readonly processes?: number;
  /**
   * Whether it runs on a Redis: a fresh `redis-server` per start (`one`), or a fresh Redis
   * Cluster of 3 masters (`cluster`), each with a replica (`cluster+replicas`); skipped when none
   * is installed.
   */
  readonly redis?: "one" | "cluster" | "cluster+replicas";
  /** Starts one process; `redis` is the Redis URL, or the cluster's seeds. */
  start(
    port: number,
    dir: string,
    redis: string,
  ): Deno.ChildProcess | Promise<Deno.ChildProcess>;
}

/** The settings of ours in every benchmark: no limits in the way of the load. */
export const OURS_ENV = {
  HOSTNAME: "127.0.0.1",
  CHAT_LOG: "off",
  CHAT_RATE_PER_SEC: "1000000000",
  CHAT_RATE_BURST: "1000000000",
  CHAT_MAX_BUFFERED: String(64 * 1024 * 1024),
  CHAT_MAX_CONNECTIONS: "100000",
  CHAT_MAX_CONNECTIONS_PER_ADDRESS: "100000", // the load generator is one address
  CHAT_ROOMS_PER_HOUR: "100000000", // and it makes hundreds of rooms
  CHAT_BUS_NAMESPACE: `bench-${crypto.randomUUID()}`,
};
/**
 * What ours runs with: the flags of `deno task start` (its permissions and V8 settings), so that
 * the bench measures what users run.
 */
const START_FLAGS = startTaskFlags();

function spawn(cmd: string, args: string[], env: Record<string, string>): Deno.ChildProcess {
  // `taskset` execs the command: the child's pid is the server's.
  const [bin, argv] = serverCpus ? ["taskset", ["-c", serverCpus, cmd, ...args]] : [cmd, args];
  return new Deno.Command(bin, {
    args: argv,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  })
    .spawn();
}

/** What the Node peers need from npm, installed together (one install: npm prunes otherwise). */
const NODE_PACKAGES = ["ws@8", "socket.io@4", "@socket.io/redis-streams-adapter@0.3", "redis@5"];
let installing: Promise<string> | undefined;

/** Installs the Node peers' packages into bench/.cache once; returns the path of one of them. */
function nodeModule(name: string): Promise<string> {
  installing ??= (async () => {
    const dir = path("bench/.cache/node");
    const marker = `${dir}/installed-${NODE_PACKAGES.join("+").replaceAll("/", "_")}`;
    try {
      await Deno.stat(marker);
      return dir;
    } catch {
      await Deno.mkdir(dir, { recursive: true });
      const install = await new Deno.Command("npm", {
        args: [
          "install",
          "--prefix",
          dir,
          "--no-save",
          "--no-audit",
          "--no-fund",
          ...NODE_PACKAGES,
        ],
        stdout: "null",
        stderr: "inherit",
      }).output();
      if (!install.success) throw new Error(`npm install ${NODE_PACKAGES.join(" ")} failed`);
      await Deno.writeTextFile(marker, "");
      return dir;
    }
  })();
  return installing.then((dir) => `${dir}/node_modules/${name}`);
}

const wsModule = () => nodeModule("ws");

/** Whether Debian's `redis-server` (or any on the PATH) is installed. */
export async function haveRedis(): Promise<boolean> {
  try {
    return (await new Deno.Command("redis-server", { args: ["--version"] }).output()).success;
  } catch {
    return false;
  }
}

/** A fresh redis-server on a free port, without persistence; resolves once it answers. */
async function startRedis(): Promise<{ url: string; pids: number[]; stop(): Promise<void> }> {
  const port = freePort();
  const child = new Deno.Command("redis-server", {
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error("redis-server did not start");
      await sleep(50);
    }
  }
  return {
    url: `redis://127.0.0.1:${port}/0`,
    pids: [child.pid],
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** bench/socketio_server.cjs on Node: on `redisUrl` through the Redis streams adapter, if given. */
async function socketIo(port: number, redisUrl?: string): Promise<Deno.ChildProcess> {
  const [sio, adapter, redis] = await Promise.all(
    ["socket.io", "@socket.io/redis-streams-adapter", "redis"].map(nodeModule),
  );
  return spawn("node", [path("bench/socketio_server.cjs")], {
    PORT: String(port),
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    SIO_MODULE: sio,
    SIO_ADAPTER_MODULE: adapter,
    REDIS_MODULE: redis,
  });
}

/** Ours under `deno serve --parallel` with 2 isolates, with these settings besides the bench's. */
function serveParallel(port: number, env: Record<string, string>): Deno.ChildProcess {
  const args = ["serve", "--parallel", ...START_FLAGS, "--port", String(port), "--host"];
  return spawn(Deno.execPath(), [...args, "127.0.0.1", path("main.ts")], {
    ...OURS_ENV,
    DENO_JOBS: "2",
    ...env,
  });
}

export const SPECS: ServerSpec[] = [
  {
    name: "ours (KV file)",
    kind: "ours",
    start: (port, dir) =>
      spawn(Deno.execPath(), ["run", ...START_FLAGS, path("main.ts"), "listen"], {
        ...OURS_ENV,
        PORT: String(port),
        CHAT_KV_PATH: `${dir}/kv-file.kv`,
      }),
  },
  {
    name: "ours (KV :memory:)",
    kind: "ours",
    start: (port) =>
      spawn(Deno.execPath(), ["run", ...START_FLAGS, path("main.ts"), "listen"], {
        ...OURS_ENV,
        PORT: String(port),
        CHAT_KV_PATH: ":memory:",
      }),
  },
  {
    name: "ours (2 isolates, KV file)",
    kind: "ours",
    isolates: 2,
    start: (port, dir) => serveParallel(port, { CHAT_KV_PATH: `${dir}/kv-parallel.kv` }),
  },
  {
    // The Deno Deploy engine, measured locally: the isolates share one KV file and talk only
    // through it (CHAT_BUS=kv: watches on each room's head), not through BroadcastChannel.
    name: "ours (2 isolates, KV bus)",
    kind: "ours",
    isolates: 2,
    start: (port, dir) => serveParallel(port, { CHAT_BUS: "kv", CHAT_KV_PATH: `${dir}/kv-bus.kv` }),
  },
  {
    // Past one process: two `deno task start` processes on one Redis (half the clients on each).
    name: "ours (2 processes + Redis)",
    kind: "ours",
    processes: 2,
    redis: "one",
    start: (port, _dir, redisUrl) =>
      spawn(Deno.execPath(), ["run", ...START_FLAGS, path("main.ts"), "listen"], {
        ...OURS_ENV,
        PORT: String(port),
        CHAT_REDIS_URL: redisUrl,
      }),
  },
  {
    // The same two processes on a Redis Cluster of 3 masters (no replicas: the cost of sharding,
    // not of replication), rooms spread over the masters' slots.
    name: "ours (2 processes + Redis Cluster, 3 masters)",
    kind: "ours",
    processes: 2,
    redis: "cluster",
    start: (port, _dir, seeds) =>
      spawn(Deno.execPath(), ["run", ...START_FLAGS, path("main.ts"), "listen"], {
        ...OURS_ENV,
        PORT: String(port),
        CHAT_REDIS_CLUSTER: seeds,
      }),
  },
  {
    // And with a replica per master, each append acknowledged once its replica has it (WAIT 1).
    name: "ours (2 processes + Redis Cluster, 3+3, WAIT 1)",
    kind: "ours",
    processes: 2,
    redis: "cluster+replicas",
    start: (port, _dir, seeds) =>
      spawn(Deno.execPath(), ["run", ...START_FLAGS, path("main.ts"), "listen"], {
        ...OURS_ENV,
        PORT: String(port),
        CHAT_REDIS_CLUSTER: seeds,
        CHAT_REDIS_WAIT_REPLICAS: "1",
      }),
  },
  {
    name: "floor (Deno relay)",
    kind: "relay",
    start: (port) =>
      spawn(Deno.execPath(), ["run", "--allow-net", "--allow-env", path("bench/floor_server.ts")], {
        PORT: String(port),
      }),
  },
  {
    name: "peer (Node ws)",
    kind: "relay",
    start: async (port) =>
      spawn("node", [path("bench/node_ws_server.cjs")], {
        PORT: String(port),
        WS_MODULE: await wsModule(),
      }),
  },
  {
    // What a Node user would pick on one machine: Socket.IO 4 with rooms, acknowledgements and
    // connection-state recovery on (its in-memory adapter).
    name: "peer (Socket.IO 4)",
    kind: "socketio",
    start: (port) => socketIo(port),
  },
  {
    // What a Node user would pick across processes: Socket.IO 4, Redis streams adapter,
    // acknowledgements and connection-state recovery on.
    name: "peer (Socket.IO 4 + Redis streams, 2 processes)",
    kind: "socketio",
    processes: 2,
    redis: "one",
    start: (port, _dir, redisUrl) => socketIo(port, redisUrl),
  },
];

export async function startServer(spec: ServerSpec, dir: string): Promise<Server> {
  const redis = spec.redis === "one"
    ? await startRedis()
    : spec.redis !== undefined
    ? await startCluster({ replicas: spec.redis === "cluster" ? 0 : 1 }).then((c) => ({
      url: c.seeds,
      pids: c.nodes.map((n) => n.pid),
      stop: () => c.close(),
    }))
    : undefined;
  const ports = Array.from({ length: spec.processes ?? 1 }, () => freePort());
  const children = await Promise.all(ports.map((port) => spec.start(port, dir, redis?.url ?? "")));
  const stop = async () => {
    await Promise.all(children.map(async (child) => {
      try {
        child.kill("SIGINT");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await child.status;
      clearTimeout(timer);
    }));
    await redis?.stop();
  };
  try {
    const deadline = Date.now() + 30_000;
    for (const port of ports) {
      for (;;) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/health`);
          await res.body?.cancel();
          break;
        } catch {
          if (Date.now() > deadline) throw new Error(`${spec.name} did not start`);
          await sleep(100);
        }
      }
      // Behind `deno serve --parallel` the first isolate may answer before the others started.
      const nodes = new Set<string>();
      while (nodes.size < (spec.isolates ?? 1)) {
        if (Date.now() > deadline) throw new Error(`${spec.name}: not every isolate started`);
        nodes.add(await healthNode(port));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    name: spec.name,
    kind: spec.kind,
    ports,
    pids: children.map((c) => c.pid),
    backendPids: redis?.pids ?? [],
    stop,
  };
}

/** Resident memory of a server: its processes and their children, in bytes (Linux /proc). */
export async function serverMemory(server: Server): Promise<number> {
  return (await Promise.all(server.pids.map(rss))).reduce((a, b) => a + b, 0);
}

/** Resident memory of a process and its children, in bytes (Linux /proc). */
export async function rss(pid: number): Promise<number> {
  let total = 0;
  const visit = async (p: number) => {
    try {
      const status = await Deno.readTextFile(`/proc/${p}/status`);
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      const children = await Deno.readTextFile(`/proc/${p}/task/${p}/children`);
      for (const child of children.trim().split(/\s+/).filter(Boolean)) await visit(Number(child));
    } catch { /* gone */ }
  };
  await visit(pid);
  return total;
}
