/**
 * `deno task start:parallel`: runs `main.ts` under `deno serve --parallel` on `PORT` and
 * `HOSTNAME` (one isolate per core, or `CHAT_ISOLATES`), forwarding SIGINT and SIGTERM, and starts
 * it again if it dies (at most 5 times a minute).
 *
 * @module
 */
const port = Deno.env.get("PORT") || "8000";
const hostname = Deno.env.get("HOSTNAME") || "0.0.0.0";
const isolates = Deno.env.get("CHAT_ISOLATES");
const main = new URL("../../main.ts", import.meta.url).pathname;

const command = new Deno.Command(Deno.execPath(), {
  args: [
    "serve",
    "--parallel",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "--allow-write",
    "--port",
    port,
    "--host",
    hostname,
    main,
  ],
  env: isolates ? { DENO_JOBS: isolates } : {},
  stdin: "null",
});

/** Restarts allowed within a minute before giving up (a server that cannot stay up). */
const MAX_RESTARTS_PER_MINUTE = 5;

let child = command.spawn();
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    stopping = true;
    child.kill(signal);
  });
}
// `deno serve` ends its accept loop, and the process, when accepting fails (EMFILE: every file
// descriptor in use); this supervisor starts it again, so the chat comes back by itself (clients
// reconnect and resume). A server that keeps dying is given up on.
const restarts: number[] = [];
for (;;) {
  const status = await child.status;
  if (stopping || status.success) Deno.exit(status.code);
  const now = Date.now();
  restarts.push(now);
  while (restarts[0] < now - 60_000) restarts.shift();
  if (restarts.length > MAX_RESTARTS_PER_MINUTE) {
    console.error(`chat: deno serve exited ${restarts.length} times within a minute; giving up`);
    Deno.exit(status.code || 1);
  }
  console.log(JSON.stringify({
    ts: new Date().toISOString(),
    event: "server_restarted",
    exitCode: status.code,
    signal: status.signal,
  }));
  await new Promise((resolve) => setTimeout(resolve, 250 * restarts.length));
  if (stopping) Deno.exit(status.code);
  child = command.spawn();
}
