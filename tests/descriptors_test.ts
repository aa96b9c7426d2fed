import assert from "node:assert/strict";
import { eventually, freePort, listening } from "./_helpers.ts";

/**
 * A server command run under a low descriptor limit (as `ulimit -n` sets it), its stdout and
 * stderr collected, so that a few hundred half-open requests are enough to exhaust it.
 */
function underLimit(limit: number, command: string, env: Record<string, string>) {
  const child = new Deno.Command("bash", {
    args: ["-c", `ulimit -n ${limit} && exec "${Deno.execPath()}" ${command}`],
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const reading = Promise.all([child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) output.push(chunk);
  }));
  return { child, output, reading };
}

/** How long a connection may take to be answered before the listener counts as not accepting. */
const CONNECT_WAIT_MS = 1000;

/** Opens up to `n` sockets that each send part of a request's headers and nothing more. */
async function halfOpen(port: number, n: number): Promise<Deno.Conn[]> {
  const sockets: Deno.Conn[] = [];
  for (let i = 0; i < n; i++) {
    // A listener that stopped accepting with a full backlog drops the handshake, and the kernel
    // would retry it for two minutes: a second without an answer counts as refused.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connecting = Deno.connect({ hostname: "127.0.0.1", port });
    let socket: Deno.Conn;
    try {
      socket = await Promise.race([
        connecting,
        new Promise<never>((_, reject) =>
          timer = setTimeout(() => reject(new Error("no answer")), CONNECT_WAIT_MS)
        ),
      ]);
    } catch {
      connecting.then((late) => late.close(), () => {}); // one answered late: not kept
      break; // refused (the listener is between attempts) or not answered
    } finally {
      clearTimeout(timer);
    }
    sockets.push(socket);
    try {
      await socket.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n"));
    } catch {
      break; // reset: the listener is between attempts
    }
  }
  return sockets;
}

Deno.test("descriptor exhaustion never kills the server: it logs one line, listens again, and serves once descriptors free up", async () => {
  const port = freePort();
  // A low descriptor limit (as `ulimit -n` sets it) makes a few hundred half-open requests enough.
  const { child, output, reading } = underLimit(128, "run -A main.ts listen", {
    PORT: String(port),
    HOSTNAME: "127.0.0.1",
    CHAT_KV_PATH: ":memory:",
    CHAT_LOG: "off",
  });
  let sockets: Deno.Conn[] = [];
  try {
    await listening(port);
    // Partial headers that never finish: each holds a descriptor on the server.
    sockets = await halfOpen(port, 300);
    await eventually(() => output.join("").includes('"listener_failed"'), "the failure logged");
    for (const socket of sockets.splice(0)) socket.close();
    // Descriptors free again: the same process answers.
    await listening(port);
    const status = await Promise.race([child.status, Promise.resolve(undefined)]);
    assert.equal(status, undefined, `the server exited:\n${output.join("")}`);
    assert.ok(!output.join("").includes("Uncaught"), output.join(""));
  } finally {
    for (const socket of sockets) socket.close();
    try {
      child.kill("SIGTERM");
    } catch {
      // it exited already (the failure this test is about)
    }
    await child.status;
    await reading;
  }
});

Deno.test("under start:parallel, descriptor exhaustion never leaves the chat down: deno serve stops accepting or ends (and the supervisor starts it again), and serves once descriptors free up", async () => {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "chat-fd-" });
  const { child, output, reading } = underLimit(
    200,
    "run --allow-run --allow-env --allow-read src/cli/start_parallel.ts",
    {
      PORT: String(port),
      HOSTNAME: "127.0.0.1",
      CHAT_KV_PATH: `${dir}/chat.kv`,
      CHAT_LOG: "off",
      CHAT_ISOLATES: "2",
    },
  );
  let sockets: Deno.Conn[] = [];
  try {
    await listening(port);
    sockets = await halfOpen(port, 400);
    // Out of descriptors, deno serve either stops accepting for a while (a connection is refused:
    // fewer than 400 got in) or ends, and the supervisor logs a restart. Which one happens is up
    // to the runtime; both must end with the chat serving again.
    if (sockets.length === 400) {
      await eventually(() => output.join("").includes('"server_restarted"'), "a restart", 20_000);
    }
    for (const socket of sockets.splice(0)) socket.close();
    // Serving again: a server that ends only now (its accept loop failed late) is started again
    // by the supervisor, so the answer is awaited, not taken from the first request.
    await eventually(
      async () => {
        try {
          const health = await fetch(`http://127.0.0.1:${port}/health`, {
            signal: AbortSignal.timeout(2000), // one sent to a listener not accepting: ask again
          });
          return await health.text() === "ok";
        } catch {
          return false;
        }
      },
      "the chat serving again",
      20_000,
    );
  } finally {
    for (const socket of sockets) socket.close();
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
    await reading;
    await Deno.remove(dir, { recursive: true });
  }
});
