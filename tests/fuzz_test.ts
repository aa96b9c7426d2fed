import assert from "node:assert/strict";
import { Client, type Json, startServer } from "./_helpers.ts";
import { EDGE_STRINGS, random } from "./_fuzz.ts";

const COMMANDS = ["me", "join", "leave", "broadcast", "list", "history", "nope", "", "JOIN"];
const FIELDS = ["command", "id", "room", "message", "since", "before", "limit", "name"];

function frame(next: () => number): string | Uint8Array<ArrayBuffer> {
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)];
  const value = (depth: number): unknown => {
    switch (Math.floor(next() * 9)) {
      case 0:
        return pick(EDGE_STRINGS);
      case 1:
        return pick([0, -1, 1e308, -1e308, 2 ** 53 + 1, 0.5, NaN, 201, 50]);
      case 2:
        return next() < 0.5;
      case 3:
        return null;
      case 4:
        return depth > 3 ? [] : [value(depth + 1), value(depth + 1)];
      case 5:
        return depth > 3 ? {} : { [pick(FIELDS)]: value(depth + 1) };
      case 6:
        return pick(COMMANDS);
      default:
        return String.fromCharCode(...Array.from({ length: 8 }, () => Math.floor(next() * 0xffff)));
    }
  };
  switch (Math.floor(next() * 8)) {
    case 0: // random bytes, as a binary frame
      return new Uint8Array(
        Array.from({ length: 1 + Math.floor(next() * 64) }, () => next() * 256),
      );
    case 1: // random text, often not JSON
      return String.fromCharCode(
        ...Array.from({ length: 1 + Math.floor(next() * 40) }, () => Math.floor(next() * 0x3000)),
      );
    case 2: // deep nesting
      return "{".repeat(1 + Math.floor(next() * 5000)) + "}".repeat(Math.floor(next() * 10));
    case 3: // broken JSON that starts like an object
      return `{"command": "${pick(COMMANDS)}", ${pick(EDGE_STRINGS)}`;
    case 4: // JSON of the wrong shape
      return JSON.stringify(value(0)) ?? "null";
    default: { // a command with random fields of random types
      const command: Record<string, unknown> = { command: pick(COMMANDS) };
      for (let i = Math.floor(next() * 4); i > 0; i--) command[pick(FIELDS)] = value(1);
      if (next() < 0.2) command.command = value(1);
      return JSON.stringify(command);
    }
  }
}

Deno.test("a seeded fuzz of thousands of frames: every one answered, nothing thrown, server still fine", async () => {
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? 20261126);
  const frames = Number(Deno.env.get("FUZZ_FRAMES") ?? 2000);
  const problems: Json[] = [];
  const server = await startServer({
    ratePerSecond: 1e6,
    rateBurst: 1e6,
    maxRoomsPerConnection: 5,
    logger: (event, fields) => {
      if (event === "ws_internal_error" || event === "http_error") {
        problems.push({ event, ...fields });
      }
      if (event === "command_failed" && fields?.code === "internal") {
        problems.push({ event, ...fields });
      }
    },
  });
  const next = random(seed);
  let fuzzer = await Client.connect(server.ws, { name: "fuzzer" });
  const answered = new Map<string, number>();
  try {
    for (let i = 0; i < frames; i++) {
      const f = frame(next);
      const before = fuzzer.events.length;
      fuzzer.sendRaw(f);
      // A sentinel after each frame: everything before its answer answers the fuzz frame.
      const sentinel = await fuzzer.request({ command: "me", id: `s${i}` }, 10_000);
      const answers = fuzzer.events.slice(before, fuzzer.events.indexOf(sentinel));
      assert.ok(
        answers.length >= 1,
        `frame ${i} (seed ${seed}) got no answer: ${String(f).slice(0, 80)}`,
      );
      for (const a of answers) {
        const kind = a.event === "error" ? `error:${a.code}` : String(a.event);
        answered.set(kind, (answered.get(kind) ?? 0) + 1);
        if (a.event === "error") assert.match(String(a.code), /^[a-z_]+$/);
      }
      if (fuzzer.events.length > 2000) {
        // Keep memory flat over long runs: start a fresh connection now and then.
        await fuzzer.close();
        fuzzer = await Client.connect(server.ws, { name: "fuzzer" });
      }
    }
    console.log(`  seed ${seed}: ${frames} frames;`, Object.fromEntries(answered));
    assert.deepEqual(problems, []);
    // A well-behaved client still gets the full service.
    const alice = await Client.connect(server.ws, { name: "alice", room: "after-fuzz" });
    const bob = await Client.connect(server.ws, { name: "bob", room: "after-fuzz" });
    await alice.request({ command: "broadcast", message: "still alive" });
    assert.equal((await bob.next((e) => e.event === "broadcast")).message, "still alive");
    const health = await fetch(`${server.http}/health`);
    assert.equal(await health.text(), "ok");
    await alice.close();
    await bob.close();
  } finally {
    await fuzzer.close();
    await server.close();
  }
});
