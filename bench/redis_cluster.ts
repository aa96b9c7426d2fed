/**
 * A real Redis Cluster for tests and benchmarks: redis-server processes (3 masters, each with
 * one replica unless told) on loopback ports below 55536 (each node's cluster bus listens on
 * port + 10000), formed by `redis-cli --cluster create`, stopped by their pids (never by name).
 *
 * @module
 */

/** One node of a {@link TestCluster}. */
export interface ClusterNode {
  readonly port: number;
  readonly pid: number;
  /** Whether it has not been killed. */
  readonly running: boolean;
}

/** A Redis Cluster this process started. */
export interface TestCluster {
  readonly nodes: readonly ClusterNode[];
  /** `host:port` of every node, comma-separated (the `CHAT_REDIS_CLUSTER` setting). */
  readonly seeds: string;
  /** Runs `redis-cli -p <port> <args>` against a node and returns its output. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** The port of the master that serves `key` now. */
  masterOf(key: string): Promise<number>;
  /** Kills a node with SIGKILL (no goodbye to the cluster). */
  kill(port: number): Promise<void>;
  /**
   * Starts a killed node again with its cluster state: it rejoins as a replica of the master
   * that took its slots; resolves once that replica is in sync.
   */
  restart(port: number): Promise<void>;
  /** Resolves once every running node says the cluster is ok and `port` is no master there. */
  failedOver(port: number): Promise<void>;
  /** Moves `count` slots from the master on `from` to the master on `to` (`--cluster reshard`). */
  reshard(from: number, to: number, count: number): Promise<string>;
  /** Forms the cluster (`redis-cli --cluster create`) and waits until every node says ok. */
  form(): Promise<void>;
  /** Stops every node and removes their files. */
  close(): Promise<void>;
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** Masters; 3 unless told. */
  readonly masters?: number;
  /** Replicas of each master; 1 unless told. */
  readonly replicas?: number;
  /** How long a silent master is given before its replica takes over, in ms (2000). */
  readonly nodeTimeoutMs?: number;
  /** Whether to form the cluster now (default); without, {@link TestCluster.form} does it. */
  readonly form?: boolean;
}

/** Resolves once `condition` holds; polls every 20 ms, fails after `timeoutMs`. */
async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function free(port: number): boolean {
  try {
    const listener = Deno.listen({ hostname: "127.0.0.1", port });
    listener.close();
    return true;
  } catch {
    return false;
  }
}

/** `n` consecutive free ports in [20000, 45000) whose cluster bus ports (+10000) are free too. */
function freePorts(n: number): number[] {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20000 + Math.floor(Math.random() * (25000 - n));
    const ports = Array.from({ length: n }, (_, i) => base + i);
    if (ports.every((port) => free(port) && free(port + 10000))) return ports;
  }
  throw new Error("no free ports for a cluster");
}

async function run(command: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${command} ${args.join(" ")} failed: ${text}`);
  return text;
}

/** Whether a `CLUSTER NODES` line lists `slot` among its ranges. */
function ownsSlot(line: string, slot: number): boolean {
  for (const part of line.split(" ").slice(8)) {
    if (part.startsWith("[")) continue;
    const [from, to] = part.split("-").map(Number);
    if (slot >= from && slot <= (to ?? from)) return true;
  }
  return false;
}

/** The port in a `CLUSTER NODES` line's address (`host:port@bus`). */
const portOf = (line: string) => Number(line.split(" ")[1].split("@")[0].split(":").at(-1));

/**
 * Starts the nodes, forms the cluster (unless `form: false`), and waits until every node reports
 * `cluster_state:ok` and every replica is in sync with its master.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const ports = freePorts(masters * (1 + replicas));
  const dir = await Deno.makeTempDir({ prefix: "chat-cluster-" });
  const children = new Map<number, Deno.ChildProcess>();
  const cli = (port: number, ...args: string[]) =>
    run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args]);
  const spawn = (port: number) =>
    new Deno.Command("redis-server", {
      args: [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `${dir}/${port}/nodes.conf`,
        "--cluster-node-timeout",
        String(options.nodeTimeoutMs ?? 2000),
        "--dir",
        `${dir}/${port}`,
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
  for (const port of ports) {
    await Deno.mkdir(`${dir}/${port}`);
    children.set(port, spawn(port));
  }
  const alive = new Set(ports);
  const cluster: TestCluster = {
    get nodes() {
      return ports.map((port) => ({
        port,
        pid: children.get(port)!.pid,
        running: alive.has(port),
      }));
    },
    seeds: ports.map((port) => `127.0.0.1:${port}`).join(","),
    cli,
    masterOf: async (key) => {
      const any = [...alive][0];
      const slot = Number((await cli(any, "CLUSTER", "KEYSLOT", key)).trim());
      for (const line of (await cli(any, "CLUSTER", "NODES")).split("\n")) {
        const flags = line.split(" ")[2] ?? "";
        if (!flags.includes("master") || flags.includes("fail")) continue;
        if (ownsSlot(line, slot)) return portOf(line);
      }
      throw new Error(`no master serves ${key}`);
    },
    kill: async (port) => {
      const child = children.get(port)!;
      alive.delete(port);
      child.kill("SIGKILL");
      await child.status;
    },
    restart: async (port) => {
      children.set(port, spawn(port));
      alive.add(port);
      await eventually(
        async () => {
          const role = await cli(port, "ROLE").catch(() => "");
          return role.startsWith("slave") && role.includes("connected");
        },
        `the node on ${port} back as an in-sync replica`,
        30_000,
      );
    },
    failedOver: (port) =>
      eventually(
        async () => {
          for (const other of alive) {
            const info = await cli(other, "CLUSTER", "INFO").catch(() => "");
            if (!info.includes("cluster_state:ok")) return false;
            const nodes = await cli(other, "CLUSTER", "NODES").catch(() => "");
            const line = nodes.split("\n").find((l) => l.includes(`:${port}@`));
            if (!line) return false;
            // Marked failed by the majority (`fail`, not the suspicion `fail?`), its slots gone.
            const fields = line.split(" ");
            if (!fields[2].split(",").includes("fail")) return false;
            if (fields.slice(8).some((part) => part !== "" && !part.startsWith("["))) return false;
          }
          return true;
        },
        `a failover of the master on ${port}`,
        30_000,
      ),
    reshard: async (from, to, count) => {
      const id = async (port: number) => (await cli(port, "CLUSTER", "MYID")).trim();
      return await run("redis-cli", [
        "--cluster",
        "reshard",
        `127.0.0.1:${from}`,
        "--cluster-from",
        await id(from),
        "--cluster-to",
        await id(to),
        "--cluster-slots",
        String(count),
        "--cluster-yes",
        "--cluster-pipeline",
        "100",
      ]);
    },
    form: async () => {
      await run("redis-cli", [
        "--cluster",
        "create",
        ...ports.map((port) => `127.0.0.1:${port}`),
        "--cluster-replicas",
        String(replicas),
        "--cluster-yes",
      ]);
      await eventually(
        async () => {
          for (const port of ports) {
            const info = await cli(port, "CLUSTER", "INFO").catch(() => "");
            if (!info.includes("cluster_state:ok")) return false;
            // A replica in sync with its master (else WAIT 1 would time out at first).
            const role = await cli(port, "ROLE").catch(() => "");
            if (role.startsWith("slave") && !role.includes("connected")) return false;
          }
          return true;
        },
        "the cluster to form",
        30_000,
      );
    },
    close: async () => {
      for (const port of [...alive]) {
        const child = children.get(port)!;
        child.kill("SIGKILL");
        await child.status;
      }
      alive.clear();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  try {
    await eventually(
      async () => {
        for (const port of ports) {
          if (!(await cli(port, "PING").catch(() => "")).includes("PONG")) return false;
        }
        return true;
      },
      "the cluster's nodes to answer",
      10_000,
    );
    if (options.form ?? true) await cluster.form();
  } catch (error) {
    await cluster.close();
    throw error;
  }
  return cluster;
}
