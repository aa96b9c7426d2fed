import assert from "node:assert/strict";
import { DEFAULT_SETTINGS, loadSettings, SettingsError } from "../src/config.ts";

const env = (vars: Record<string, string>) => ({ get: (name: string) => vars[name] });

Deno.test("with no variables, every setting has its documented default", () => {
  assert.deepEqual(loadSettings(env({})), DEFAULT_SETTINGS);
  assert.equal(DEFAULT_SETTINGS.port, 8000);
  assert.equal(DEFAULT_SETTINGS.hostname, "0.0.0.0");
  assert.equal(DEFAULT_SETTINGS.maxMessageLength, 4000);
  assert.equal(DEFAULT_SETTINGS.maxFrameBytes, 65536);
});

Deno.test("variables override the defaults", () => {
  const settings = loadSettings(env({
    PORT: "9000",
    HOSTNAME: "127.0.0.1",
    CHAT_KV_PATH: ":memory:",
    CHAT_RATE_PER_SEC: "2.5",
    CHAT_ALLOWED_ORIGINS: "https://a.example, https://b.example",
    CHAT_BUS: "memory",
    CHAT_LOG: "off",
    CHAT_REDIS_URL: "redis://127.0.0.1:6380/2",
    CHAT_REDIS_PREFIX: "team",
  }));
  assert.equal(settings.redisUrl, "redis://127.0.0.1:6380/2");
  assert.equal(loadSettings(env({ CHAT_GRPC_PORT: "50051" })).grpcPort, 50051);
  assert.equal(loadSettings(env({})).grpcPort, undefined, "no gRPC port unless asked");
  assert.equal(settings.redisPrefix, "team");
  const cluster = loadSettings(env({
    CHAT_REDIS_CLUSTER: "10.0.0.1:7000, redis-b:7001, redis://[::1]:7002",
    CHAT_REDIS_WAIT_REPLICAS: "1",
    CHAT_REDIS_WAIT_TIMEOUT_MS: "250",
  }));
  assert.deepEqual(cluster.redisCluster, ["10.0.0.1:7000", "redis-b:7001", "[::1]:7002"]);
  assert.equal(cluster.redisWaitReplicas, 1);
  assert.equal(cluster.redisWaitTimeoutMs, 250);
  assert.deepEqual(settings.redisCluster, [], "no cluster unless asked");
  assert.equal(settings.redisWaitReplicas, 0, "no waiting for replicas unless asked");
  assert.equal(settings.port, 9000);
  assert.equal(settings.hostname, "127.0.0.1");
  assert.equal(settings.kvPath, ":memory:");
  assert.equal(settings.ratePerSecond, 2.5);
  assert.deepEqual(settings.allowedOrigins, ["https://a.example", "https://b.example"]);
  assert.equal(settings.busKind, "memory");
  assert.equal(settings.log, "off");
});

Deno.test("on Deno Deploy the managed KV is the default store, and KV watches the default bus", () => {
  assert.equal(loadSettings(env({ DENO_DEPLOYMENT_ID: "abc" })).kvPath, "default");
  assert.equal(loadSettings(env({ DENO_DEPLOYMENT_ID: "abc" })).busKind, "kv");
  assert.equal(loadSettings(env({})).busKind, "broadcast-channel");
  assert.equal(
    loadSettings(env({ DENO_DEPLOYMENT_ID: "abc", CHAT_BUS: "memory" })).busKind,
    "memory",
  );
  assert.equal(
    loadSettings(env({ DENO_DEPLOYMENT_ID: "abc", CHAT_KV_PATH: ":memory:" })).kvPath,
    ":memory:",
  );
  // Deploy sets DENO_DEPLOY=true as well; either one is enough.
  assert.equal(loadSettings(env({ DENO_DEPLOY: "true" })).onDeploy, true);
  assert.equal(loadSettings(env({ DENO_DEPLOY: "true" })).busKind, "kv");
  assert.equal(loadSettings(env({})).onDeploy, false);
});

Deno.test("on Deno Deploy /metrics is off unless CHAT_METRICS_TOKEN guards it", () => {
  assert.equal(loadSettings(env({ DENO_DEPLOY: "true" })).metrics, "off");
  assert.equal(loadSettings(env({ DENO_DEPLOY: "true", CHAT_METRICS: "on" })).metrics, "off");
  const guarded = loadSettings(env({ DENO_DEPLOY: "true", CHAT_METRICS_TOKEN: "s3cret" }));
  assert.equal(guarded.metrics, "on");
  assert.equal(loadSettings(env({})).metrics, "on", "locally it stays on by default");
});

Deno.test("a bad value is refused with a message naming the variable and the value", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ CHAT_MAX_MESSAGE: "abc" }, /CHAT_MAX_MESSAGE must be an integer of at least 1, got 'abc'/],
    [{ CHAT_GRPC_PORT: "70000" }, /CHAT_GRPC_PORT must be a port \(1-65535\), got '70000'/],
    [{ CHAT_GRPC_PORT: "x" }, /CHAT_GRPC_PORT must be an integer of at least 1, got 'x'/],
    [{ PORT: "-1" }, /PORT must be a non-negative integer, got '-1'/],
    [{ CHAT_RATE_PER_SEC: "0" }, /CHAT_RATE_PER_SEC must be a positive number, got '0'/],
    [{ CHAT_BUS: "redis" }, /CHAT_BUS must be one of broadcast-channel, kv, memory, got 'redis'/],
    [{ CHAT_REDIS_URL: "http://x" }, /CHAT_REDIS_URL must start with redis:\/\/ or rediss:\/\//],
    [
      { CHAT_REDIS_URL: "not a url" },
      /CHAT_REDIS_URL must be a URL such as redis:\/\/127.0.0.1:6379\/0/,
    ],
    [
      { CHAT_REDIS_CLUSTER: "10.0.0.1" },
      /CHAT_REDIS_CLUSTER must list host:port seeds such as 10.0.0.1:7000,10.0.0.2:7000, got '10.0.0.1'/,
    ],
    [
      { CHAT_REDIS_CLUSTER: "a:1", CHAT_REDIS_URL: "redis://a:1" },
      /set CHAT_REDIS_URL or CHAT_REDIS_CLUSTER, not both/,
    ],
    [
      { CHAT_REDIS_WAIT_REPLICAS: "-1" },
      /CHAT_REDIS_WAIT_REPLICAS must be a non-negative integer, got '-1'/,
    ],
    [
      { CHAT_HEARTBEAT_MS: "1000", CHAT_PRESENCE_TIMEOUT_MS: "1500" },
      /CHAT_PRESENCE_TIMEOUT_MS \(1500\) must exceed twice CHAT_HEARTBEAT_MS \(1000\)/,
    ],
  ];
  for (const [vars, message] of cases) {
    assert.throws(() => loadSettings(env(vars)), (error: unknown) => {
      assert.ok(error instanceof SettingsError);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("where BroadcastChannel does not exist, the KV bus is used, and one log line says so", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "tests/_no_broadcast_channel.ts"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
  const engines = lines.filter((l) => l.event === "engines");
  assert.equal(engines.length, 1);
  assert.equal(engines[0].bus, "kv");
});

Deno.test("the browser tests' import map has every import of the project's (plus playwright-core)", async () => {
  const root = JSON.parse(await Deno.readTextFile("deno.json")).imports as Record<string, string>;
  const e2e = JSON.parse(await Deno.readTextFile("tests/e2e/deno.json")).imports as Record<
    string,
    string
  >;
  for (const [name, target] of Object.entries(root)) assert.equal(e2e[name], target, name);
  assert.ok(e2e["playwright-core"], "the browser driver");
  assert.equal(root["playwright-core"], undefined, "not in the server's map (deno task start)");
});
