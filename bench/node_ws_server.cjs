// The peer: the same relay on Node's `ws` package (run with node; `ws` comes from WS_MODULE).
const { WebSocketServer } = require(process.env.WS_MODULE || "ws");
const http = require("node:http");
const rooms = new Map();
const server = http.createServer((_req, res) => res.end("ok"));
const wss = new WebSocketServer({ server });
wss.on("connection", (socket, req) => {
  const room = new URL(req.url, "http://x").searchParams.get("room") || "lobby";
  if (!rooms.has(room)) rooms.set(room, new Set());
  const set = rooms.get(room);
  set.add(socket);
  socket.on("message", (data, isBinary) => {
    for (const peer of set) if (peer.readyState === 1) peer.send(data, { binary: isBinary });
  });
  socket.on("close", () => set.delete(socket));
});
server.listen(Number(process.env.PORT || 8101), "127.0.0.1", () => console.log("listening"));
