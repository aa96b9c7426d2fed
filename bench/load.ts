/**
 * The load generator of `deno task bench`: clients that count deliveries and sample latencies,
 * and the ways to load a server (a storm of arrivals, saturation in a closed loop, a fixed rate).
 *
 * @module
 */

import { PAYLOAD, RELAY_FRAME, sleep, SMOKE, WARMUP_MS, WINDOW } from "./options.ts";
import { type Kind, type Server, socketUrl } from "./servers.ts";

/**
 * A load client: counts deliveries, records latencies of sampled ones, and (as a room's last
 * member) tells each sender of the room when its message has reached the end of the fan-out.
 */
export class LoadClient {
  socket!: WebSocket;
  deliveries = 0;
  /** This sender's messages that reached its room's last member. */
  arrived = 0;
  /** As the room's witness: the room's senders by tag. */
  witnessOf: Map<string, LoadClient> | undefined;
  latencies: number[] | undefined;
  /** Which of the server's processes it is connected to. */
  process = 0;
  #acks = 0;
  constructor(readonly kind: Kind, readonly tag: string) {}

  open(server: Server, index: number, room: string, name: string): Promise<void> {
    // Half of each room on each process (the first half on the first), so that a room's
    // senders (its first clients) are on the first process and half its receivers elsewhere.
    this.process = Math.floor((index % 1000) * server.ports.length / 1000) % server.ports.length;
    const port = server.ports[this.process];
    const url = socketUrl(this.kind, port, room, name);
    this.socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      this.socket.onerror = () => reject(new Error(`connection failed: ${url}`));
      this.socket.onclose = () => reject(new Error(`closed before ready: ${url}`));
      this.socket.onmessage = (m) => {
        const text = String(m.data);
        if (this.kind === "socketio") {
          // Engine.IO's open packet, then Socket.IO's connect to the main namespace.
          if (text.startsWith("0{")) return this.socket.send("40");
          if (!text.startsWith("40")) return;
        } else if (this.kind === "ours" && !text.includes('"event":"joined"')) return;
        this.listen();
        resolve();
      };
      if (this.kind === "relay") this.socket.onopen = () => (this.listen(), resolve());
    });
  }

  listen(): void {
    this.socket.onerror = null;
    this.socket.onclose = null;
    this.socket.onmessage = (m) => {
      const text = String(m.data);
      if (this.kind === "socketio" && text === "2") return this.socket.send("3"); // ping, pong
      // Payload: "t=<performance.now()>|<tag>|xxx..."; no JSON.parse, so that the client's
      // cost is the same for every server.
      const at = text.indexOf("t=");
      if (at < 0) return;
      this.deliveries++;
      const bar = text.indexOf("|", at);
      if (this.witnessOf) {
        const sender = this.witnessOf.get(text.slice(bar + 1, text.indexOf("|", bar + 1)));
        if (sender) sender.arrived++;
      }
      if (this.latencies) this.latencies.push(performance.now() - Number(text.slice(at + 2, bar)));
    };
  }

  send(): void {
    const body = `t=${performance.now()}|${this.tag}|`;
    const size = this.kind === "ours" ? PAYLOAD : RELAY_FRAME;
    const message = body + "x".repeat(Math.max(0, size - body.length));
    if (this.kind === "ours") this.socket.send(JSON.stringify({ command: "broadcast", message }));
    // An event with an acknowledgement id: the server acknowledges each message, as ours does.
    else if (this.kind === "socketio") {
      this.socket.send(`42${++this.#acks}${JSON.stringify(["broadcast", message])}`);
    } else this.socket.send(message);
  }

  close(): void {
    this.socket.onclose = null;
    this.socket.close();
  }
}

/** Opens `perRoom` clients in each of `rooms` rooms (in waves of 50), all joined when it resolves. */
export async function connectAll(
  server: Server,
  rooms: number,
  perRoom: number,
  prefix: string,
): Promise<LoadClient[][]> {
  const groups: LoadClient[][] = [];
  for (let r = 0; r < rooms; r++) {
    const group = Array.from(
      { length: perRoom },
      (_, i) => new LoadClient(server.kind, `${prefix}${r}.${i}`),
    );
    // Open in batches, as a storm of real users would arrive in waves.
    for (let i = 0; i < group.length; i += 50) {
      await Promise.all(
        group.slice(i, i + 50).map((c, j) =>
          c.open(
            server,
            Math.floor((i + j) * 1000 / perRoom),
            `${prefix}${r}`,
            `${prefix}${r}-${i + j}`,
          )
        ),
      );
    }
    groups.push(group);
  }
  return groups;
}

/**
 * Opens `rooms × perRoom` connections in waves of 100 without pausing between them (a storm),
 * resolving when all are in. Waves keep the kernel's accept queue from overflowing, which would
 * add a one-second SYN retry to the figure and measure the kernel rather than the server.
 */
export async function stormOf(server: Server, rooms: number, perRoom: number, prefix: string) {
  const clients = Array.from(
    { length: rooms * perRoom },
    (_, i) => new LoadClient(server.kind, `${prefix}${i}`),
  );
  for (let i = 0; i < clients.length; i += 100) {
    await Promise.all(
      clients.slice(i, i + 100).map((c, j) =>
        c.open(
          server,
          Math.floor((i + j) * 1000 / clients.length),
          `${prefix}${(i + j) % rooms}`,
          `${prefix}-${i + j}`,
        )
      ),
    );
  }
  return clients;
}

/**
 * Waits until the clients stop receiving (what saturation left in flight has arrived): nothing new
 * for 300 ms, or 10 s at most. Otherwise the next phase would time the load generator's backlog.
 */
export async function quiet(clients: LoadClient[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last = -1;
  for (;;) {
    const now = clients.reduce((n, c) => n + c.deliveries, 0);
    if (now === last || Date.now() > deadline) return;
    last = now;
    await sleep(300);
  }
}

/**
 * Senders keep `window` messages in flight each (closed loop): deliveries per second at
 * saturation. A message is in flight until the room's last member (the last to join, so the last
 * of every server's fan-out) has it: closing the loop on the sender's own copy or acknowledgement
 * would let a large room's fan-out fall behind without bound, and time a growing send backlog.
 */
export async function saturate(groups: LoadClient[][], sendersPerRoom: number, seconds: number) {
  const all = groups.flat();
  const senders = groups.flatMap((g) => g.slice(0, sendersPerRoom));
  for (const group of groups) {
    const witness = group[group.length - 1];
    witness.witnessOf = new Map(group.slice(0, sendersPerRoom).map((s) => [s.tag, s]));
  }
  const window = WINDOW;
  let running = true;
  const loops = senders.map(async (sender) => {
    let sent = sender.arrived;
    while (running) {
      while (sent - sender.arrived < window) {
        sender.send();
        sent++;
      }
      await sleep(1);
    }
  });
  await sleep(500); // warm up
  const start = all.reduce((n, c) => n + c.deliveries, 0);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const delivered = all.reduce((n, c) => n + c.deliveries, 0) - start;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  await Promise.all(loops);
  await sleep(500); // drain
  for (const group of groups) group[group.length - 1].witnessOf = undefined;
  return delivered / elapsed;
}

/**
 * A fixed offered load: each sender sends `rate` messages a second; latency of every delivery
 * (with several processes: of deliveries on the other processes than the senders').
 */
export async function fixedLoad(
  group: LoadClient[],
  senders: number,
  rate: number,
  seconds: number,
) {
  const remote = group.filter((c) => c.process > 0);
  const measured = remote.length > 0 ? remote : group;
  const timers = group.filter((c) => c.process === 0).slice(0, senders).map((sender, i) => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const starter = setTimeout(() => {
      timer = setInterval(() => sender.send(), 1000 / rate);
    }, (i * 1000) / rate / senders);
    return () => (clearTimeout(starter), clearInterval(timer));
  });
  // One second of the same load first, not recorded: the first messages of a fresh server pay
  // for compiling its hot paths (every server gets the same warm-up).
  if (!SMOKE) await sleep(WARMUP_MS);
  for (const c of measured) c.latencies = [];
  await sleep(seconds * 1000);
  for (const stop of timers) stop();
  await sleep(500);
  const latencies = measured.flatMap((c) => c.latencies ?? []).sort((a, b) => a - b);
  for (const c of measured) c.latencies = undefined;
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), samples: latencies.length };
}
