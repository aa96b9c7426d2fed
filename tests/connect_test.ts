import assert from "node:assert/strict";
import { Client, freePort, Recording, startServer, type TestServer } from "./_helpers.ts";

/** The terminal client as `deno task connect` runs it, driven through its stdin and stdout. */
class Terminal {
  readonly #lines = new Recording<string>();
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reading: Promise<void>;
  #cursor = 0;

  constructor(
    args: string[],
    env: Record<string, string> = {},
    wrap?: (cmd: string[]) => string[],
  ) {
    const cmd = [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-env",
      "src/cli/connect.ts",
      ...args,
    ];
    const [bin, ...rest] = wrap ? wrap(cmd) : cmd;
    this.#child = new Deno.Command(bin, {
      args: rest,
      env: { NO_COLOR: "1", ...env },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    const stdout = this.#child.stdout;
    this.#reading = (async () => {
      let buffer = "";
      for await (const chunk of stdout.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
          this.#lines.push(buffer.slice(0, end).replace(/\r$/, ""));
          buffer = buffer.slice(end + 1);
        }
      }
    })();
  }

  /** Types a line. */
  async type(line: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(`${line}\n`));
  }

  /** Every line printed so far. */
  get lines(): string[] {
    return this.#lines.items;
  }

  /** The next printed line (after the last one returned) that matches. */
  next(match: (line: string) => boolean, timeoutMs = 10_000): Promise<string> {
    return this.#lines.next(match, timeoutMs);
  }

  /** Ends stdin (a pipe that is done) and waits for the exit code. */
  async end(): Promise<number> {
    await this.#writer.close();
    const { code } = await this.#child.status;
    await this.#reading;
    return code;
  }

  /** The exit code, once the process ends by itself. */
  async exited(): Promise<number> {
    const { code } = await this.#child.status;
    await this.#reading;
    await this.#writer.close().catch(() => {});
    return code;
  }
}

Deno.test("deno task connect: seed 002's lines both ways, the prompt, /list, /me, /join moves you, /rooms, and /quit exits 0", async () => {
  const server = await startServer();
  const tom = new Terminal([
    "--host",
    "127.0.0.1",
    "--port",
    String(server.port),
    "--username",
    "tom",
  ]);
  try {
    assert.equal(await tom.next(() => true), `Connecting to 127.0.0.1:${server.port} as tom...`);
    assert.equal(await tom.next(() => true), "Type your messages (press Ctrl+C to exit):");
    await tom.next((l) => l === "Server: tom has joined the chat");
    const ann = await Client.connect(server.ws, { name: "ann" });
    await tom.next((l) => l === "Server: ann has joined the chat");
    await ann.request({ command: "broadcast", message: "hi tom" });
    await tom.next((l) => l === "ann: hi tom");
    await tom.type("hello ann");
    await tom.next((l) => l === "tom: hello ann");
    assert.equal((await ann.next((e) => e.event === "broadcast")).message, "hello ann");
    await tom.type("/list");
    await tom.next((l) => l === "Server: in lobby: ann, tom" || l === "Server: in lobby: tom, ann");
    await tom.type("/me");
    await tom.next((l) => l === "Server: you are tom");
    const bob = await Client.connect(server.ws, { name: "bob", room: "side" });
    await tom.type("/join side");
    await tom.next((l) => l === "Server: tom has joined side", 10_000);
    // A move: tom leaves the lobby (ann sees it), and his lines go to the side room.
    assert.equal((await ann.next((e) => e.event === "leave")).member, "tom");
    assert.deepEqual((await ann.request({ command: "list" })).members, ["ann"]);
    await tom.type("in the side room");
    assert.equal((await bob.next((e) => e.event === "broadcast")).message, "in the side room");
    await tom.type("/rooms");
    await tom.next((l) => l === "Server: rooms: lobby (1), side (2)");
    await ann.close();
    await tom.type("/quit");
    assert.equal(await tom.exited(), 0);
    await bob.close();
  } finally {
    await server.close();
  }
});

Deno.test("deno task connect from a pipe: sends every line, waits for them to be stored, exits 0", async () => {
  const server = await startServer({ ratePerSecond: 100, rateBurst: 100 });
  const env = { HOST: "127.0.0.1", PORT: String(server.port), USER_NAME: "piper" };
  const piped = new Terminal([], env);
  try {
    for (let i = 0; i < 20; i++) await piped.type(`line ${i}`);
    assert.equal(await piped.end(), 0);
    const page = await (await fetch(`${server.http}/rooms/lobby/messages`)).json();
    assert.deepEqual(
      page.messages.map((m: { message: string }) => m.message),
      Array.from({ length: 20 }, (_, i) => `line ${i}`),
    );
    assert.equal(piped.lines[0], `Connecting to 127.0.0.1:${server.port} as piper...`);
  } finally {
    await server.close();
  }
});

Deno.test("deno task connect resumes after a server restart: no line lost or shown twice", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-connect-" });
  const port = freePort();
  const options = { kvPath: `${dir}/chat.kv`, ratePerSecond: 100, rateBurst: 100 };
  let server: TestServer = await startServer(options, port);
  const tom = new Terminal(["--host", "127.0.0.1", "--port", String(port), "--username", "tom"]);
  try {
    await tom.next((l) => l === "Server: tom has joined the chat");
    const ann = await Client.connect(server.ws, { name: "ann" });
    await ann.request({ command: "broadcast", message: "before 0" });
    await tom.next((l) => l === "ann: before 0");
    await server.close(); // tom is dropped with 1001 and retries
    await tom.type("typed while down");
    server = await startServer(options, port);
    const writer = await Client.connect(server.ws, { name: "ann" });
    for (let i = 1; i <= 5; i++) {
      await writer.request({ command: "broadcast", message: `after ${i}` });
    }
    await tom.next((l) => l === "ann: after 5", 20_000);
    await tom.next((l) => l === "tom: typed while down", 20_000);
    await writer.request({ command: "list" });
    await tom.type("/quit");
    assert.equal(await tom.exited(), 0);
    const chat = tom.lines.filter((l) => /^(ann|tom): /.test(l));
    for (const line of new Set(chat)) {
      assert.equal(chat.filter((l) => l === line).length, 1, `shown once: ${line}`);
    }
    for (
      const expected of ["ann: before 0", "ann: after 1", "ann: after 5", "tom: typed while down"]
    ) {
      assert.ok(chat.includes(expected), `${expected} in ${JSON.stringify(chat)}`);
    }
    const page = await (await fetch(`${server.http}/rooms/lobby/messages`)).json();
    const stored = page.messages.map((m: { message: string }) => m.message);
    assert.equal(stored.filter((m: string) => m === "typed while down").length, 1, "stored once");
    await writer.close();
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task connect in a real terminal (a pty): prompt lines and /quit", async () => {
  const server = await startServer();
  // `script` runs the client on a pseudo-terminal, as a person's shell would.
  const tom = new Terminal(
    ["--host", "127.0.0.1", "--port", String(server.port), "--username", "tty"],
    {},
    (cmd) => ["script", "-qefc", cmd.map((a) => `'${a}'`).join(" "), "/dev/null"],
  );
  try {
    await tom.next((l) => l.includes("Server: tty has joined the chat"));
    await tom.type("over a pty");
    await tom.next((l) => l.endsWith("tty: over a pty"));
    await tom.type("/quit");
    assert.equal(await tom.exited(), 0);
  } finally {
    await server.close();
  }
});

Deno.test("deno task connect with a name the server refuses: one line on stderr with the reason, exit 1", async () => {
  const server = await startServer();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-env",
        "src/cli/connect.ts",
        "--username",
        "n".repeat(51),
      ],
      env: { HOST: "127.0.0.1", PORT: String(server.port) },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const { code, stderr } = await out.output();
    assert.equal(code, 1);
    const line = new TextDecoder().decode(stderr).trim();
    assert.equal(line.split("\n").length, 1, line);
    assert.match(
      line,
      /^connect: the server at 127\.0\.0\.1:\d+ refused the connection: .*1-50 characters.*\(400 invalid_name\)$/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("deno task connect with no server there: says it retries, then one line on stderr and exit 1", async () => {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "src/cli/connect.ts", "--port", String(port)],
    env: { HOST: "127.0.0.1", CONNECT_RETRY_S: "1" },
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const { code, stderr } = await child.output();
  assert.equal(code, 1);
  const lines = new TextDecoder().decode(stderr).trim().split("\n");
  assert.deepEqual(lines, [
    `connect: cannot reach 127.0.0.1:${port} (connection refused); retrying for 1 s...`,
    `connect: cannot reach 127.0.0.1:${port}: is the server running?`,
  ]);
});
