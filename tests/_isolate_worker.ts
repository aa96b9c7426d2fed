/// <reference lib="deno.worker" />
// One isolate of a multi-isolate test: a Web Worker that serves the chat on its own port, with
// the BroadcastChannel bus and a KV file shared with its sibling workers.
import { type Chat, type ChatOptions, createChat, type NoticeTo } from "../src/mod.ts";

let chat: Chat | undefined;
let server: Deno.HttpServer<Deno.NetAddr> | undefined;

self.onmessage = async (event: MessageEvent) => {
  const message = event.data as { type: string; options?: ChatOptions };
  if (message.type === "start") {
    chat = await createChat({ log: "off", ...message.options });
    server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, chat.fetch);
    self.postMessage({ type: "ready", port: server.addr.port, nodeId: chat.nodeId });
  } else if (message.type === "stats") {
    self.postMessage({ type: "stats", stats: chat?.stats() });
  } else if (message.type === "block") {
    // Keep this isolate busy, as a long task or a GC pause would, so that it lags behind.
    const until = performance.now() + Number((message as { ms?: number }).ms);
    while (performance.now() < until) { /* busy */ }
    self.postMessage({ type: "unblocked" });
  } else if (message.type === "notify") {
    const { to, text } = message as unknown as { to: NoticeTo; text: string };
    await chat?.notify(to, text);
    self.postMessage({ type: "notified" });
  } else if (message.type === "stop") {
    await chat?.close();
    await server?.shutdown();
    self.postMessage({ type: "stopped" });
  }
};
