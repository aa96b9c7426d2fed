import assert from "node:assert/strict";
import { freePort, listening, startCommand } from "./_helpers.ts";

/** Runs `main.ts listen` as `deno task start` does, and returns its exit code and stderr. */
async function start(
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<{ code: number; stderr: string }> {
  const out = await startCommand({ CHAT_KV_PATH: ":memory:", ...env }, { args, stderr: "piped" })
    .output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr).trim() };
}

Deno.test("a port already in use stops the start with one clear line and exit code 1", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    const { code, stderr } = await start({ PORT: String(port), HOSTNAME: "127.0.0.1" });
    assert.equal(code, 1);
    assert.equal(stderr.split("\n").length, 1, stderr);
    assert.match(stderr, new RegExp(`^chat: port ${port} is already in use on 127\\.0\\.0\\.1`));
  } finally {
    taken.close();
  }
});

Deno.test("an address that is not on this machine stops the start with one clear line", async () => {
  // 192.0.2.1 is reserved for documentation (TEST-NET-1): never an address of this machine, and
  // binding to it sends nothing anywhere.
  const { code, stderr } = await start({ PORT: "0", HOSTNAME: "192.0.2.1" });
  assert.equal(code, 1);
  assert.equal(stderr.split("\n").length, 1, stderr);
  assert.match(
    stderr,
    /^chat: cannot listen on 192\.0\.2\.1:0: that address is not on this machine/,
  );
});

Deno.test("a Redis that does not answer stops the start with one clear line (no password shown)", async () => {
  // A free loopback port: nothing listens there, so the connection is refused at once.
  const port = freePort();
  const { code, stderr } = await start({
    PORT: "0",
    HOSTNAME: "127.0.0.1",
    CHAT_LOG: "off",
    CHAT_REDIS_URL: `redis://user:secret@127.0.0.1:${port}/0`,
    CHAT_REDIS_CONNECT_TIMEOUT_MS: "500",
  });
  assert.equal(code, 1);
  assert.equal(stderr.split("\n").length, 1, stderr);
  assert.match(
    stderr,
    new RegExp(`^chat: cannot reach Redis at redis://user:\\*\\*\\*@127\\.0\\.0\\.1:${port}/0`),
  );
  assert.doesNotMatch(stderr, /secret/);
});

Deno.test("deno task start --port N --host H: the flags win over PORT and HOSTNAME", async () => {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "start", "--port", String(port), "--host", "127.0.0.1"],
    env: { CHAT_KV_PATH: ":memory:", PORT: "1", HOSTNAME: "192.0.2.1" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    await listening(port);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stdout.cancel();
  }
});

Deno.test("an unknown option or a bad port is refused with one line naming it", async () => {
  for (
    const [args, expected] of [
      [
        ["--prot", "3000"],
        /^chat: unknown option '--prot'; usage: deno task start \[--port N\] \[--host H\]$/,
      ],
      [["--port", "http"], /^chat: --port must be an integer from 0 to 65535, got 'http'$/],
      [["--host"], /^chat: --host needs a value/],
    ] as const
  ) {
    const { code, stderr } = await start({}, args);
    assert.equal(code, 1);
    assert.match(stderr, expected);
  }
});
