// The peer a Node user would pick: Socket.IO 4 with rooms, connection-state recovery on, and an
// acknowledgement for each message; with REDIS_URL, the Redis streams adapter (a chat across
// processes), without it Socket.IO's in-memory adapter (one process). Each client joins the room
// named in its query; a `broadcast` is emitted to the room (the sender included, as ours does) and
// acknowledged. Modules come from bench/.cache (installed by bench/run.ts).
const http = require("node:http");
const { Server } = require(process.env.SIO_MODULE);
const { createAdapter } = require(process.env.SIO_ADAPTER_MODULE);
const { createClient } = require(process.env.REDIS_MODULE);

async function main() {
  let redis;
  if (process.env.REDIS_URL) {
    redis = createClient({ url: process.env.REDIS_URL });
    redis.on("error", () => {});
    await redis.connect();
  }
  const server = http.createServer((req, res) => {
    if (req.url === "/health") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`ok ${process.pid}`);
      return;
    }
    res.writeHead(404);
    res.end();
  });
  const io = new Server(server, {
    ...(redis ? { adapter: createAdapter(redis) } : {}),
    transports: ["websocket"],
    connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000 },
  });
  io.on("connection", (socket) => {
    const room = String(socket.handshake.query.room ?? "lobby");
    socket.join(room);
    socket.on("broadcast", (message, ack) => {
      io.to(room).emit("message", message);
      if (typeof ack === "function") ack("ok");
    });
  });
  server.listen(Number(process.env.PORT), "127.0.0.1");
  const stop = () =>
    io.close(() => (redis ? redis.quit() : Promise.resolve()).finally(() => process.exit(0)));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
