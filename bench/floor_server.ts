/**
 * The floor: the least a Deno WebSocket relay can do. Each frame goes, as is, to every socket in
 * the sender's room (`?room=`), the sender included. No parsing, no storage, no checks.
 *
 * @module
 */
const rooms = new Map<string, Set<WebSocket>>();
const port = Number(Deno.env.get("PORT") ?? 8100);

Deno.serve({ hostname: "127.0.0.1", port, onListen: () => console.log("listening") }, (req) => {
  if (req.headers.get("upgrade") !== "websocket") return new Response("ok");
  const room = new URL(req.url).searchParams.get("room") ?? "lobby";
  const { socket, response } = Deno.upgradeWebSocket(req);
  let members = rooms.get(room);
  if (!members) rooms.set(room, members = new Set());
  const set = members;
  socket.onopen = () => set.add(socket);
  socket.onmessage = (e) => {
    for (const peer of set) if (peer.readyState === WebSocket.OPEN) peer.send(e.data);
  };
  socket.onclose = () => set.delete(socket);
  return response;
});
