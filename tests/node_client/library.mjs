// The client library under Node: the module as the server serves it (GET /client.js), imported
// as is, joins a room, sends and hears its message, then prints one JSON line.
// Usage: node [--experimental-websocket] library.mjs <http url>   (Node 22+ has WebSocket built in)
const [url] = process.argv.slice(2);
const source = await (await fetch(`${url}/client.js`)).text();
const { connect } = await import(
  `data:text/javascript;base64,${Buffer.from(source).toString("base64")}`
);
const chat = connect({ url, name: "nodey" });
const room = await chat.join("from-node");
const heard = [];
room.on("message", (event) => heard.push(event.message));
const stored = await room.send("sent by the library in Node");
while (heard.length === 0) await new Promise((r) => setTimeout(r, 10));
chat.close();
console.log(JSON.stringify({ id: stored.id, heard, session: chat.session, node: process.version }));
process.exit(0);
