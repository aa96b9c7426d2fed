// The client library under Node: the modules as the server serves them (GET /client.js and the
// parts it imports, GET /client/*.js), saved as they came into a temporary folder and imported
// from there; joins a room, sends and hears its message, then prints one JSON line.
// Usage: node [--experimental-websocket] library.mjs <http url>   (Node 22+ has WebSocket built in)
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const [url] = process.argv.slice(2);
const folder = await mkdtemp(join(tmpdir(), "chat-client-"));
/** Saves `path` as served, then every module it imports by a relative specifier. */
async function save(path, seen = new Set()) {
  if (seen.has(path)) return;
  seen.add(path);
  const answer = await fetch(new URL(path, url));
  if (!answer.ok) throw new Error(`GET ${path} answered ${answer.status}`);
  const source = await answer.text();
  await mkdir(dirname(join(folder, path)), { recursive: true });
  await writeFile(join(folder, path), source);
  for (const [, specifier] of source.matchAll(/\bfrom "(\.\.?\/[^"]+)"/g)) {
    await save(new URL(specifier, new URL(path, "http://x/")).pathname, seen);
  }
}
await save("/client.js");
const { connect } = await import(pathToFileURL(join(folder, "client.js")).href);
const chat = connect({ url, name: "nodey" });
const room = await chat.join("from-node");
const heard = [];
room.on("message", (event) => heard.push(event.message));
const stored = await room.send("sent by the library in Node");
while (heard.length === 0) await new Promise((r) => setTimeout(r, 10));
chat.close();
console.log(JSON.stringify({ id: stored.id, heard, session: chat.session, node: process.version }));
process.exit(0);
