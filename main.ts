/**
 * The server's entry point. `deno task start` runs `main.ts listen`, which serves on `PORT` and
 * `HOSTNAME` and shuts down gracefully on SIGINT/SIGTERM. On Deno Deploy, which starts the
 * entrypoint like `deno run` (with the `deploy.runtime.args` of `deno.json`, or with none), it
 * serves by itself too. Under `deno serve` (and `deno serve --parallel`, one chat per isolate
 * sharing a `BroadcastChannel` bus), the default export's `fetch` is used instead.
 *
 * @module
 */
import {
  type Chat,
  createChat,
  isDenoDeploy,
  loadSettings,
  RedisUnreachable,
  type Settings,
  SettingsError,
} from "./src/mod.ts";
import { exitGracefullyOnSignal, listenFailure, serveUntilSignal } from "./src/cli/serve.ts";
import { parseServeFlags } from "./src/cli/flags.ts";

/**
 * Whether this process serves by itself: `main.ts listen` (`deno task start`), or any start on Deno
 * Deploy, whose runtime runs the entrypoint as a program and waits for it to listen (it never runs
 * `deno serve`, so a default export alone would leave nothing listening).
 */
const listening = import.meta.main && (Deno.args[0] === "listen" || isDenoDeploy());

function settingsOrExit(): Settings {
  try {
    const settings = loadSettings();
    if (!listening) return settings;
    // `deno task start --port N --host H`: the flags win over PORT and HOSTNAME.
    const flags = parseServeFlags(Deno.args[0] === "listen" ? Deno.args.slice(1) : Deno.args);
    return {
      ...settings,
      port: flags.port ?? settings.port,
      hostname: flags.hostname ?? settings.hostname,
    };
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    console.error(`chat: ${error.message}`);
    Deno.exit(1);
  }
}

/**
 * `CHAT_GRPC_PORT`: gRPC proper on its own port. Listening alone, a port that cannot be had stops
 * the start with one line; under `deno serve --parallel` every isolate shares the port.
 */
async function serveGrpcOrExit(chat: Chat): Promise<void> {
  const { grpcPort, hostname } = chat.settings;
  if (grpcPort === undefined) return;
  try {
    await chat.serveGrpc({ port: grpcPort, hostname, reusePort: !listening });
  } catch (error) {
    const line = listenFailure(error, hostname, grpcPort);
    if (line === undefined) throw error;
    console.error(`chat: CHAT_GRPC_PORT: ${line}`);
    Deno.exit(1);
  }
}

async function chatOrExit(settings: Settings): Promise<Chat> {
  try {
    return await createChat(settings);
  } catch (error) {
    if (!(error instanceof RedisUnreachable)) throw error;
    const setting = settings.redisCluster.length > 0 ? "CHAT_REDIS_CLUSTER" : "CHAT_REDIS_URL";
    const hint = error.code === "credentials"
      ? `check the user and password in ${setting}`
      : `is redis-server running? (${setting})`;
    console.error(`chat: ${error.message}; ${hint}`);
    Deno.exit(1);
  }
}

const chat = await chatOrExit(settingsOrExit());
await serveGrpcOrExit(chat);

// `deno run main.ts listen` (and Deploy) serve by itself; otherwise the default export is for
// `deno serve`. (Leaving `fetch` out when listening keeps `deno run` from suggesting `deno serve`.)
const entry: Partial<Deno.ServeDefaultExport> = {};
if (listening) {
  serveUntilSignal(chat);
} else {
  entry.fetch = chat.fetch;
  if (import.meta.main) exitGracefullyOnSignal(chat);
}

export default entry;
