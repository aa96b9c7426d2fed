import type { Chat } from "../mod.ts";

function logLine(event: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ ts: new Date().toISOString(), event, ...fields }));
}

/**
 * On SIGINT or SIGTERM: stop accepting, close every socket with 1001, commit pending writes,
 * run `stop` (the listener's own shutdown, when this isolate owns one), and exit 0 within the
 * chat's `shutdownMs` (exit 1 if the deadline passes first). Under `deno serve --parallel` every
 * isolate hears the signal and closes its own sockets; a short grace lets the others finish
 * before the first exit ends the process.
 */
export function exitGracefullyOnSignal(chat: Chat, stop?: () => Promise<void>): void {
  const { shutdownMs } = chat.settings;
  let stopping = false;
  const onSignal = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logLine("shutdown", { signal, node: chat.nodeId });
    const deadline = setTimeout(() => Deno.exit(1), shutdownMs);
    await chat.close();
    const grace = Math.min(500, shutdownMs / 4);
    await Promise.race([
      Promise.all([stop?.(), new Promise((r) => setTimeout(r, grace))]),
      new Promise((r) => setTimeout(r, shutdownMs / 2)),
    ]);
    clearTimeout(deadline);
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
}

/**
 * Why a listener could not start, as one line for a person, or `undefined` for an error that is
 * not about the address (those are thrown as they are).
 */
export function listenFailure(error: unknown, hostname: string, port: number): string | undefined {
  const where = `${hostname}:${port}`;
  // node:http2 (the gRPC port) reports Node's codes rather than Deno's error classes.
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Deno.errors.AddrInUse || code === "EADDRINUSE") {
    return `port ${port} is already in use on ${hostname}; stop the other server or choose another port (PORT=... or --port ...)`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable || code === "EADDRNOTAVAIL") {
    return `cannot listen on ${where}: that address is not on this machine (HOSTNAME=... or --host ...)`;
  }
  if (error instanceof Deno.errors.PermissionDenied || code === "EACCES") {
    return `not allowed to listen on ${where} (ports below 1024 need privileges; or run with --allow-net)`;
  }
  if (error instanceof TypeError && /hostname|address|lookup|resolve/i.test(error.message)) {
    return `cannot listen on ${where}: ${error.message}`;
  }
  if (error instanceof Error && /lookup|resolve|not known/i.test(error.message)) {
    return `cannot listen on ${where}: ${error.message}`;
  }
  return undefined;
}

/**
 * Serves a chat on its `port` and `hostname` until SIGINT or SIGTERM, then shuts down gracefully.
 * An address that cannot be used ends the process with one clear line and exit code 1. If the
 * listener dies while serving (`Deno.serve`'s accept loop ends when accepting fails, as it does
 * when file descriptors run out: EMFILE), one line is logged and it listens again after a pause,
 * backing off while it keeps failing; the sockets already open are served all along.
 */
export function serveUntilSignal(chat: Chat): void {
  const { port, hostname } = chat.settings;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = listen(chat);
  } catch (error) {
    const line = listenFailure(error, hostname, port);
    if (line === undefined) throw error;
    console.error(`chat: ${line}`);
    Deno.exit(1);
  }
  let stopping = false;
  let failures = 0;
  const supervise = (current: Deno.HttpServer<Deno.NetAddr>) => {
    current.finished.then(() => failures = 0, async (error) => {
      if (stopping) return;
      failures++;
      const pauseMs = Math.min(MAX_RELISTEN_PAUSE_MS, 100 * 2 ** Math.min(failures - 1, 5));
      logLine("listener_failed", { error: String(error), relistenInMs: pauseMs });
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
        if (stopping) return;
        try {
          server = listen(chat);
          supervise(server);
          return;
        } catch (again) {
          logLine("listener_failed", { error: String(again), relistenInMs: pauseMs });
        }
      }
    });
  };
  supervise(server);
  exitGracefullyOnSignal(chat, () => {
    stopping = true;
    return server.shutdown();
  });
}

/** The longest pause between attempts to listen again after the listener died. */
const MAX_RELISTEN_PAUSE_MS = 2000;

function listen(chat: Chat): Deno.HttpServer<Deno.NetAddr> {
  const { port, hostname } = chat.settings;
  return Deno.serve({
    port,
    hostname,
    onListen: (addr) => {
      const shown = addr.hostname === "0.0.0.0" ? "localhost" : addr.hostname;
      logLine("listening", { url: `http://${shown}:${addr.port}/`, kv: chat.settings.kvPath });
    },
  }, chat.fetch);
}
