/**
 * The load of `bench/shapes.ts`: light clients in rooms of a given shape, each room's sender
 * keeping a window of messages in flight (closed loop), and the server's CPU per message over the
 * measured window.
 *
 * @module
 */
import { type Kind, type Server, socketUrl } from "./servers.ts";
import { PAYLOAD, sleep } from "./options.ts";

/** With `reads`: how often each member says where it stopped reading. */
const READ_EVERY_MS = 1000;

/** CPU time a process has used (user + system), in seconds (Linux /proc). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the command name (which may hold spaces): state is field 3; utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

/** Read and write system calls the processes have made so far (Linux /proc/<pid>/io). */
async function syscalls(pids: number[]): Promise<{ reads: number; writes: number }> {
  let reads = 0, writes = 0;
  for (const pid of pids) {
    const io = await Deno.readTextFile(`/proc/${pid}/io`);
    reads += Number(/syscr: (\d+)/.exec(io)?.[1] ?? 0);
    writes += Number(/syscw: (\d+)/.exec(io)?.[1] ?? 0);
  }
  return { reads, writes };
}

/** A message of `PAYLOAD` characters carrying its send time and its sender. */
function body(tag: string): string {
  const head = `t=${performance.now().toFixed(1)}|${tag}|`;
  return head + "x".repeat(Math.max(0, PAYLOAD - head.length));
}

/** One socket of the load: counts what it receives; a room's last member also witnesses its sender's messages. */
export class ShapeClient {
  socket!: WebSocket;
  received = 0;
  /** Its messages that reached the room's last member. */
  own = 0;
  sent = 0;
  latencies: number[] = [];
  /** While set, each of its messages reaching the room's last member sends the next (closed loop). */
  window = 0;
  #acks = 0;

  /** The last delivery (its id is read only when a `read` is due). */
  last?: string;
  #reads?: ReturnType<typeof setInterval>;

  constructor(readonly kind: Kind, readonly tag: string) {}

  /** The room's id (ours, from `joined`). */
  roomId = "";

  /** Says where it stopped reading once a second (ours only), until closed. */
  startReads(): void {
    const room = this.roomId;
    // Spread over the second, as members' clients are.
    const start = setTimeout(() => {
      this.#reads = setInterval(() => {
        const text = this.last;
        if (text === undefined) return;
        const at = text.indexOf('"id":"') + 6;
        this.socket.send(
          `{"command":"read","room":"${room}","id":"${text.slice(at, at + 26)}"}`,
        );
      }, READ_EVERY_MS);
    }, Math.random() * READ_EVERY_MS);
    this.#reads = start as unknown as ReturnType<typeof setInterval>;
  }

  open(port: number, room: string): Promise<void> {
    const url = socketUrl(this.kind, port, room, this.tag);
    this.socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      this.socket.onerror = () => reject(new Error(`connection failed: ${url}`));
      const ready = () => {
        this.socket.onmessage = (m) => this.#receive(m.data as string);
        resolve();
      };
      if (this.kind === "relay") this.socket.onopen = ready;
      else {
        this.socket.onmessage = (m) => {
          const text = String(m.data);
          if (this.kind === "socketio") {
            if (text.startsWith("0{")) return this.socket.send("40");
            if (text.startsWith("40")) ready();
          } else if (text.includes('"joined"')) {
            // The room's id, for `read` (what clients send: no lookup by name).
            const at = text.indexOf('"room":"') + 8;
            this.roomId = text.slice(at, at + 26);
            ready();
          }
        };
      }
    });
  }

  /** As its room's last member: the room's sender, told when each of its messages gets here. */
  witnessOf?: ShapeClient;

  #receive(text: string): void {
    if (this.kind === "socketio" && text === "2") return this.socket.send("3");
    const at = text.indexOf("t=");
    if (at < 0) return; // acknowledgements of Socket.IO, presence of ours
    this.received++;
    this.last = text;
    const sender = this.witnessOf;
    if (sender && text.startsWith(sender.tag, text.indexOf("|", at) + 1)) sender.#reached(text, at);
  }

  /**
   * One of its messages reached the room's last member (the end of every server's fan-out): one
   * in 64 has its latency read, and the next goes out (closed loop on the whole fan-out, so that
   * the server cannot fall behind without bound).
   */
  #reached(text: string, at: number): void {
    this.own++;
    if ((this.own & 63) === 0) {
      const sentAt = Number(text.slice(at + 2, text.indexOf("|", at)));
      this.latencies.push(performance.now() - sentAt);
    }
    if (this.window > 0) this.fill(this.window);
  }

  /** Sends until `window` of its messages are on their way (closed loop). */
  fill(window: number): void {
    while (this.sent - this.own < window) {
      this.sent++;
      const message = body(this.tag);
      if (this.kind === "ours") {
        this.socket.send(`{"command":"broadcast","message":"${message}"}`);
      } else if (this.kind === "socketio") {
        this.socket.send(`42${++this.#acks}["broadcast","${message}"]`);
      } else {
        // The relays get the frame ours would deliver for the same text: equal bytes per delivery.
        this.socket.send(
          `{"event":"broadcast","room":"01KA0000000000000000000000","id":"01KA0000000000000000000000","member":"${this.tag}","memberId":"01KA0000000000000000000000","message":"${message}","ts":1764547200000,"seq":1}`,
        );
      }
    }
  }

  close(): void {
    clearTimeout(this.#reads);
    clearInterval(this.#reads);
    this.socket.onclose = null;
    this.socket.close();
  }
}

/** One figure: a server on a shape. */
export interface Figure {
  server: string;
  shape: string;
  /** Members per room. */
  size: number;
  deliveries: number;
  cpuUsPerMessage: number;
  p50: number;
  /** Share of one core the server used over the window (1 = saturated). */
  serverBusy: number;
  /** Share of one core the load generator used (near 1: it, not the server, was the limit). */
  generatorBusy: number;
  /** Share of one core its Redis servers used (all of them), if it has any. */
  backendBusy?: number;
}

/** A room shape: `rooms` rooms of `size` members, one sender each keeping `window` in flight. */
export interface Shape {
  readonly rooms: number;
  readonly size: number;
  readonly window: number;
}

/** How one shape is measured. */
export interface ShapeRun {
  /** The measured window, in seconds. */
  readonly seconds: number;
  /** Unrecorded load before it, in milliseconds. */
  readonly warmupMs: number;
  /** Ours only: every member says where it stopped reading once a second. */
  readonly reads?: boolean;
}

/** Runs one shape against a started server. */
export async function measureShape(server: Server, shape: Shape, run: ShapeRun): Promise<Figure> {
  const tag = crypto.randomUUID().slice(0, 6);
  const rooms: ShapeClient[][] = [];
  for (let r = 0; r < shape.rooms; r++) {
    const room = Array.from(
      { length: shape.size },
      (_, i) => new ShapeClient(server.kind, `s${tag}r${r}m${i}`),
    );
    // Members alternate between the server's processes (one port each). The last joins after
    // the others are in, so that it is the last of the room's fan-out on every server.
    const join = (c: ShapeClient, i: number) =>
      c.open(server.ports[i % server.ports.length], `shape-${tag}-${r}`);
    await Promise.all(room.slice(0, -1).map(join));
    await join(room[room.length - 1], room.length - 1);
    room[room.length - 1].witnessOf = room[0];
    if (run.reads && server.kind === "ours") {
      for (const c of room) c.startReads();
    }
    rooms.push(room);
  }
  const all = rooms.flat();
  const senders = rooms.map((room) => room[0]);
  // Each sender keeps `window` messages in flight: the next goes when one reaches the room's
  // last member (no polling, no timers).
  for (const sender of senders) {
    sender.window = shape.window;
    sender.fill(shape.window);
  }
  await sleep(run.warmupMs); // warm up
  const received0 = all.reduce((n, c) => n + c.received, 0);
  const cpuOf = async (pids: number[]) =>
    (await Promise.all(pids.map(cpuSeconds))).reduce((a, b) => a + b, 0);
  const servers0 = await cpuOf(server.pids);
  const io0 = await syscalls(server.pids);
  const backend0 = await cpuOf(server.backendPids);
  const own0 = await cpuSeconds(Deno.pid);
  for (const c of all) c.latencies.length = 0;
  const t0 = performance.now();
  await sleep(run.seconds * 1000);
  const received = all.reduce((n, c) => n + c.received, 0) - received0;
  // The server's cost counts its Redis servers too (each read once per sample).
  const backend = await cpuOf(server.backendPids) - backend0;
  const cpu = await cpuOf(server.pids) - servers0 + backend;
  const io = await syscalls(server.pids);
  const own = await cpuSeconds(Deno.pid) - own0;
  const elapsed = (performance.now() - t0) / 1000;
  for (const sender of senders) sender.window = 0;
  await sleep(200); // what is in flight arrives
  for (const c of all) c.close();
  const latencies = all.flatMap((c) => c.latencies).sort((a, b) => a - b);
  const messages = received / shape.size;
  // Socket sends (sendto) are not counted by /proc's syscw: for ours, these are SQLite's writes.
  console.error(
    `bench:   per message: ${
      ((io.writes - io0.writes) / messages).toFixed(1)
    } write(2)-family and ${
      ((io.reads - io0.reads) / messages).toFixed(1)
    } read(2)-family system calls (socket sends not counted)`,
  );
  return {
    server: run.reads && server.kind === "ours" ? `${server.name}, reads 1/s` : server.name,
    shape: `${shape.rooms} × ${shape.size}`,
    size: shape.size,
    deliveries: received / elapsed,
    cpuUsPerMessage: messages > 0 ? cpu * 1e6 / messages : NaN,
    p50: latencies[Math.floor(latencies.length / 2)] ?? NaN,
    serverBusy: cpu / elapsed,
    generatorBusy: own / elapsed,
    ...(server.backendPids.length > 0 ? { backendBusy: backend / elapsed } : {}),
  };
}
