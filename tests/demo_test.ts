import assert from "node:assert/strict";
import { startServer } from "./_helpers.ts";

async function demo(args: string[]): Promise<{ code: number; lines: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "demo", ...args],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  return { code: out.code, lines: new TextDecoder().decode(out.stdout).trim().split("\n") };
}

Deno.test("deno task demo against a running server: John and Jack talk through the gRPC service, every line printed", async () => {
  const server = await startServer();
  try {
    const { code, lines } = await demo([
      "--host",
      "127.0.0.1",
      "--port",
      String(server.port),
      "--seconds",
      "2",
      "--pace",
      "100-200",
    ]);
    assert.equal(code, 0);
    assert.match(
      lines[0],
      /^demo: chat [0-9A-Z]{26} on http:\/\/127\.0\.0\.1:\d+; John and Jack are talking$/,
    );
    const said = lines.slice(1);
    assert.ok(said.length >= 4, JSON.stringify(said));
    for (const line of said) assert.match(line, /^(John|Jack): .+/);
    assert.ok(said.some((l) => l.startsWith("John: ")) && said.some((l) => l.startsWith("Jack: ")));
    // Each line reaches both listeners, and the chat's history holds what was said.
    const chatId = lines[0].split(" ")[2];
    const page = await (await fetch(`${server.http}/rooms/${chatId}/messages?limit=200`)).json();
    const stored = page.messages.map((m: { member: string; message: string }) =>
      `${m.member}: ${m.message}`
    );
    for (const line of stored) assert.equal(said.filter((l) => l === line).length >= 1, true, line);
  } finally {
    await server.close();
  }
});

Deno.test("deno task demo with no server given starts its own (the embedder API) and exits after --seconds", async () => {
  const { code, lines } = await demo(["--seconds", "1.5", "--pace", "100-200"]);
  assert.equal(code, 0);
  assert.ok(lines.slice(1).some((l) => /^(John|Jack): /.test(l)), JSON.stringify(lines));
  const bad = await demo(["--pace", "9-1"]);
  assert.equal(bad.code, 2);
});
