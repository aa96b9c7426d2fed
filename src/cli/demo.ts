/**
 * `deno task demo [--host H --port P] [--seconds N] [--pace MIN-MAX]`: seed 004's demo. John and
 * Jack open a new chat through the `chat_v1.ChatService` (Connect protocol), each streams it with
 * `ConnectChat` and sends a random line with `SendMessage` every 5–7 s (`--pace` in ms); every
 * line either of them receives is printed as `name: message`. Without `--host`/`--port`, the demo
 * starts its own chat in this process (the embedder API: a moderation hook and a `roll` command)
 * and talks to that. `--seconds N` stops it after N seconds, otherwise Ctrl-C does.
 *
 * @module
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ChatService } from "../transport/grpc/gen/chat_v1/chat_pb.ts";
import { createChat } from "../mod.ts";

interface DemoOptions {
  readonly host?: string;
  readonly port?: number;
  readonly seconds?: number;
  readonly pace: readonly [number, number];
}

function fail(message: string): never {
  console.error(
    `demo: ${message}\nusage: deno task demo [--host H --port P] [--seconds N] [--pace MIN-MAX]`,
  );
  Deno.exit(2);
}

function parseOptions(args: string[]): DemoOptions {
  let host: string | undefined;
  let port: number | undefined;
  let seconds: number | undefined;
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
    else if (flag === "--seconds") seconds = number(value(), "--seconds");
    else if (flag === "--pace") {
      const [min, max] = value().split("-").map((v) => number(v, "--pace"));
      if (max === undefined || max < min) fail("--pace is MIN-MAX in ms, like 5000-7000");
      pace = [min, max];
    } else fail(`unknown option '${args[i]}'`);
  }
  if ((host === undefined) !== (port === undefined)) fail("give both --host and --port, or none");
  return { host, port, seconds, pace };
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

/** Starts a chat in this process, with the embedder API's moderation hook and a `roll` bot. */
async function embedded() {
  const chat = await createChat({
    kvPath: ":memory:",
    log: "off",
    hooks: { onMessage: ({ message }) => ({ message: message.replaceAll("bug", "b*g") }) },
    commands: {
      roll: async ({ member, rooms, post }) => {
        const value = 1 + Math.floor(Math.random() * 6);
        await post(rooms[0], `${member.name} rolled ${value}`, "dice");
        return { value };
      },
    },
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, chat.fetch);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    stop: async () => {
      await chat.close();
      await server.shutdown();
    },
  };
}

const options = parseOptions(Deno.args);
const local = options.host === undefined ? await embedded() : undefined;
const baseUrl = local?.url ?? `http://${options.host}:${options.port}`;
const client = createClient(ChatService, createConnectTransport({ baseUrl }));
const stop = new AbortController();
Deno.addSignalListener("SIGINT", () => stop.abort());
if (options.seconds !== undefined) setTimeout(() => stop.abort(), options.seconds * 1000);

const { chatId } = await client.createChat({ name: `demo-${crypto.randomUUID().slice(0, 6)}` });
console.log(`demo: chat ${chatId} on ${baseUrl}; John and Jack are talking`);

/** One person: streams the chat, printing every line, and says something every few seconds. */
async function person(name: string): Promise<void> {
  const listening = (async () => {
    for await (
      const message of client.connectChat({ chatId, username: name }, { signal: stop.signal })
    ) {
      console.log(`${message.sender}: ${message.content}`);
    }
  })().catch((error) => {
    if (!(error instanceof ConnectError && error.code === Code.Canceled)) throw error;
  });
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
    const content = LINES[Math.floor(Math.random() * LINES.length)];
    await client.sendMessage({ chatId, message: { sender: name, content } });
  }
  // The stream ends with the abort; do not wait on a transport that is slow to notice.
  await Promise.race([listening, new Promise((resolve) => setTimeout(resolve, 500))]);
}

await Promise.all([person("John"), person("Jack")]);
await local?.stop();
Deno.exit(0);
