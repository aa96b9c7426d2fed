// Profiling aid (not part of the bench): the many-rooms workload against a running server.
// Usage: deno run -A bench/profile_many_rooms.ts <port> [window]   (see docs/BENCHMARKS.md)
const port = Number(Deno.args[0]);
const clients: WebSocket[][] = [];
for (let r = 0; r < 100; r++) {
  const group: WebSocket[] = [];
  for (let i = 0; i < 10; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?name=p${r}-${i}&room=pr${r}`);
    await new Promise((res) =>
      ws.onmessage = (m) => String(m.data).includes('"joined"') && res(null)
    );
    group.push(ws);
  }
  clients.push(group);
}
let delivered = 0;
for (const ws of clients.flat()) ws.onmessage = () => delivered++;
const senders = clients.map((g) => g[0]);
const echoes = new Map(senders.map((s) => [s, 0]));
for (const s of senders) {
  s.onmessage = () => {
    delivered++;
    echoes.set(s, echoes.get(s)! + 1);
  };
}
const sent = new Map(senders.map((s) => [s, 0]));
const t0 = performance.now();
while (performance.now() - t0 < 6000) {
  for (const s of senders) {
    while (sent.get(s)! - echoes.get(s)! < Number(Deno.args[1] ?? 8)) {
      s.send(JSON.stringify({ command: "broadcast", message: "x".repeat(100) }));
      sent.set(s, sent.get(s)! + 1);
    }
  }
  await new Promise((r) => setTimeout(r, 1));
}
console.log("deliveries/s", Math.round(delivered / 6));
Deno.exit(0);
