import assert from "node:assert/strict";
import { Client, closeAll, freePort, listening } from "./_helpers.ts";

/** Deno Deploy's own variables (docs.deno.com/deploy/reference/env_vars_and_contexts). */
const DEPLOY_ENV = {
  DENO_DEPLOY: "true",
  DENO_DEPLOYMENT_ID: `test-${crypto.randomUUID()}`,
  DENO_DEPLOY_APP_SLUG: "my-chat",
  DENO_TIMELINE: "production",
};

/** What `deno.json` tells Deploy to run: `deploy.runtime.entrypoint` with `deploy.runtime.args`. */
async function deployRuntime(): Promise<{ entrypoint: string; args: string[] }> {
  const config = JSON.parse(await Deno.readTextFile("deno.json"));
  const runtime = config.deploy?.runtime;
  assert.equal(runtime?.type ?? "dynamic", "dynamic");
  return { entrypoint: runtime.entrypoint, args: runtime.args ?? [] };
}

/**
 * Starts the entrypoint as Deploy does: `deno run` with every permission and only the given
 * arguments after the entrypoint (none typed by hand), on a loopback port; collects its log lines.
 */
function startAsDeploy(entrypoint: string, args: string[], port: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", entrypoint, ...args],
    env: { ...DEPLOY_ENV, PORT: String(port), HOSTNAME: "127.0.0.1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array<ArrayBuffer>>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      lines.push(...chunk.split("\n").filter((l) => l.trim() !== ""));
    }
  };
  const done = Promise.all([collect(child.stdout), collect(child.stderr)]);
  return { child, lines, done };
}

async function checkDeployStart(entrypoint: string, args: string[]): Promise<void> {
  const port = freePort();
  const server = startAsDeploy(entrypoint, args, port);
  const clients: Client[] = [];
  try {
    await listening(port);
    const http = `http://127.0.0.1:${port}`;
    const room = `deploy-${crypto.randomUUID().slice(0, 8)}`;
    const ann = await Client.connect(`ws://127.0.0.1:${port}/ws`, { name: "ann", room });
    clients.push(ann);
    const bob = await Client.connect(`ws://127.0.0.1:${port}/ws`, { name: "bob", room });
    clients.push(bob);
    await ann.request({ command: "broadcast", message: "hello from deploy" });
    assert.equal((await bob.next((e) => e.event === "broadcast")).message, "hello from deploy");

    const metrics = await fetch(`${http}/metrics`);
    await metrics.body?.cancel();
    assert.equal(metrics.status, 404, "no /metrics on Deploy without CHAT_METRICS_TOKEN");

    const engines = server.lines.map((l) => JSON.parse(l)).find((l) => l.event === "engines");
    assert.equal(engines?.bus, "kv", "Deploy's instances share KV, not BroadcastChannel");
    assert.equal(engines?.metrics, "off");
    // No KV database is attached here: said once, and the chat still runs.
    const notShared = server.lines.filter((l) => l.includes('"kv_not_shared"'));
    assert.equal(notShared.length, 1, server.lines.join("\n"));
    assert.ok(!server.lines.some((l) => l.includes("did you mean")), server.lines.join("\n"));
  } finally {
    await closeAll(clients);
    server.child.kill("SIGINT"); // what Deploy sends before it stops an instance
    const status = await server.child.status;
    await server.done;
    assert.equal(status.code, 0, server.lines.join("\n"));
  }
}

Deno.test("started as Deno Deploy starts it (deno.json's deploy.runtime), it listens and is one chat", async () => {
  const { entrypoint, args } = await deployRuntime();
  await checkDeployStart(entrypoint, args);
});

Deno.test("started with no arguments under Deploy's variables, main.ts still listens by itself", async () => {
  await checkDeployStart("main.ts", []);
});
