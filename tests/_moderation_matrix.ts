// The moderation matrix: owner, moderator, member, outsider and admin against every command
// and every read path of a private room, on a running server (any engine). Used by
// moderation_test.ts (KV, memory) and redis/moderation.redis.ts (Redis).
import { deepEqual, equal } from "node:assert/strict";
import { issueToken } from "../src/transport/tokens.ts";
import { Client, closeAll, type Json } from "./_helpers.ts";

/**
 * The limits a matrix server needs: many sockets from one address, and joins and messages as
 * fast as the test goes.
 */
export const MATRIX_LIMITS = {
  ratePerSecond: 1000,
  rateBurst: 1000,
  maxConnectionsPerAddress: 100,
  joinRatePerSecond: 1000,
  joinBurst: 1000,
};

/**
 * Runs the matrix on `server` (tokens signed with `secret`; started with {@link MATRIX_LIMITS}).
 */
export async function moderationMatrix(
  server: { ws: string; http: string },
  secret: string,
): Promise<void> {
  const tokenOf = (name: string, admin = false) => issueToken(secret, name, { admin });
  const as = async (name: string, room: string, admin = false) =>
    await Client.connect(server.ws, { token: await tokenOf(name, admin), room });
  const owner = await as("olga", "lobby");
  const made = await owner.request({ command: "join", room: "matrix", private: true });
  const room = made.room as string;
  const join = async (name: string, admin = false) => {
    const client = await as(name, "lobby", admin);
    await owner.request({ command: "invite", room, to: name });
    equal((await client.request({ command: "join", room })).event, "joined", name);
    return client;
  };
  const mod = await join("mo");
  await owner.request({ command: "role", room, to: "mo", role: "moderator" });
  const member = await join("mel");
  const tess = await join("tess");
  const dora = await join("dora");
  const admin = await as("root", "lobby", true);
  equal((await admin.request({ command: "join", room })).role, "moderator");
  const outsider = await as("otto", "lobby");
  const actors: [string, Client][] = [
    ["owner", owner],
    ["moderator", mod],
    ["member", member],
    ["outsider", outsider],
    ["admin", admin],
  ];
  try {
    /** What each actor gets for each command: the event, or the error code. */
    const expected: Record<string, Record<string, string>> = {
      invite: {
        owner: "invited",
        moderator: "invited",
        member: "forbidden",
        outsider: "room_forbidden",
        admin: "invited",
      },
      role: {
        owner: "role",
        moderator: "forbidden",
        member: "forbidden",
        outsider: "room_forbidden",
        admin: "forbidden",
      },
      kick: {
        owner: "kicked",
        moderator: "kicked",
        member: "forbidden",
        outsider: "room_forbidden",
        admin: "kicked",
      },
      ban: {
        owner: "banned",
        moderator: "banned",
        member: "forbidden",
        outsider: "room_forbidden",
        admin: "banned",
      },
      unban: {
        owner: "unbanned",
        moderator: "unbanned",
        member: "forbidden",
        outsider: "room_forbidden",
        admin: "unbanned",
      },
      mute: {
        owner: "muted",
        moderator: "muted",
        member: "forbidden",
        outsider: "room_forbidden",
        admin: "muted",
      },
      delete: {
        owner: "deleted",
        moderator: "deleted",
        member: "forbidden",
        outsider: "room_forbidden",
        admin: "deleted",
      },
    };
    const got: Record<string, Record<string, string>> = {};
    const guests: Client[] = [];
    for (const command of Object.keys(expected)) {
      got[command] = {};
      for (const [role, actor] of actors) {
        // Each action acts on tess, who is put back in the room between actors.
        let request: Json = { command, room, to: "tess" };
        if (command === "invite") request = { command, room, to: `invitee-${role}` };
        if (command === "role") request = { ...request, role: "moderator" };
        if (command === "mute" || command === "ban") request = { ...request, seconds: 60 };
        if (command === "unban") await owner.request({ command: "ban", room, to: "tess" });
        if (command === "delete") {
          // (tess is muted by now: someone else wrote it)
          const said = await dora.request({ command: "broadcast", room, message: "x" });
          request = { command, room, target: said.id };
        }
        if (command === "invite") guests.push(await as(`invitee-${role}`, "lobby"));
        const answer = await actor.request(request);
        got[command][role] = String(answer.event === "error" ? answer.code : answer.event);
        // Put tess back as she was.
        if (got[command][role] === "role") {
          await owner.request({ command: "role", room, to: "tess", role: "member" });
        }
        if (command === "ban" || command === "unban") {
          await owner.request({ command: "unban", room, to: "tess" });
        }
        if (command === "kick" || command === "ban" || command === "unban") {
          if (!tess.events.some((e) => e.event === "joined" && e.room === room && e.re)) {
            // (a fresh join after every removal)
          }
          const back = await tess.request({ command: "join", room });
          equal(back.event, "joined", `tess back after ${command} by ${role}`);
        }
      }
    }
    deepEqual(got, expected);
    await closeAll(guests);

    // Every read path: the list sees the room, the outsider finds nothing.
    const reads = async (name: string) => {
      const token = `Bearer ${await tokenOf(name, name === "root")}`;
      const get = async (path: string) => {
        const response = await fetch(`${server.http}${path}`, {
          headers: { authorization: token },
        });
        await response.body?.cancel();
        return response.status;
      };
      const listed = await (await fetch(`${server.http}/rooms`, {
        headers: { authorization: token },
      })).json();
      return [
        await get(`/rooms/${room}`),
        await get(`/rooms/${room}/messages`),
        await get(`/rooms/${room}/messages?q=x`),
        await get(`/rooms/${room}/events`),
        listed.some((r: Json) => r.id === room) ? "listed" : "unlisted",
      ];
    };
    for (const [role, actor] of actors) {
      const name = actor.me.member as string;
      const seen = role === "outsider"
        ? [404, 404, 404, 404, "unlisted"]
        : [200, 200, 200, 200, "listed"];
      deepEqual(await reads(name), seen, role);
      const history = await actor.request({ command: "history", room });
      const members = await actor.request({ command: "list", room });
      if (role === "outsider") {
        equal(history.code, "room_forbidden");
        equal(members.code, "room_forbidden");
      } else {
        equal(history.event, "history", role);
        equal(members.event, "list", role);
      }
    }
  } finally {
    await closeAll([owner, mod, member, tess, dora, admin, outsider]);
  }
}
