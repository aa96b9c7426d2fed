import assert from "node:assert/strict";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ChatService } from "../src/transport/grpc/gen/chat_v1/chat_pb.ts";
import { issueToken } from "../src/transport/tokens.ts";
import { Client, type Json, rawUpgrade, startServer } from "./_helpers.ts";
import { IdentityProvider, makeKey, nowSeconds } from "./_idp.ts";

const SECRET = "hs256-secret-beside-the-idp";

/** A gRPC client on the chat's gRPC port that sends `token` in its metadata. */
function grpcWithToken(port: number, sessions: Http2SessionManager, token: string) {
  return createClient(
    ChatService,
    createGrpcTransport({
      baseUrl: `http://127.0.0.1:${port}`,
      sessionManager: sessions,
      interceptors: [(next) => (request) => {
        request.header.set("authorization", `Bearer ${token}`);
        return next(request);
      }],
    }),
  );
}

/** Resolves once the wall clock is past `ms` (a token's expiry is wall-clock time). */
function until(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - Date.now())));
}

Deno.test("identity provider: RS256/ES256 tokens work on /ws, POST /rooms, HTTP sends, Connect and the gRPC port; wrong issuer or audience is 401 everywhere", async () => {
  const rsa = await makeKey("RS256", "rsa-1");
  const ec = await makeKey("ES256", "ec-1");
  const provider = IdentityProvider.start([rsa, ec]);
  const server = await startServer({
    jwksUrl: provider.jwksUrl,
    jwtIssuer: provider.issuer,
    jwtAudience: "chat",
    jwtSecret: SECRET,
  });
  const { port } = await server.chat.serveGrpc({ port: 0, hostname: "127.0.0.1" });
  const sessions = new Http2SessionManager(`http://127.0.0.1:${port}`);
  try {
    const ann = await provider.token(rsa, { sub: "idp|ann", preferred_username: "ann" });
    const bob = await provider.token(ec, { sub: "idp|bob", name: "Bob B" });
    const wrongIssuer = await provider.token(ec, { iss: "https://elsewhere.example/" });
    const wrongAudience = await provider.token(rsa, { aud: "billing" });
    const hs = await issueToken(SECRET, "cal", { issuer: provider.issuer, audience: "chat" });

    // WebSocket: the claims give the name; both algorithms and the HS256 secret work.
    const a = await Client.connect(server.ws, { token: ann, room: "idp" });
    const b = await Client.connect(server.ws, { token: bob, room: "idp" });
    const c = await Client.connect(server.ws, { token: hs, room: "idp" });
    assert.deepEqual([a.me.member, b.me.member, c.me.member], ["ann", "Bob B", "cal"]);
    for (const bad of [wrongIssuer, wrongAudience]) {
      const refused = await rawUpgrade(server.port, `/ws?token=${bad}`);
      assert.equal(refused.status, 401);
      assert.equal(JSON.parse(refused.body).error, "unauthorized");
    }

    // HTTP writes.
    const post = (path: string, token: string, body: Json) =>
      fetch(`${server.http}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const created = await post("/rooms", bob, { name: "from-http" });
    assert.equal(created.status, 201);
    const room = await created.json();
    const sent = await post(`/rooms/${room.id}/messages`, ann, { message: "hi", name: "mallory" });
    assert.equal(sent.status, 201);
    assert.equal((await sent.json()).member, "ann", "the token's name wins over the body's");
    for (const bad of [wrongIssuer, wrongAudience]) {
      const refused = await post("/rooms", bad, { name: "nope" });
      assert.equal(refused.status, 401);
      assert.equal((await refused.json()).error, "unauthorized");
    }

    // Connect over HTTP (inside the app) and gRPC on its own port (metadata).
    const connectCall = await post("/chat_v1.ChatService/CreateChat", bob, { name: "via-connect" });
    assert.equal(connectCall.status, 200);
    const refusedCall = await post("/chat_v1.ChatService/CreateChat", wrongAudience, { name: "x" });
    assert.equal(refusedCall.status, 401);
    const grpc = (token: string) => grpcWithToken(port, sessions, token);
    const message = await grpc(bob).sendMessage({
      chatId: room.id,
      message: { sender: "mallory", content: "over grpc" },
    });
    assert.equal(message.sender, "Bob B");
    await assert.rejects(
      grpc(wrongIssuer).sendMessage({ chatId: room.id, message: { content: "no" } }),
      (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated,
    );
    const history = await (await fetch(`${server.http}/rooms/${room.id}/messages`)).json();
    assert.deepEqual(
      history.messages.map((m: Json) => `${m.member}: ${m.message}`),
      ["ann: hi", "Bob B: over grpc"],
      "refused calls stored nothing",
    );
    await Promise.all([a.close(), b.close(), c.close()]);
  } finally {
    await server.close();
    sessions.abort();
    await provider.close();
  }
});

Deno.test("identity provider: a socket whose token expires gets token_expired and 4001 when it expires, not before", async () => {
  const key = await makeKey("EdDSA", "ed-1");
  const provider = IdentityProvider.start([key]);
  const server = await startServer({ jwksUrl: provider.jwksUrl });
  try {
    const exp = nowSeconds() + 2;
    const brief = await Client.connect(server.ws, { token: await provider.token(key, { exp }) });
    const closed = await brief.closed;
    const at = Date.now();
    assert.ok(at >= exp * 1000, `closed ${exp * 1000 - at} ms before the expiry`);
    assert.ok(at < exp * 1000 + 1500, `closed ${at - exp * 1000} ms after the expiry`);
    assert.equal(closed.code, 4001);
    const error = brief.events.find((e) => e.event === "error");
    assert.equal(error?.code, "token_expired");
  } finally {
    await server.close();
    await provider.close();
  }
});

Deno.test("refresh: a fresh token of the same subject keeps the socket past the old expiry; another subject or a bad token is refused and changes nothing", async () => {
  const key = await makeKey("ES256", "ec-1");
  const provider = IdentityProvider.start([key]);
  const server = await startServer({ jwksUrl: provider.jwksUrl, jwtSecret: SECRET });
  try {
    const firstExp = nowSeconds() + 2;
    const client = await Client.connect(server.ws, {
      token: await provider.token(key, { sub: "idp|zoe", exp: firstExp }),
    });
    const other = await client.request({
      command: "refresh",
      token: await provider.token(key, { sub: "idp|eve" }),
    });
    assert.equal(other.event, "error");
    assert.equal(other.code, "forbidden");
    const junk = await client.request({ command: "refresh", token: "junk" });
    assert.equal(junk.code, "unauthorized");
    const missing = await client.request({ command: "refresh" });
    assert.equal(missing.code, "missing_field");
    const newExp = nowSeconds() + 600;
    const refreshed = await client.request({
      command: "refresh",
      token: await provider.token(key, { sub: "idp|zoe", exp: newExp }),
    });
    assert.deepEqual(refreshed, { event: "refreshed", exp: newExp, re: refreshed.re });
    // Past the first token's expiry the socket is still open and answers.
    await until(firstExp * 1000 + 300);
    const me = await client.request({ command: "me" });
    assert.equal(me.event, "me");
    assert.equal(client.socket.readyState, WebSocket.OPEN);
    assert.equal(client.events.filter((e) => e.code === "token_expired").length, 0);
    // An HS256 token of the same subject refreshes too (both kinds are on).
    const hs = await issueToken(SECRET, "idp|zoe", { ttlSeconds: 60 });
    assert.equal((await client.request({ command: "refresh", token: hs })).event, "refreshed");
    await client.close();
  } finally {
    await server.close();
    await provider.close();
  }
});

Deno.test("refresh: without tokens there is nothing to refresh", async () => {
  const server = await startServer();
  try {
    const client = await Client.connect(server.ws, { name: "nobody" });
    const answer = await client.request({ command: "refresh", token: "anything" });
    assert.equal(answer.code, "invalid_field");
    await client.close();
  } finally {
    await server.close();
  }
});

Deno.test("gRPC: a ConnectChat stream ends UNAUTHENTICATED when its token expires", async () => {
  const key = await makeKey("RS256", "rsa-1");
  const provider = IdentityProvider.start([key]);
  const server = await startServer({ jwksUrl: provider.jwksUrl });
  const { port } = await server.chat.serveGrpc({ port: 0, hostname: "127.0.0.1" });
  const sessions = new Http2SessionManager(`http://127.0.0.1:${port}`);
  try {
    const exp = nowSeconds() + 2;
    const token = await provider.token(key, { sub: "streamer", exp });
    const chat = grpcWithToken(port, sessions, token);
    const { chatId } = await chat.createChat({ name: "streamed" });
    let ended: unknown;
    try {
      for await (const _ of chat.connectChat({ chatId })) { /* nothing is sent */ }
    } catch (error) {
      ended = error;
    }
    assert.ok(Date.now() >= exp * 1000, "not before the expiry");
    assert.ok(ended instanceof ConnectError && ended.code === Code.Unauthenticated, String(ended));
  } finally {
    await server.close();
    sessions.abort();
    await provider.close();
  }
});

Deno.test("identity provider: keys rotated while the server runs: the new key signs in at once, the withdrawn one stops after the next fetch", async () => {
  const before = await makeKey("RS256", "2026-11");
  const after = await makeKey("ES256", "2026-12");
  const provider = IdentityProvider.start([before]);
  const server = await startServer({ jwksUrl: provider.jwksUrl });
  try {
    const first = await Client.connect(server.ws, { token: await provider.token(before) });
    provider.published = [after];
    const second = await Client.connect(server.ws, {
      token: await provider.token(after, { sub: "idp|second" }),
    });
    assert.equal(second.me.member, "idp|second");
    // The set read for the new key no longer holds the old one.
    const refused = await rawUpgrade(server.port, `/ws?token=${await provider.token(before)}`);
    assert.equal(refused.status, 401);
    await Promise.all([first.close(), second.close()]);
  } finally {
    await server.close();
    await provider.close();
  }
});
