import assert from "node:assert/strict";
import { issueToken } from "../src/transport/tokens.ts";
import { Client, closeAll, type Json, Recording, startServer } from "./_helpers.ts";

/** An SSE reader over fetch: parsed events ({ id?, event?, data }) as they arrive. */
type SseEvent = { id?: string; event?: string; data: Json };

class SseReader {
  readonly #events = new Recording<SseEvent>();
  readonly #abort = new AbortController();
  readonly #done: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.#done = (async () => {
      const response = await fetch(url, { headers, signal: this.#abort.signal });
      if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
      const decoder = new TextDecoderStream();
      let buffer = "";
      for await (const chunk of response.body!.pipeThrough(decoder)) {
        buffer += chunk;
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue;
            const at = line.indexOf(":");
            fields[line.slice(0, at)] = line.slice(at + 1).replace(/^ /, "");
          }
          if (fields.data === undefined) continue;
          this.#events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) });
        }
      }
    })().catch((error) => {
      if (error.name !== "AbortError") throw error;
    });
  }

  /** The next event that matches, waiting up to `timeoutMs`. */
  next(match: (e: SseEvent) => boolean, timeoutMs = 5000): Promise<SseEvent> {
    return this.#events.next(match, timeoutMs);
  }

  /** Disconnects. */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }
}

const post = (http: string, room: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${http}/rooms/${room}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

Deno.test("POST /rooms/:id/messages stores and delivers; an Idempotency-Key retry returns the same event", async () => {
  const server = await startServer();
  const ann = await Client.connect(server.ws, { name: "ann", room: "ops" });
  try {
    const room = String(ann.events.find((e) => e.event === "joined")!.room);
    const first = await post(server.http, "ops", { message: "deploy done", name: "ci-bot" }, {
      "idempotency-key": "build-42",
    });
    assert.equal(first.status, 201);
    const stored = await first.json();
    assert.deepEqual(
      [stored.event, stored.room, stored.member, stored.message, stored.seq],
      ["broadcast", room, "ci-bot", "deploy done", 1],
    );
    assert.equal((await ann.next((e) => e.event === "broadcast")).id, stored.id);
    const retry = await post(server.http, room, { message: "deploy done", name: "ci-bot" }, {
      "idempotency-key": "build-42",
    });
    assert.equal(retry.status, 201);
    assert.deepEqual(await retry.json(), stored);
    const history = await (await fetch(`${server.http}/rooms/ops/messages`)).json();
    assert.equal(history.messages.length, 1, "stored once");
    for (
      const [body, status, code] of [
        [{}, 400, "missing_field"],
        [{ message: 5 }, 400, "invalid_field"],
        [{ message: "x", name: "" }, 400, "invalid_name"],
      ] as const
    ) {
      const refused = await post(server.http, room, body);
      assert.equal(refused.status, status);
      assert.equal((await refused.json()).error, code);
    }
    const nowhere = await post(server.http, "nowhere", { message: "x" });
    assert.equal(nowhere.status, 404);
    await nowhere.body?.cancel();
  } finally {
    await ann.close();
    await server.close();
  }
});

Deno.test("with tokens, POST /rooms/:id/messages needs one, and its subject is the author", async () => {
  const secret = "s".repeat(32);
  const server = await startServer({ jwtSecret: secret });
  try {
    await server.chat.post("ops", "room made");
    const none = await post(server.http, "ops", { message: "hi" });
    assert.equal(none.status, 401);
    await none.body?.cancel();
    const token = await issueToken(secret, "deployer", { ttlSeconds: 60 });
    const sent = await post(server.http, "ops", { message: "hi", name: "someone-else" }, {
      authorization: `Bearer ${token}`,
    });
    assert.equal(sent.status, 201);
    assert.equal((await sent.json()).member, "deployer");
  } finally {
    await server.close();
  }
});

Deno.test("GET /rooms/:id/events: stored events with their ids, joins and leaves; Last-Event-ID resumes like since", async () => {
  const server = await startServer();
  const ann = await Client.connect(server.ws, { name: "ann", room: "feed" });
  try {
    const stream = new SseReader(`${server.http}/rooms/feed/events`);
    const joined = await stream.next((e) => e.event === "joined");
    assert.deepEqual([joined.data.name, joined.data.members, joined.data.seq], [
      "feed",
      ["ann"],
      0,
    ]);
    const acks: Json[] = [];
    for (let i = 0; i < 3; i++) {
      acks.push(await ann.request({ command: "broadcast", message: `m${i}` }));
    }
    for (const ack of acks) {
      const e = await stream.next((e) => e.data.event === "broadcast");
      assert.equal(e.id, ack.id, "id: is the message id");
      assert.equal(e.data.message, ack.message);
    }
    const bob = await Client.connect(server.ws, { name: "bob", room: "feed" });
    assert.equal((await stream.next((e) => e.data.event === "join")).data.member, "bob");
    await bob.close();
    const leave = await stream.next((e) => e.data.event === "leave");
    assert.equal(leave.data.member, "bob");
    assert.equal(leave.id, undefined, "presence events carry no id");
    await stream.close();

    // A client that saw m0 resumes: m1, m2, then live, once each.
    const resumes: Record<string, string>[] = [{ "last-event-id": String(acks[0].id) }, {}];
    for (const resume of resumes) {
      const url = `${server.http}/rooms/feed/events` +
        (Object.keys(resume).length ? "" : `?lastEventId=${acks[0].id}`);
      const again = new SseReader(url, resume);
      const back = await again.next((e) => e.event === "joined");
      assert.equal(back.data.recovered, true);
      await ann.request({ command: "broadcast", message: `live ${Object.keys(resume).length}` });
      const got = [];
      for (let i = 0; i < 3; i++) {
        got.push((await again.next((e) => e.data.event === "broadcast")).data.message);
      }
      assert.deepEqual(got.slice(0, 2), ["m1", "m2"]);
      assert.match(String(got[2]), /^live /);
      await again.close();
    }
    const bad = await fetch(`${server.http}/rooms/feed/events`, {
      headers: { "last-event-id": "not-an-id" },
    });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const unknown = await fetch(`${server.http}/rooms/nowhere/events`);
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
  } finally {
    await closeAll([ann]);
    await server.close();
  }
});

Deno.test("an Idempotency-Key reused for a different message is 422 key_reused, and nothing more is stored", async () => {
  const server = await startServer();
  try {
    const post = (message: string, name = "bot") =>
      fetch(`${server.http}/rooms/lobby/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": "k-1" },
        body: JSON.stringify({ message, name }),
      });
    await (await fetch(`${server.http}/rooms`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "lobby" }),
    })).body?.cancel();
    const first = await post("the first");
    assert.equal(first.status, 201);
    const stored = await first.json();
    const again = await post("the first");
    assert.equal(again.status, 201, "a true retry still gets the first event");
    assert.equal((await again.json()).id, stored.id);
    for (const [message, name] of [["another text", "bot"], ["the first", "someone else"]]) {
      const reused = await post(message, name);
      assert.equal(reused.status, 422);
      const body = await reused.json();
      assert.equal(body.error, "key_reused");
      assert.equal(body.id, stored.id);
    }
    const page = await (await fetch(`${server.http}/rooms/lobby/messages`)).json();
    assert.equal(page.messages.length, 1);
  } finally {
    await server.close();
  }
});
