import assert from "node:assert/strict";
import { startServer } from "./_helpers.ts";

async function demo(args: string[]): Promise<{ code: number; lines: string[]; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "demo", ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return {
    code: out.code,
    lines: new TextDecoder().decode(out.stdout).trim().split("\n"),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/**
 * Every line of the talk is labelled with who received it, each said line reaches both John and
 * Jack, and the chat's history holds what was said.
 */
async function judgeTalk(lines: string[], http: string, transport: string): Promise<void> {
  assert.match(
    lines[0],
    new RegExp(
      `^demo: chat [0-9A-Z]{26} on http://127\\.0\\.0\\.1:\\d+ \\(${transport}\\); John and Jack are talking$`,
    ),
  );
  const heard = lines.slice(1);
  assert.ok(heard.length >= 4, JSON.stringify(heard));
  for (const line of heard) assert.match(line, /^\[(John|Jack)\] (John|Jack): .+/);
  const by = (who: string) =>
    heard.filter((l) => l.startsWith(`[${who}] `)).map((l) => l.slice(who.length + 3));
  const chatId = lines[0].split(" ")[2];
  const page = await (await fetch(`${http}/rooms/${chatId}/messages?limit=200`)).json();
  const stored = page.messages.map((m: { member: string; message: string }) =>
    `${m.member}: ${m.message}`
  );
  assert.ok(
    stored.some((l: string) => l.startsWith("John: ")) &&
      stored.some((l: string) => l.startsWith("Jack: ")),
  );
  // What both were still listening for (all but the last moment's) reached each of them.
  for (const line of stored.slice(0, -2)) {
    assert.ok(by("John").includes(line), `John heard ${line}`);
    assert.ok(by("Jack").includes(line), `Jack heard ${line}`);
  }
}

Deno.test("deno task demo against a running server's HTTP port: John and Jack talk over Connect, each line labelled with who heard it", async () => {
  const server = await startServer({ ratePerSecond: 1000, rateBurst: 1000 }); // one address, a fast pace
  try {
    const args = ["--host", "127.0.0.1", "--port", String(server.port), "--seconds", "2"];
    const { code, lines } = await demo([...args, "--pace", "100-200"]);
    assert.equal(code, 0);
    await judgeTalk(lines, server.http, "Connect");
  } finally {
    await server.close();
  }
});

Deno.test("deno task demo against a server's gRPC port (--grpc-port): the same talk over gRPC proper", async () => {
  const server = await startServer({ ratePerSecond: 1000, rateBurst: 1000 }); // one address, a fast pace
  const { port } = await server.chat.serveGrpc({ port: 0, hostname: "127.0.0.1" });
  try {
    const args = ["--host", "127.0.0.1", "--grpc-port", String(port), "--seconds", "2"];
    const { code, lines } = await demo([...args, "--pace", "100-200"]);
    assert.equal(code, 0);
    await judgeTalk(lines, server.http, "gRPC");
  } finally {
    await server.close();
  }
});

Deno.test("deno task demo with no server given starts its own, with no moderation hook unless --moderate, and no warning", async () => {
  // Every line is said once a round (8 lines): 1.5 s at this pace is several rounds each.
  const plain = await demo(["--seconds", "1.5", "--pace", "40-60"]);
  assert.equal(plain.code, 0);
  assert.ok(
    plain.lines.some((l) => /^\[John\] Jack: I think I found the bug\.$/.test(l)),
    JSON.stringify(plain.lines),
  );
  assert.ok(!plain.lines.some((l) => l.includes("b*g")), "nothing rewritten");
  assert.doesNotMatch(plain.stderr, /legacy|warning/i);
  const moderated = await demo(["--seconds", "1.5", "--pace", "40-60", "--moderate"]);
  assert.ok(
    moderated.lines.some((l) => l.endsWith("I think I found the b*g.")),
    JSON.stringify(moderated.lines),
  );
  const bad = await demo(["--pace", "9-1"]);
  assert.equal(bad.code, 2);
  assert.equal((await demo(["--host", "127.0.0.1"])).code, 2);
});
