/**
 * `deno task start:parallel`: runs `main.ts` under `deno serve --parallel` on `PORT` and
 * `HOSTNAME` (one isolate per core, or `CHAT_ISOLATES`), forwarding SIGINT and SIGTERM, and starts
 * it again if it dies (at most 5 times a minute).
 *
 * @module
 */
import { jsonLogger } from "../log.ts";
import { startTaskFlags } from "./start_task.ts";

const port = Deno.env.get("PORT") || "8000";
const hostname = Deno.env.get("HOSTNAME") || "0.0.0.0";
const isolates = Deno.env.get("CHAT_ISOLATES");
const main = new URL("../../main.ts", import.meta.url).pathname;

const command = new Deno.Command(Deno.execPath(), {
  args: [
    "serve",
    "--parallel",
    // As `deno task start` runs it: its permissions and V8 settings.
    ...startTaskFlags(),
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
    try {
      child.kill(signal);
    } catch {
      // it ended already (a restart is pending): nothing to stop
    }
  });
}
// `deno serve` ends its accept loop, and the process, when accepting fails (EMFILE: every file
// descriptor in use); this supervisor starts it again, so the chat comes back by itself (clients
// reconnect and resume). A server that keeps dying is given up on.
const log = jsonLogger();
const restarts: number[] = [];
for (;;) {
  const status = await child.status;
  // Asked to stop, the chat is stopped however the child ended: by the forwarded signal (even
  // one still starting, before it handles signals), cleanly, or by a failure of the kind that
  // would otherwise be restarted (descriptors running out as it stopped), which is logged.
  if (stopping) {
    if (!status.success && !status.signal) {
      log("server_failed_while_stopping", { exitCode: status.code });
    }
    Deno.exit(0);
  }
  if (status.success) Deno.exit(0);
  const now = Date.now();
  restarts.push(now);
  while (restarts[0] < now - 60_000) restarts.shift();
  if (restarts.length > MAX_RESTARTS_PER_MINUTE) {
    console.error(`chat: deno serve exited ${restarts.length} times within a minute; giving up`);
    Deno.exit(status.code || 1);
  }
  log("server_restarted", { exitCode: status.code, signal: status.signal });
  await new Promise((resolve) => setTimeout(resolve, 250 * restarts.length));
  // Asked to stop while waiting to start it again: nothing is running, the stop is clean.
  if (stopping) Deno.exit(0);
  child = command.spawn();
}
