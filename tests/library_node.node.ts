// `deno task test:node`: the client library in Node (the machine's `node`), as served.
import assert from "node:assert/strict";
import { Client, startServer } from "./_helpers.ts";

Deno.test("the client library runs under Node as served: join, send, receive", async () => {
  const server = await startServer();
  const watcher = await Client.connect(server.ws, { name: "watcher", room: "from-node" });
  try {
    const version = new TextDecoder().decode(
      (await new Deno.Command("node", { args: ["--version"], stdout: "piped" }).output()).stdout,
    );
    // Node 22 has WebSocket built in; 20 and 21 have it behind a flag.
    const flags = Number(version.slice(1).split(".")[0]) < 22 ? ["--experimental-websocket"] : [];
    const out = await new Deno.Command("node", {
      args: [...flags, "tests/node_client/library.mjs", server.http],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.ok(out.success, `${text}\n${new TextDecoder().decode(out.stderr)}`);
    const result = JSON.parse(text.split("\n").at(-1)!);
    assert.match(String(result.id), /^[0-9A-Z]{26}$/);
    assert.deepEqual(result.heard, ["sent by the library in Node"]);
    assert.match(String(result.session), /^s1\./);
    assert.equal((await watcher.next((e) => e.event === "broadcast")).message, result.heard[0]);
  } finally {
    await watcher.close();
    await server.close();
  }
});
