// Rooms you can run over real sockets and HTTP (PROTOCOL.md, third round, "Rooms you can run"):
// private rooms hidden from outsiders on every path, invitations, roles, kick, ban, unban, mute,
// moderator deletes, admins, and the moderation events in the room's log. The rule itself is in
// store_contract.ts (every store applies it atomically).
import { deepEqual, equal, ok } from "node:assert/strict";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ChatService } from "../src/transport/grpc/gen/chat_v1/chat_pb.ts";
import { issueToken } from "../src/transport/tokens.ts";
import { MATRIX_LIMITS, moderationMatrix } from "./_moderation_matrix.ts";
import { MemoryStore } from "../src/engines/memory/memory_store.ts";
import type { ChatOptions } from "../src/mod.ts";
import {
  Client,
  closeAll,
  cluster,
  eventually,
  type Json,
  rawUpgrade,
  startServer,
  type TestServer,
} from "./_helpers.ts";

const SECRET = "moderation-secret";
const FAST = { jwtSecret: SECRET, ...MATRIX_LIMITS };

/** A token for `name` (its subject), with `admin: true` when asked. */
const tokenOf = (name: string, admin = false) => issueToken(SECRET, name, { admin });

async function as(server: { ws: string }, name: string, room: string, admin = false) {
  return await Client.connect(server.ws, { token: await tokenOf(name, admin), room });
}

async function http(url: string, name?: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (name) headers.set("authorization", `Bearer ${await tokenOf(name)}`);
  return await fetch(url, { ...init, headers });
}

async function status(url: string, name?: string): Promise<number> {
  const response = await http(url, name);
  await response.body?.cancel();
  return response.status;
}

/** The stores a server runs on here: Deno KV (`:memory:`) and the memory store. */
const STORES: [string, () => ChatOptions][] = [
  ["Deno KV", () => ({})],
  ["memory store", () => ({ store: new MemoryStore({ maxMessages: 10_000, maxAgeMs: 0 }) })],
];

/** Registers a test once per store. */
function onEachStore(name: string, body: (engine: () => ChatOptions) => Promise<void>): void {
  for (const [store, engine] of STORES) Deno.test(`${name} (${store})`, () => body(engine));
}

async function withServer(
  engine: () => ChatOptions,
  body: (server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startServer({ ...FAST, ...engine() });
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

onEachStore(
  "a private room is hidden from outsiders on every path; an invitation lets one in",
  (engine) =>
    withServer(engine, async (server) => {
      const owner = await as(server, "olga", "lobby");
      const outsider = await as(server, "otto", "lobby");
      try {
        const made = await owner.request({ command: "join", room: "secret", private: true });
        equal(made.event, "joined");
        equal(made.role, "owner");
        equal(made.private, true);
        const room = made.room as string;
        await owner.request({ command: "broadcast", room, message: "for us only" });

        const refused = await outsider.request({ command: "join", room: "secret" });
        equal(refused.code, "room_forbidden");
        equal((await outsider.request({ command: "join", room })).code, "room_forbidden");
        equal((await outsider.request({ command: "history", room })).code, "room_forbidden");
        // HTTP: the room does not exist for an outsider, signed in or not.
        for (const who of ["otto", undefined]) {
          equal(await status(`${server.http}/rooms/${room}`, who), 404);
          equal(await status(`${server.http}/rooms/secret/messages`, who), 404);
          equal(await status(`${server.http}/rooms/${room}/messages?q=only`, who), 404);
          equal(await status(`${server.http}/rooms/${room}/events`, who), 404);
          const listed = await (await http(`${server.http}/rooms`, who)).json();
          ok(!listed.some((r: Json) => r.id === room), "not listed");
          const post = await http(`${server.http}/rooms/${room}/messages`, who, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ message: "hi" }),
          });
          // (Writes need a token at all on this server: 401 without one.)
          equal(post.status, who ? 404 : 401);
          await post.body?.cancel();
        }
        // Creating its name as someone else: 409, without the id.
        const taken = await http(`${server.http}/rooms`, "otto", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ name: "SECRET" }),
        });
        equal(taken.status, 409);
        const body = await taken.json();
        equal(body.error, "room_exists");
        equal(body.id, undefined);
        // The owner sees it everywhere.
        equal(await status(`${server.http}/rooms/${room}`, "olga"), 200);
        const mine = await (await http(`${server.http}/rooms`, "olga")).json();
        ok(mine.some((r: Json) => r.id === room));

        // An invitation: the invited hears of it, and may join and read.
        const invited = await owner.request({ command: "invite", room, to: "otto" });
        deepEqual(
          { event: invited.event, room: invited.room, name: invited.name, to: invited.to },
          { event: "invited", room, name: "secret", to: outsider.me.id },
        );
        equal(invited.by, owner.me.id);
        const told = await outsider.next((e) => e.event === "invited");
        equal(told.room, room);
        const joined = await outsider.request({ command: "join", room });
        equal(joined.event, "joined");
        equal(joined.role, "member");
        equal(await status(`${server.http}/rooms/${room}/messages`, "otto"), 200);
        // A member may not invite.
        const third = await as(server, "thea", "lobby");
        equal((await outsider.request({ command: "invite", room, to: "thea" })).code, "forbidden");
        await third.close();
      } finally {
        await closeAll([owner, outsider]);
      }
    }),
);

onEachStore(
  "roles: the owner makes moderators; moderators kick, ban, mute and delete others' messages; members may not; nobody acts above their rank",
  (engine) =>
    withServer(engine, async (server) => {
      const owner = await as(server, "olga", "club");
      const mod = await as(server, "mo", "club");
      const ann = await as(server, "ann", "club");
      const annPhone = await as(server, "ann", "club");
      const bob = await as(server, "bob", "club");
      try {
        equal(owner.events.find((e) => e.event === "joined")!.role, "owner");
        equal(mod.events.find((e) => e.event === "joined")!.role, "member");
        equal((await mod.request({ command: "kick", room: "club", to: "bob" })).code, "forbidden");
        equal(
          (await mod.request({ command: "role", room: "club", to: "mo", role: "moderator" })).code,
          "forbidden",
        );
        const made = await owner.request({
          command: "role",
          room: "club",
          to: "mo",
          role: "moderator",
        });
        deepEqual(
          { event: made.event, member: made.member, memberId: made.memberId, role: made.role },
          { event: "role", member: "mo", memberId: mod.me.id, role: "moderator" },
        );
        await bob.next((e) => e.event === "role" && e.memberId === mod.me.id);
        equal(
          (await mod.request({ command: "kick", room: "club", to: "olga" })).code,
          "forbidden",
          "not the owner",
        );
        equal(
          (await mod.request({ command: "role", room: "club", to: "bob", role: "moderator" })).code,
          "forbidden",
          "only the owner gives roles",
        );
        equal(
          (await mod.request({ command: "kick", room: "club", to: "nobody-here" })).code,
          "no_such_member",
        );

        // Moderator delete: the event says by whom.
        const said = await bob.request({ command: "broadcast", room: "club", message: "spam" });
        const deleted = await mod.request({ command: "delete", room: "club", target: said.id });
        equal(deleted.event, "deleted");
        equal(deleted.by, mod.me.id);
        const own = await bob.request({ command: "broadcast", room: "club", message: "mine" });
        const selfDeleted = await bob.request({ command: "delete", room: "club", target: own.id });
        equal(selfDeleted.by, undefined);
        const annSaid = await ann.request({ command: "broadcast", room: "club", message: "hi" });
        equal(
          (await bob.request({ command: "delete", room: "club", target: annSaid.id })).code,
          "forbidden",
        );

        // Mute: refused while it lasts; the room is told.
        const muted = await mod.request({ command: "mute", room: "club", to: "bob", seconds: 60 });
        equal(muted.event, "muted");
        ok((muted.until as number) > Date.now());
        await ann.next((e) => e.event === "muted" && e.memberId === bob.me.id);
        const silenced = await bob.request({ command: "broadcast", room: "club", message: "x" });
        equal(silenced.code, "muted");
        equal(
          (await mod.request({ command: "mute", room: "club", to: "bob" })).code,
          "missing_field",
        );

        // Kick: every connection of ann leaves the room; the others hear one leave.
        const kicked = await mod.request({ command: "kick", room: "club", to: "ann" });
        deepEqual(
          { event: kicked.event, member: kicked.member, memberId: kicked.memberId, by: kicked.by },
          { event: "kicked", member: "ann", memberId: ann.me.id, by: mod.me.id },
        );
        for (const device of [ann, annPhone]) {
          const heard = await device.next((e) => e.event === "kicked");
          equal(heard.by, mod.me.id);
        }
        await bob.next((e) => e.event === "leave" && e.member === "ann");
        const list = await bob.request({ command: "list", room: "club" });
        ok(!(list.members as string[]).includes("ann"));
        // A kick is not a ban: ann may come back.
        equal((await ann.request({ command: "join", room: "club" })).event, "joined");

        // Ban (timed): out at once, refused to join and to write; unban ends it.
        const banned = await mod.request({
          command: "ban",
          room: "club",
          to: "ann",
          seconds: 3600,
        });
        equal(banned.event, "banned");
        ok((banned.until as number) > Date.now());
        await ann.next((e) => e.event === "banned");
        equal((await ann.request({ command: "join", room: "club" })).code, "banned");
        equal(
          (await ann.request({ command: "broadcast", room: "club", message: "let me in" })).code,
          "banned",
        );
        const forever = await owner.request({ command: "ban", room: "club", to: "bob" });
        equal(forever.event, "banned");
        equal(forever.until, undefined);
        equal((await bob.request({ command: "join", room: "club" })).code, "banned");
        const unbanned = await mod.request({ command: "unban", room: "club", to: "ann" });
        deepEqual(
          { event: unbanned.event, memberId: unbanned.memberId },
          { event: "unbanned", memberId: ann.me.id },
        );
        equal((await ann.request({ command: "join", room: "club" })).event, "joined");

        // The log has it all: a replay from the first message shows who did what, in order.
        const reader = await Client.connect(server.ws, {
          token: await tokenOf("reader"),
          room: "club",
          since: said.id as string,
        });
        await reader.next((e) => e.event === "unbanned");
        const names = reader.events.filter((e) => typeof e.seq === "number").map((e) => e.event);
        for (const name of ["deleted", "muted", "kicked", "banned", "unbanned"]) {
          ok(names.includes(name), `${name} in the replay: ${names}`);
        }
        await reader.close();
      } finally {
        await closeAll([owner, mod, ann, annPhone, bob]);
      }
    }),
);

onEachStore(
  "an admin token is a moderator in every room (but not above the owner); the embedder's chat.moderate acts as the server",
  (engine) =>
    withServer(engine, async (server) => {
      const owner = await as(server, "olga", "hall");
      const admin = await as(server, "root", "hall", true);
      const bob = await as(server, "bob", "hall");
      try {
        equal(admin.events.find((e) => e.event === "joined")!.role, "moderator");
        equal((await admin.request({ command: "kick", room: "hall", to: "bob" })).event, "kicked");
        equal(
          (await admin.request({ command: "kick", room: "hall", to: "olga" })).code,
          "forbidden",
        );
        // An admin enters private rooms too.
        const made = await owner.request({ command: "join", room: "vault", private: true });
        equal((await admin.request({ command: "join", room: made.room })).role, "moderator");
        equal((await bob.request({ command: "join", room: "vault" })).code, "room_forbidden");
        const event = await server.chat.moderate("vault", { action: "invite", to: "bob" });
        equal(event.event, "invited");
        equal((await bob.request({ command: "join", room: "vault" })).event, "joined");
        await server.chat.moderate("vault", { action: "ban", to: bob.me.id as string });
        await bob.next((e) => e.event === "banned");
        equal((await bob.request({ command: "join", room: "vault" })).code, "banned");
      } finally {
        await closeAll([owner, admin, bob]);
      }
    }),
);

Deno.test("moderation survives a restart (the access is stored with the room)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-moderation-" });
  const settings = { ...FAST, kvPath: `${dir}/chat.kv` };
  let server = await startServer(settings);
  const port = server.port;
  try {
    const owner = await as(server, "olga", "lobby");
    const made = await owner.request({ command: "join", room: "keep", private: true });
    await owner.request({ command: "invite", room: made.room, to: "01ARZ3NDEKTSV4RRFFQ69G5FAV" });
    const bobToken = await tokenOf("bob");
    const bob = await Client.connect(server.ws, { token: bobToken, room: "lobby" });
    await owner.request({ command: "invite", room: made.room, to: "bob" });
    await owner.request({ command: "mute", room: made.room, to: "bob", seconds: 3600 });
    await closeAll([owner, bob]);
    await server.close();
    server = await startServer(settings, port);
    const again = await Client.connect(server.ws, { token: bobToken, room: "lobby" });
    equal((await again.request({ command: "join", room: "keep" })).event, "joined");
    const refused = await again.request({ command: "broadcast", room: "keep", message: "x" });
    equal(refused.code, "muted");
    const stranger = await as(server, "otto", "lobby");
    equal((await stranger.request({ command: "join", room: "keep" })).code, "room_forbidden");
    await closeAll([again, stranger]);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

for (const busKind of ["broadcast-channel", "kv"]) {
  Deno.test(`across isolates (${busKind} bus): a kick on one isolate takes the member out on the other; a ban holds there`, async () => {
    const c = await cluster(2, { jwtSecret: SECRET, busKind });
    const [a, b] = c.isolates;
    const owner = await Client.connect(a.ws, { token: await tokenOf("olga"), room: "x-mod" });
    const ann = await Client.connect(b.ws, { token: await tokenOf("ann"), room: "x-mod" });
    try {
      await owner.waitFor((e) => e.event === "join" && e.member === "ann", 10_000);
      await owner.request({ command: "ban", room: "x-mod", to: "ann" });
      await ann.next((e) => e.event === "banned", 10_000);
      await owner.waitFor((e) => e.event === "leave" && e.member === "ann", 10_000);
      equal((await ann.request({ command: "join", room: "x-mod" })).code, "banned");
      const members = await (await fetch(`http://127.0.0.1:${b.port}/rooms/x-mod`)).json();
      deepEqual(members.members, ["olga"]);
    } finally {
      await closeAll([owner, ann]);
      await c.close();
    }
  });
}

onEachStore(
  "a private room on the other paths: Connect (gRPC's service) and seed 003's route do not find it for an outsider; the text wire is refused it",
  (engine) =>
    withServer(engine, async (server) => {
      const owner = await as(server, "olga", "lobby");
      try {
        const made = await owner.request({ command: "join", room: "hidden", private: true });
        const room = made.room as string;
        const chat = (name: string) =>
          createClient(
            ChatService,
            createConnectTransport({
              baseUrl: server.http,
              interceptors: [(next) => async (request) => {
                request.header.set("authorization", `Bearer ${await tokenOf(name)}`);
                return next(request);
              }],
            }),
          );
        const notFound = async (work: () => Promise<unknown>) => {
          try {
            await work();
            return "no error";
          } catch (error) {
            return ConnectError.from(error).code === Code.NotFound ? "not found" : String(error);
          }
        };
        equal(
          await notFound(() =>
            chat("otto").sendMessage({ chatId: room, message: { content: "hi" } })
          ),
          "not found",
        );
        equal(
          await notFound(async () => {
            for await (const _ of chat("otto").connectChat({ chatId: room })) break;
          }),
          "not found",
        );
        const mine = await chat("olga").sendMessage({ chatId: room, message: { content: "ok" } });
        equal(mine.content, "ok");
        // Seed 003: an unknown room to an outsider, before the upgrade.
        const chatty = await rawUpgrade(
          server.port,
          `/chat/join?room=${room}&name=otto&token=${await tokenOf("otto")}`,
        );
        equal(chatty.status, 404);
        // The text wire (seed 002) joins through the same door.
        const text = new WebSocket(
          `${server.ws}?wire=text&room=${room}&token=${await tokenOf("otto")}`,
        );
        const lines: string[] = [];
        text.onmessage = (m) => lines.push(String(m.data));
        await eventually(() => lines.some((l) => l.includes("private")), "the refusal");
        text.close();
      } finally {
        await owner.close();
      }
    }),
);

Deno.test("without tokens, the session is the identity: a private room over HTTP with the session (query or header) and without it", async () => {
  const server = await startServer({ ratePerSecond: 1000, rateBurst: 1000 });
  const owner = await Client.connect(server.ws, { name: "olga", room: "lobby" });
  try {
    const session = owner.me.session as string;
    const made = await owner.request({ command: "join", room: "den", private: true });
    const room = made.room as string;
    equal(await status(`${server.http}/rooms/${room}`), 404);
    equal(await status(`${server.http}/rooms/${room}?session=${encodeURIComponent(session)}`), 200);
    const byHeader = await fetch(`${server.http}/rooms/${room}/messages`, {
      headers: { "x-chat-session": session },
    });
    equal(byHeader.status, 200);
    await byHeader.body?.cancel();
    // A private room over HTTP needs an owner: a session will do.
    const post = (headers: Record<string, string>) =>
      fetch(`${server.http}/rooms`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ name: `attic-${Object.keys(headers).length}`, private: true }),
      });
    const anonymous = await post({});
    equal(anonymous.status, 400);
    equal((await anonymous.json()).error, "invalid_field");
    const mine = await post({ "x-chat-session": session });
    equal(mine.status, 201);
    const attic = await mine.json();
    equal(attic.private, true);
    equal(attic.owner, owner.me.id);
    equal((await owner.request({ command: "join", room: attic.id })).role, "owner");
  } finally {
    await owner.close();
    await server.close();
  }
});

onEachStore(
  "the matrix: owner, moderator, member, outsider and admin against every command and every read path of a private room",
  (engine) => withServer(engine, (server) => moderationMatrix(server, SECRET)),
);
