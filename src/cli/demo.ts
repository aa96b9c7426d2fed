/**
 * `deno task demo [--host H (--port P | --grpc-port G)] [--seconds N] [--pace MIN-MAX]
 * [--moderate]`: seed 004's demo. John and Jack open a new chat through `chat_v1.ChatService`,
 * each streams it with `ConnectChat` and sends a line with `SendMessage` every 5–7 s (`--pace` in
 * ms); every line each of them receives is printed with who received it: `[Jack] John: message`.
 * With `--grpc-port` it speaks gRPC proper (HTTP/2 with trailers, the server's `CHAT_GRPC_PORT`),
 * with `--port` the Connect protocol on the HTTP port. Without a host, the demo starts its own chat
 * in this process and talks gRPC to it; `--moderate` adds the embedder API's example moderation
 * hook there (it rewrites "bug" to "b*g"). `--seconds N` stops it after N seconds, else Ctrl-C.
 *
 * @module
 */
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ChatService } from "../transport/grpc/gen/chat_v1/chat_pb.ts";
import { createChat } from "../mod.ts";

interface DemoOptions {
  readonly host?: string;
  readonly port?: number;
  readonly grpcPort?: number;
  readonly seconds?: number;
  readonly pace: readonly [number, number];
  readonly moderate: boolean;
}

function fail(message: string): never {
  console.error(
    `demo: ${message}\nusage: deno task demo [--host H (--port P | --grpc-port G)] [--seconds N] [--pace MIN-MAX] [--moderate]`,
  );
  Deno.exit(2);
}

function parseOptions(args: string[]): DemoOptions {
  let host: string | undefined;
  let port: number | undefined;
  let grpcPort: number | undefined;
  let seconds: number | undefined;
  let moderate = false;
  let pace: [number, number] = [5000, 7000];
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].includes("=") ? args[i].split(/=(.*)/s, 2) : [args[i]];
    const value = () => inline ?? args[++i] ?? fail(`${flag} needs a value`);
    const number = (raw: string, what: string) => {
      const n = Number(raw);
      if (!Number.isFinite(n) || n <= 0) fail(`${what} must be a positive number, got '${raw}'`);
      return n;
    };
    if (flag === "--host") host = value();
    else if (flag === "--port") port = number(value(), "--port");
    else if (flag === "--grpc-port") grpcPort = number(value(), "--grpc-port");
    else if (flag === "--moderate") moderate = true;
    else if (flag === "--seconds") seconds = number(value(), "--seconds");
    else if (flag === "--pace") {
      const [min, max] = value().split("-").map((v) => number(v, "--pace"));
      if (max === undefined || max < min) fail("--pace is MIN-MAX in ms, like 5000-7000");
      pace = [min, max];
    } else fail(`unknown option '${args[i]}'`);
  }
  const reached = port !== undefined || grpcPort !== undefined;
  if ((host === undefined) === reached) {
    fail("give --host with --port or --grpc-port, or none of them");
  }
  if (port !== undefined && grpcPort !== undefined) fail("give --port or --grpc-port, not both");
  return { host, port, grpcPort, seconds, pace, moderate };
}

const LINES = [
  "How is everyone doing?",
  "Did you see the game last night?",
  "I'm working on a Deno project.",
  "The weather is great today!",
  "Has anyone tried the new release?",
  "Coffee or tea?",
  "I think I found the bug.",
  "Let's ship it!",
];

/**
 * Starts a chat in this process, serving gRPC proper on a free port; with `moderate`, the embedder
 * API's example moderation hook rewrites what is said.
 */
async function embedded(moderate: boolean) {
  const chat = await createChat({
    kvPath: ":memory:",
    log: "off",
    // Its own private server: John and Jack share one address, and --pace may be fast.
    ratePerSecond: 1000,
    rateBurst: 1000,
    hooks: moderate
      ? { onMessage: ({ message }) => ({ message: message.replaceAll("bug", "b*g") }) }
      : undefined,
  });
  const { port } = await chat.serveGrpc({ port: 0, hostname: "127.0.0.1" });
  return { url: `http://127.0.0.1:${port}`, stop: () => chat.close() };
}

const options = parseOptions(Deno.args);
const local = options.host === undefined ? await embedded(options.moderate) : undefined;
const grpc = local !== undefined || options.grpcPort !== undefined;
const baseUrl = local?.url ?? `http://${options.host}:${options.grpcPort ?? options.port}`;
// The HTTP/2 connection is ours to end: the process then exits with nothing open.
const sessions = grpc ? new Http2SessionManager(baseUrl) : undefined;
const transport: Transport = sessions
  ? createGrpcTransport({ baseUrl, sessionManager: sessions })
  : createConnectTransport({ baseUrl });
const client = createClient(ChatService, transport);
const stop = new AbortController();
Deno.addSignalListener("SIGINT", () => stop.abort());
if (options.seconds !== undefined) setTimeout(() => stop.abort(), options.seconds * 1000);

const { chatId } = await client.createChat({ name: `demo-${crypto.randomUUID().slice(0, 6)}` });
console.log(
  `demo: chat ${chatId} on ${baseUrl} (${grpc ? "gRPC" : "Connect"}); John and Jack are talking`,
);

/** The lines in a random order, then again in another: every line is said once per round. */
function deck(): () => string {
  let cards: string[] = [];
  return () => {
    if (cards.length === 0) cards = [...LINES].sort(() => Math.random() - 0.5);
    return cards.pop()!;
  };
}

/** One person: streams the chat, printing every line, and says something every few seconds. */
async function person(name: string): Promise<void> {
  const listening = (async () => {
    for await (
      const message of client.connectChat({ chatId, username: name }, { signal: stop.signal })
    ) {
      console.log(`[${name}] ${message.sender}: ${message.content}`);
    }
  })().catch((error) => {
    if (!(error instanceof ConnectError && error.code === Code.Canceled)) throw error;
  });
  const next = deck();
  while (!stop.signal.aborted) {
    const [min, max] = options.pace;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, min + Math.random() * (max - min));
      stop.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (stop.signal.aborted) break;
    const content = next();
    await client.sendMessage({ chatId, message: { sender: name, content } });
  }
  // The stream ends with the abort; do not wait on a transport that is slow to notice.
  await Promise.race([listening, new Promise((resolve) => setTimeout(resolve, 500))]);
}

await Promise.all([person("John"), person("Jack")]);
sessions?.abort();
await local?.stop();
Deno.exit(0);
