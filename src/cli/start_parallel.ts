/**
 * `deno task start:parallel`: runs `main.ts` under `deno serve --parallel` on `PORT` and
 * `HOSTNAME` (one isolate per core, or `CHAT_ISOLATES`), forwarding SIGINT and SIGTERM.
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
const child = command.spawn();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => child.kill(signal));
}
const status = await child.status;
Deno.exit(status.code);
