// `deno task test:grpc`: the gRPC port (CHAT_GRPC_PORT) against real clients of two other
// stacks, as separate programs: @grpc/grpc-js under Node (tests/grpc_clients/node_client.mjs,
// packages from tests/grpc_clients/package-lock.json) and Python grpcio with stubs generated
// from proto/ by grpc_tools (Debian's python3-grpcio and python3-grpc-tools). `.ci/run` installs
// both before running this file.
import assert from "node:assert/strict";
import { eventually, freePort, healthNode, listening } from "./_helpers.ts";

const PYTHON = "/usr/bin/python3";
/** Each client's writes come from one address: the per-client rate out of the way. */
const FAST = { CHAT_RATE_PER_SEC: "1000", CHAT_RATE_BURST: "1000" };
const CLIENTS = new URL("./grpc_clients/", import.meta.url).pathname;
const PROTO = new URL("../proto/", import.meta.url).pathname;

interface Observed {
  health: unknown;
  services: string[];
  sent: string[];
  received: { john: string[]; jack: string[] };
  streamEnds: string[];
  membersAfterCancel: string[];
  unknownChat: string;
  tooLong: string;
  stored: string[];
}

/** Generates grpcio stubs for chat.proto, health.proto and reflection.proto into a temp folder. */
async function pythonStubs(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "chat-grpc-py-" });
  await Deno.mkdir(`${dir}/protos/chat_v1`, { recursive: true });
  await Deno.mkdir(`${dir}/out`);
  await Deno.copyFile(`${PROTO}chat_v1/chat.proto`, `${dir}/protos/chat_v1/chat.proto`);
  // Under their own paths (grpc/...) the modules would shadow the grpc package itself.
  await Deno.copyFile(`${PROTO}grpc/health/v1/health.proto`, `${dir}/protos/std_health.proto`);
  await Deno.copyFile(
    `${PROTO}grpc/reflection/v1/reflection.proto`,
    `${dir}/protos/std_reflection.proto`,
  );
  const out = await new Deno.Command(PYTHON, {
    args: [
      "-m",
      "grpc_tools.protoc",
      `-I${dir}/protos`,
      `--python_out=${dir}/out`,
      `--grpc_python_out=${dir}/out`,
      "chat_v1/chat.proto",
      "std_health.proto",
      "std_reflection.proto",
    ],
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return dir;
}

/** Runs one client program to its end; returns the JSON line it printed. */
async function runClient(command: string, args: string[]): Promise<Observed> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  const stderr = new TextDecoder().decode(out.stderr).trim();
  assert.ok(out.success, `${command} failed:\n${stdout}\n${stderr}`);
  return JSON.parse(stdout.split("\n").at(-1)!);
}

/** What every client must have seen, whatever its stack. */
function judge(seen: Observed, label: string): void {
  const lines = [0, 1, 2, 3, 4].map((i) => `john: hello ${i}`);
  assert.ok(seen.health === "SERVING" || seen.health === 1, `${label}: health ${seen.health}`);
  assert.deepEqual(seen.services, [
    "chat_v1.ChatService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
  ]);
  assert.deepEqual(seen.sent, lines, `${label}: each SendMessage answered with the stored message`);
  assert.deepEqual(
    seen.received.john,
    lines,
    `${label}: the first stream got every message, in order`,
  );
  assert.deepEqual(seen.received.jack, lines, `${label}: the second stream too`);
  assert.deepEqual(seen.streamEnds, ["CANCELLED", "CANCELLED"]);
  assert.deepEqual(seen.membersAfterCancel, [], `${label}: a cancelled stream leaves no member`);
  assert.equal(seen.unknownChat, "NOT_FOUND");
  assert.equal(seen.tooLong, "INVALID_ARGUMENT");
  assert.deepEqual(seen.stored, lines, `${label}: the failed calls stored nothing`);
}

/** A server process (`main.ts listen`, as `deno task start`) with its gRPC port open. */
async function startWithGrpc(
  env: Record<string, string> = {},
): Promise<{ http: number; grpc: number; stop(): Promise<void> }> {
  const http = freePort();
  const grpc = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "listen"],
    env: {
      PORT: String(http),
      HOSTNAME: "127.0.0.1",
      CHAT_GRPC_PORT: String(grpc),
      CHAT_KV_PATH: ":memory:",
      CHAT_LOG: "off",
      ...FAST,
      ...env,
    },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  await listening(http);
  return {
    http,
    grpc,
    stop: async () => {
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0);
    },
  };
}

Deno.test("grpc-js under Node: health, reflection, two streams receiving every message, cancel, NOT_FOUND, a failed call storing nothing", async () => {
  const server = await startWithGrpc();
  try {
    const seen = await runClient("node", [
      `${CLIENTS}node_client.mjs`,
      String(server.grpc),
      String(server.http),
    ]);
    judge(seen, "grpc-js");
  } finally {
    await server.stop();
  }
});

Deno.test("grpc-js under Node: a ConnectChat reader that stops reading is ended with RESOURCE_EXHAUSTED and leaves", async () => {
  const server = await startWithGrpc({ CHAT_MAX_BUFFERED: "65536" });
  try {
    const out = await new Deno.Command("node", {
      args: [`${CLIENTS}slow_reader.mjs`, String(server.grpc), String(server.http)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.ok(out.success, `${text}\n${new TextDecoder().decode(out.stderr)}`);
    const { status, members } = JSON.parse(text.split("\n").at(-1)!);
    assert.equal(status, "RESOURCE_EXHAUSTED");
    assert.deepEqual(members, [], "the slow reader's member left");
  } finally {
    await server.stop();
  }
});

Deno.test("Python grpcio with generated stubs: the same flow, over real gRPC", async () => {
  const stubs = await pythonStubs();
  const server = await startWithGrpc();
  try {
    const seen = await runClient(PYTHON, [
      `${CLIENTS}python_client.py`,
      `${stubs}/out`,
      String(server.grpc),
      String(server.http),
    ]);
    judge(seen, "grpcio");
  } finally {
    await server.stop();
    await Deno.remove(stubs, { recursive: true });
  }
});

Deno.test("start:parallel with CHAT_GRPC_PORT: every isolate serves gRPC on the shared port, one chat", async () => {
  const stubs = await pythonStubs();
  const http = freePort();
  const grpc = freePort();
  const dir = await Deno.makeTempDir({ prefix: "chat-grpc-parallel-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-run", "--allow-env", "--allow-read", "src/cli/start_parallel.ts"],
    env: {
      PORT: String(http),
      HOSTNAME: "127.0.0.1",
      CHAT_ISOLATES: "2",
      CHAT_GRPC_PORT: String(grpc),
      CHAT_KV_PATH: `${dir}/chat.kv`,
      ...FAST,
      CHAT_BUS_NAMESPACE: `grpc-parallel-${crypto.randomUUID()}`,
    },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const log: string[] = [];
  const logged = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) log.push(chunk);
  })();
  try {
    const nodes = new Set<string>();
    await eventually(
      async () => {
        try {
          nodes.add(await healthNode(http));
        } catch {
          // not listening yet
        }
        return nodes.size === 2;
      },
      "both isolates to answer",
      20_000,
    );
    await eventually(
      () => log.join("").split("\n").filter((l) => l.includes('"grpc_listening"')).length === 2,
      "both isolates to listen on the gRPC port",
    );
    // Each client's streams and sends land on whichever isolate the kernel picks: one chat still.
    for (let run = 0; run < 2; run++) {
      const seen = await runClient(PYTHON, [
        `${CLIENTS}python_client.py`,
        `${stubs}/out`,
        String(grpc),
        String(http),
      ]);
      judge(seen, `grpcio on start:parallel, run ${run + 1}`);
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await logged;
    await Deno.remove(stubs, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});
