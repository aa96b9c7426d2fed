import assert from "node:assert/strict";
import { type ChatClient, connect } from "../static/client.js";
import { eventually, startServer } from "./_helpers.ts";
import { IdentityProvider, makeKey, nowSeconds } from "./_idp.ts";

const FAST = { ratePerSecond: 1e6, rateBurst: 1e6, maxConnectionsPerAddress: 100 };

Deno.test("the client library: connect, join, send (resolves with the stored event), receive, errors with .code", async () => {
  const server = await startServer(FAST);
  const ann = connect({ url: server.http, name: "ann" });
  const bob = connect({ url: server.http, name: "bob" });
  try {
    const annRoom = await ann.join("library");
    const bobRoom = await bob.join("library");
    const heard: string[] = [];
    bobRoom.on("message", (event) => heard.push(`${event.member}: ${event.message}`));
    const stored = await annRoom.send("hello");
    assert.equal(stored.event, "broadcast");
    assert.equal(stored.message, "hello");
    await eventually(() => heard.length === 1, "bob hears it");
    assert.deepEqual(heard, ["ann: hello"]);
    assert.match(String(ann.session), /^s1\./, "the session is kept");
    await assert.rejects(
      annRoom.send("x".repeat(4001)),
      (e: Error & { code?: string }) => e.code === "too_large",
    );
  } finally {
    ann.close();
    bob.close();
    await server.close();
  }
});

Deno.test("the client library's conversations: replies, a thread, read positions on every device of a session, search", async () => {
  const server = await startServer(FAST);
  const ann = connect({ url: server.http, name: "ann" });
  const bob = connect({ url: server.http, name: "bob" });
  try {
    const annRoom = await ann.join("convo");
    const bobRoom = await bob.join("convo");
    const root = await annRoom.send("Anyone for Ćevapi?");
    const reply = await bobRoom.send("me!", { replyTo: root.id });
    assert.equal(reply.replyTo, root.id);
    await assert.rejects(
      bobRoom.send("to nothing", { replyTo: "01ARZ3NDEKTSV4RRFFQ69G5FAV" }),
      (e: Error & { code?: string }) => e.code === "not_found",
    );
    const thread = await annRoom.thread(root.id);
    assert.deepEqual(thread.messages.map((m) => m.id), [reply.id]);
    const found = await bobRoom.search("ćevapi");
    assert.deepEqual(found.messages.map((m) => m.id), [root.id]);
    // A second device of ann's (her session) hears where she stopped reading.
    await eventually(() => ann.session !== undefined, "ann has a session");
    const annAgain = connect({ url: server.http, session: ann.session });
    try {
      const again = await annAgain.join("convo");
      assert.equal(again.unread, 2);
      const heard: string[] = [];
      again.on("read", (event) => heard.push(String(event.id)));
      const read = await annRoom.read(reply.id);
      assert.equal(read.id, reply.id);
      assert.equal(annRoom.readUpTo, reply.id);
      await eventually(() => heard.length === 1, "the other device hears the read");
      assert.equal(again.readUpTo, reply.id);
      const back = await annRoom.read(root.id);
      assert.equal(back.id, reply.id, "never back");
    } finally {
      annAgain.close();
    }
  } finally {
    ann.close();
    bob.close();
    await server.close();
  }
});

Deno.test("the client library across a server restart mid-stream: 200 sends all resolve, each stored once, the reader sees each once in order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-client-lib-" });
  const settings = { ...FAST, kvPath: `${dir}/chat.kv` };
  let server = await startServer(settings);
  const port = server.port;
  const writer: ChatClient = connect({ url: server.http, name: "writer" });
  const reader: ChatClient = connect({ url: server.http, name: "reader" });
  try {
    const readerRoom = await reader.join("restart");
    const writerRoom = await writer.join("restart");
    const seen: string[] = [];
    readerRoom.on("message", (event) => seen.push(String(event.message)));
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      sends.push(writerRoom.send(`m${i}`));
      if (i === 80) {
        // Mid-stream: the server goes away and comes back on the same port and store.
        await server.close();
        server = await startServer(settings, port);
      }
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 1));
    }
    const stored = await Promise.all(sends) as { id: string; message: string }[];
    assert.deepEqual(stored.map((e) => e.message), stored.map((_, i) => `m${i}`));
    await eventually(
      () => seen.length >= 200,
      `the reader to see 200 (saw ${seen.length})`,
      20_000,
    );
    assert.deepEqual(seen, stored.map((_, i) => `m${i}`), "each once, in order");
    const page = await (await fetch(`${server.http}/rooms/restart/messages?limit=200`)).json();
    assert.equal(page.messages.length, 200, "stored once each");
    assert.equal(new Set(page.messages.map((m: { message: string }) => m.message)).size, 200);
  } finally {
    writer.close();
    reader.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GET /client.js serves the library as an ES module any site may import, cached for a day with an ETag", async () => {
  const server = await startServer();
  try {
    const answer = await fetch(`${server.http}/client.js`);
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get("content-type") ?? "", /javascript/);
    assert.equal(answer.headers.get("access-control-allow-origin"), "*");
    assert.equal(answer.headers.get("cross-origin-resource-policy"), "cross-origin");
    assert.match(answer.headers.get("cache-control") ?? "", /max-age=86400/);
    const etag = answer.headers.get("etag");
    assert.ok(etag);
    const text = await answer.text();
    assert.equal(text, await Deno.readTextFile("static/client.js"), "one source");
    const again = await fetch(`${server.http}/client.js`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    await again.body?.cancel();
    // Its parts, which it imports by relative paths, come the same way; nothing else does.
    const parts = [...text.matchAll(/from "\.\/(client\/[a-z_]+\.js)"/g)].map((m) => m[1]);
    assert.ok(parts.includes("client/chat_client.js"), `${parts}`);
    for (const part of parts) {
      const served = await fetch(`${server.http}/${part}`);
      assert.equal(served.status, 200, part);
      assert.equal(served.headers.get("access-control-allow-origin"), "*");
      assert.match(served.headers.get("cache-control") ?? "", /max-age=86400/);
      assert.equal(await served.text(), await Deno.readTextFile(`static/${part}`));
    }
    for (const path of ["/client/nothing.js", "/client/..%2fclient.d.ts", "/client/.hidden"]) {
      const missing = await fetch(`${server.http}${path}`);
      assert.equal(missing.status, 404, path);
      await missing.body?.cancel();
    }
    // (It runs as served: Chromium imports it from this URL in test:e2e, Node in test:node.)
  } finally {
    await server.close();
  }
});

Deno.test("the client library with getToken: refreshes in place before expiry, and after a 4001 reconnects with a fresh token; nothing sent is lost", async () => {
  const key = await makeKey("ES256", "ec-1");
  const provider = IdentityProvider.start([key]);
  const server = await startServer({ ...FAST, jwksUrl: provider.jwksUrl });
  // Tokens live 2 s. The second call fails (the provider is down then): the socket expires, the
  // server closes it with 4001, and the client comes back with the third token.
  let calls = 0;
  const getToken = async () => {
    calls++;
    if (calls === 3) throw new Error("the identity provider is unreachable");
    return await provider.token(key, { sub: "idp|tia", exp: nowSeconds() + 2 });
  };
  const client = connect({ url: server.http, getToken });
  const statuses: string[] = [];
  client.on("status", (status: string) => statuses.push(status));
  const errors: string[] = [];
  client.on("error", (error: { code: string }) => errors.push(error.code));
  let refreshed = 0;
  client.on("token", () => refreshed++);
  try {
    const room = await client.join("tokens");
    await eventually(() => refreshed === 1, "one refresh in place", 5000);
    assert.deepEqual(statuses, ["open"], "a refresh does not reconnect");
    const before = await room.send("before");
    // Call 3 fails: the server ends the connection at the expiry; call 4 brings it back.
    await eventually(() => statuses.length >= 3 && client.status === "open", "back", 10_000);
    assert.deepEqual(statuses, ["open", "connecting", "open"]);
    assert.ok(errors.includes("token_failed") && errors.includes("token_expired"), `${errors}`);
    assert.equal(calls, 4);
    const after = await room.send("after");
    assert.equal(client.me?.name, "idp|tia");
    const history = await room.history();
    const ids = (history.messages as { id: string }[]).map((m) => m.id);
    assert.deepEqual(ids, [before.id, after.id]);
  } finally {
    client.close();
    await server.close();
    await provider.close();
  }
});

Deno.test("the client library without getToken: an expired token closes it for good", async () => {
  const key = await makeKey("EdDSA", "ed-1");
  const provider = IdentityProvider.start([key]);
  const server = await startServer({ ...FAST, jwksUrl: provider.jwksUrl });
  const token = await provider.token(key, { exp: nowSeconds() + 1 });
  const client = connect({ url: server.http, token });
  try {
    await client.join("brief");
    await eventually(() => client.status === "closed", "closed", 5000);
  } finally {
    client.close();
    await server.close();
    await provider.close();
  }
});

Deno.test("a Deno program importing /client.js from the server type-checks against the library's real types", async () => {
  const server = await startServer();
  const dir = await Deno.makeTempDir({ prefix: "chat-remote-types-" });
  try {
    const host = new URL(server.http).host;
    const program = (line: string) =>
      [
        `import { connect } from "${server.http}/client.js";`,
        `const chat = connect({ url: "${server.http}", name: "typed" });`,
        `const room = await chat.join("lobby");`,
        `const stored = await room.send("x");`,
        line,
      ].join("\n");
    await Deno.writeTextFile(
      `${dir}/good.ts`,
      program("const text: string | undefined = stored.message;"),
    );
    await Deno.writeTextFile(`${dir}/bad.ts`, program("const n: number = stored.message;"));
    const check = async (file: string) => {
      const out = await new Deno.Command(Deno.execPath(), {
        // (`--no-lock`: the server's port changes every run; the project's lock is not for it.)
        args: ["check", "--quiet", "--no-lock", `--allow-import=${host}`, `${dir}/${file}`],
        env: { DENO_DIR: `${dir}/cache`, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, text: new TextDecoder().decode(out.stderr) };
    };
    const good = await check("good.ts");
    assert.equal(good.code, 0, good.text);
    const bad = await check("bad.ts");
    assert.notEqual(bad.code, 0);
    assert.match(bad.text, /TS2322.*'string \| undefined' is not assignable to type 'number'/s);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await server.close();
  }
});
