import type { Chat } from "../mod.ts";

/**
 * Serves a chat on its `port` and `hostname` until SIGINT or SIGTERM, then shuts down gracefully:
 * no new connections, every socket closed with 1001, pending writes committed, exit 0 within
 * `shutdownMs` (exit 1 if the deadline passes first).
 */
export function serveUntilSignal(chat: Chat): Deno.HttpServer<Deno.NetAddr> {
  const { port, hostname, shutdownMs } = chat.settings;
  const server = Deno.serve({
    port,
    hostname,
    onListen: (addr) => {
      const shown = addr.hostname === "0.0.0.0" ? "localhost" : addr.hostname;
      console.log(JSON.stringify({
        ts: new Date().toISOString(),
        event: "listening",
        url: `http://${shown}:${addr.port}/`,
        kv: chat.settings.kvPath,
      }));
    },
  }, chat.fetch);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(JSON.stringify({ ts: new Date().toISOString(), event: "shutdown", signal }));
    const deadline = setTimeout(() => Deno.exit(1), shutdownMs);
    await chat.close();
    await Promise.race([server.shutdown(), new Promise((r) => setTimeout(r, shutdownMs / 2))]);
    clearTimeout(deadline);
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  return server;
}
