import assert from "node:assert/strict";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ChatService } from "../src/transport/grpc/gen/chat_v1/chat_pb.ts";
import { startServer } from "./_helpers.ts";

Deno.test("HTTP writes are limited per client like a socket: the excess is 429 rate_limited with Retry-After, and nothing of it is stored", async () => {
  const server = await startServer({ ratePerSecond: 1, rateBurst: 5 });
  try {
    await (await fetch(`${server.http}/rooms`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "flood" }),
    })).body?.cancel();
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 20; i++) {
      const answer = await fetch(`${server.http}/rooms/flood/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: `m${i}`, name: "bot" }),
      });
      statuses.push(answer.status);
      if (answer.status === 429) {
        retryAfter = answer.headers.get("retry-after");
        assert.equal((await answer.json()).error, "rate_limited");
      } else await answer.body?.cancel();
    }
    // The room creation took one of the five: four messages pass, the rest wait.
    assert.deepEqual(statuses.filter((s) => s === 201).length, 4, JSON.stringify(statuses));
    assert.ok(statuses.slice(4).every((s) => s === 429));
    assert.ok(Number(retryAfter) >= 1, `Retry-After: ${retryAfter}`);
    const page = await (await fetch(`${server.http}/rooms/flood/messages?limit=200`)).json();
    assert.equal(page.messages.length, 4);
    // Room creation and seed 003's /chat count against the same client's rate.
    const chatty = await fetch(`${server.http}/chat?name=another`, { method: "POST" });
    assert.equal(chatty.status, 429);
    await chatty.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("gRPC writes are limited per client too: RESOURCE_EXHAUSTED, nothing stored", async () => {
  const server = await startServer({ ratePerSecond: 1, rateBurst: 3 });
  const { port } = await server.chat.serveGrpc({ port: 0, hostname: "127.0.0.1" });
  const baseUrl = `http://127.0.0.1:${port}`;
  const sessions = new Http2SessionManager(baseUrl);
  const chat = createClient(
    ChatService,
    createGrpcTransport({ baseUrl, sessionManager: sessions }),
  );
  try {
    const { chatId } = await chat.createChat({ name: "grpc-flood" });
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) {
      try {
        await chat.sendMessage({ chatId, message: { sender: "g", content: `m${i}` } });
        codes.push("OK");
      } catch (error) {
        codes.push(error instanceof ConnectError ? Code[error.code] : String(error));
      }
    }
    assert.deepEqual(codes, [
      "OK",
      "OK",
      "ResourceExhausted",
      "ResourceExhausted",
      "ResourceExhausted",
      "ResourceExhausted",
    ]);
    const page = await (await fetch(`${server.http}/rooms/${chatId}/messages`)).json();
    assert.equal(page.messages.length, 2);
  } finally {
    sessions.abort();
    await server.close();
  }
});
