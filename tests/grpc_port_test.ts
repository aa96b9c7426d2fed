import assert from "node:assert/strict";
import { connect } from "node:http2";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ChatService } from "../src/transport/grpc/gen/chat_v1/chat_pb.ts";
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from "../src/transport/grpc/gen/grpc/health/v1/health_pb.ts";
import { ServerReflection } from "../src/transport/grpc/gen/grpc/reflection/v1/reflection_pb.ts";
import { issueToken } from "../src/transport/tokens.ts";
import type { ChatOptions } from "../src/mod.ts";
import {
  Client,
  eventually,
  type Json,
  rawUpgrade,
  startServer,
  type TestServer,
} from "./_helpers.ts";

/** A chat with its gRPC port open, and a real gRPC client (HTTP/2 cleartext, trailers) on it. */
async function grpcServer(options: ChatOptions = {}) {
  // Rates out of the way: these tests are not about limits (grpc_limits_test.ts is).
  const server = await startServer({ ratePerSecond: 1e6, rateBurst: 1e6, ...options });
  const { port } = await server.chat.serveGrpc({ port: 0, hostname: "127.0.0.1" });
  // The client's HTTP/2 connection is ended with the server (Deno crashes at exit with one open).
  const sessions = new Http2SessionManager(`http://127.0.0.1:${port}`);
  const transport = createGrpcTransport({
    baseUrl: `http://127.0.0.1:${port}`,
    sessionManager: sessions,
  });
  const close = server.close;
  return {
    server: {
      ...server,
      close: async () => {
        await close();
        sessions.abort();
      },
    },
    port,
    chat: createClient(ChatService, transport),
    health: createClient(Health, transport),
    reflection: createClient(ServerReflection, transport),
  };
}

/** Reads a stream into `into` until it ends; resolves with how it ended. */
function reading(stream: AsyncIterable<{ sender: string; content: string }>, into: string[]) {
  return (async () => {
    try {
      for await (const m of stream) into.push(`${m.sender}: ${m.content}`);
      return Code[0];
    } catch (error) {
      return error instanceof ConnectError ? Code[error.code] : String(error);
    }
  })();
}

async function members(server: TestServer, room: string): Promise<string[]> {
  const details = await (await fetch(`${server.http}/rooms/${room}`)).json();
  return details.members ?? [];
}

async function historyOf(server: TestServer, room: string): Promise<Json[]> {
  return (await (await fetch(`${server.http}/rooms/${room}/messages?limit=200`)).json()).messages;
}

Deno.test("gRPC port: unary calls and two ConnectChat streams that each receive every message, with WebSocket members", async () => {
  const { server, chat } = await grpcServer();
  const abort = new AbortController();
  try {
    const { chatId } = await chat.createChat({ name: "grpc proper" });
    const [john, jack]: string[][] = [[], []];
    const ends = [
      reading(chat.connectChat({ chatId, username: "john" }, { signal: abort.signal }), john),
      reading(chat.connectChat({ chatId, username: "jack" }, { signal: abort.signal }), jack),
    ];
    await eventually(async () => (await members(server, chatId)).length === 2, "both joined");
    const ann = await Client.connect(server.ws, { name: "ann", room: chatId });
    for (let i = 0; i < 10; i++) {
      const sent = await chat.sendMessage({
        chatId,
        message: { sender: "john", content: `g${i}` },
      });
      assert.equal(sent.content, `g${i}`);
      assert.match(sent.id, /^[0-9A-Z]{26}$/);
    }
    await ann.request({ command: "broadcast", message: "from the socket" });
    const expected = [...Array(10).keys()].map((i) => `john: g${i}`).concat("ann: from the socket");
    await eventually(() => john.length === 11 && jack.length === 11, "every message on both");
    assert.deepEqual(john, expected);
    assert.deepEqual(jack, expected);
    await ann.close();
    abort.abort();
    assert.deepEqual(await Promise.all(ends), ["Canceled", "Canceled"]);
    // Cancelling leaves no member behind.
    await eventually(
      async () => (await members(server, chatId)).length === 0,
      "john and jack gone",
    );
  } finally {
    abort.abort();
    await server.close();
  }
});

Deno.test("gRPC port: NOT_FOUND and INVALID_ARGUMENT, and a call that fails changes nothing", async () => {
  const { server, chat } = await grpcServer();
  try {
    const unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    const refused = async (call: () => Promise<unknown>) => {
      try {
        await call();
        return "OK";
      } catch (error) {
        return error instanceof ConnectError ? Code[error.code] : String(error);
      }
    };
    assert.equal(
      await refused(() => chat.sendMessage({ chatId: unknown, message: { content: "x" } })),
      "NotFound",
    );
    const stream = chat.connectChat({ chatId: unknown, username: "ghost" });
    assert.equal(await reading(stream, []), "NotFound");
    const rooms = await (await fetch(`${server.http}/rooms`)).json();
    assert.deepEqual(rooms, [], "no room was created by a failed call");

    const { chatId } = await chat.createChat({ name: "kept" });
    const tooLong = "x".repeat(server.chat.settings.maxMessageLength + 1);
    assert.equal(
      await refused(() => chat.sendMessage({ chatId, message: { sender: "a", content: tooLong } })),
      "InvalidArgument",
    );
    assert.equal(
      await refused(() =>
        chat.sendMessage({ chatId, message: { sender: "a\u0007", content: "x" } })
      ),
      "InvalidArgument",
    );
    assert.equal(await refused(() => chat.createChat({ name: "r".repeat(65) })), "InvalidArgument");
    assert.equal(
      await reading(chat.connectChat({ chatId, username: "b\u0007" }), []),
      "InvalidArgument",
    );
    assert.deepEqual(await historyOf(server, chatId), [], "nothing stored by a failed call");
    assert.equal((await (await fetch(`${server.http}/rooms`)).json()).length, 1);
    assert.deepEqual(await members(server, chatId), []);

    // A client that retries with the message's id stores it once.
    const first = await chat.sendMessage({
      chatId,
      message: { id: "m-1", sender: "a", content: "once" },
    });
    const again = await chat.sendMessage({
      chatId,
      message: { id: "m-1", sender: "a", content: "once" },
    });
    assert.equal(again.id, first.id);
    assert.equal((await historyOf(server, chatId)).length, 1);
  } finally {
    await server.close();
  }
});

Deno.test("gRPC port: a deadline ends ConnectChat with DEADLINE_EXCEEDED and the member leaves", async () => {
  const { server, chat } = await grpcServer();
  try {
    const { chatId } = await chat.createChat({ name: "deadline" });
    const got: string[] = [];
    const ended = reading(chat.connectChat({ chatId, username: "late" }, { timeoutMs: 400 }), got);
    await eventually(async () => (await members(server, chatId)).includes("late"), "late joined");
    assert.equal(await ended, "DeadlineExceeded");
    await eventually(async () => (await members(server, chatId)).length === 0, "late gone");
  } finally {
    await server.close();
  }
});

Deno.test("gRPC port: a shutdown ends open streams with UNAVAILABLE; health says SERVING before", async () => {
  const { server, chat, health } = await grpcServer();
  const { chatId } = await chat.createChat({ name: "closing" });
  const ended = reading(chat.connectChat({ chatId, username: "stay" }), []);
  await eventually(async () => (await members(server, chatId)).includes("stay"), "stay joined");
  assert.equal(
    (await health.check({ service: "" })).status,
    HealthCheckResponse_ServingStatus.SERVING,
  );
  assert.equal(
    (await health.check({ service: "chat_v1.ChatService" })).status,
    HealthCheckResponse_ServingStatus.SERVING,
  );
  await assert.rejects(
    health.check({ service: "no.Such" }),
    (e: unknown) => e instanceof ConnectError && e.code === Code.NotFound,
  );
  await server.close();
  assert.equal(await ended, "Unavailable");
});

/** What a grpcurl-style tool asks: the services, a service's file, and an unknown symbol. */
async function* reflectionAsks() {
  yield { host: "", messageRequest: { case: "listServices" as const, value: "" } };
  yield {
    host: "",
    messageRequest: { case: "fileContainingSymbol" as const, value: "chat_v1.ChatService" },
  };
  yield {
    host: "",
    messageRequest: { case: "fileContainingSymbol" as const, value: "no.Such.Thing" },
  };
}

Deno.test("gRPC port: server reflection lists the services and gives their descriptors", async () => {
  const { server, reflection } = await grpcServer();
  try {
    const answers = [];
    for await (const answer of reflection.serverReflectionInfo(reflectionAsks())) {
      answers.push(answer);
    }
    assert.equal(answers.length, 3);
    const list = answers[0].messageResponse;
    assert.equal(list.case, "listServicesResponse");
    assert.deepEqual(list.value?.service.map((s) => s.name).sort(), [
      "chat_v1.ChatService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
    ]);
    const files = answers[1].messageResponse;
    assert.equal(files.case, "fileDescriptorResponse");
    // chat.proto and the Timestamp it imports, as serialised FileDescriptorProtos.
    const text = files.value!.fileDescriptorProto.map((b) => new TextDecoder().decode(b)).join();
    assert.ok(
      text.includes("chat_v1/chat.proto") && text.includes("google/protobuf/timestamp.proto"),
    );
    assert.equal(answers[2].messageResponse.case, "errorResponse");
  } finally {
    await server.close();
  }
});

Deno.test("gRPC port: with tokens on, a call without one is UNAUTHENTICATED and does nothing; with one, its subject speaks", async () => {
  const secret = "grpc-test-secret";
  const { server, port, chat } = await grpcServer({ jwtSecret: secret });
  const authedSessions = new Http2SessionManager(`http://127.0.0.1:${port}`);
  try {
    await assert.rejects(
      chat.createChat({ name: "nope" }),
      (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated,
    );
    const token = await issueToken(secret, "zoe");
    const authed = createClient(
      ChatService,
      createGrpcTransport({
        baseUrl: `http://127.0.0.1:${port}`,
        sessionManager: authedSessions,
        interceptors: [(next) => (request) => {
          request.header.set("authorization", `Bearer ${token}`);
          return next(request);
        }],
      }),
    );
    const { chatId } = await authed.createChat({ name: "yes" });
    const sent = await authed.sendMessage({
      chatId,
      message: { sender: "mallory", content: "hi" },
    });
    assert.equal(sent.sender, "zoe", "the token's subject wins over the name sent");
    const rooms = await (await fetch(`${server.http}/rooms`)).json();
    assert.deepEqual(rooms.map((r: Json) => r.name), ["yes"]);
  } finally {
    authedSessions.abort();
    await server.close();
  }
});

Deno.test("gRPC port: malformed protobuf is INVALID_ARGUMENT, never INTERNAL, and creates nothing", async () => {
  const { server, port } = await grpcServer();
  const session = connect(`http://127.0.0.1:${port}`);
  try {
    for (
      const payload of [[0xff, 0xff, 0xff, 0xff, 0x07], [0x0b, 0x08, 0x01], [
        0x0a,
        0xff,
        0xff,
        0xff,
        0xff,
        0x07,
      ]]
    ) {
      const frame = new Uint8Array(5 + payload.length);
      new DataView(frame.buffer).setUint32(1, payload.length);
      frame.set(payload, 5);
      const call = session.request({
        ":method": "POST",
        ":path": "/chat_v1.ChatService/CreateChat",
        "content-type": "application/grpc",
        te: "trailers",
      });
      const status = await new Promise<string>((resolve) => {
        call.on("response", (headers) => {
          if (headers["grpc-status"] !== undefined) resolve(String(headers["grpc-status"]));
        });
        call.on("trailers", (trailers) => resolve(String(trailers["grpc-status"])));
        call.on("data", () => {});
        call.end(frame);
      });
      assert.equal(status, String(Code.InvalidArgument), JSON.stringify(payload));
    }
    assert.deepEqual(await (await fetch(`${server.http}/rooms`)).json(), []);
  } finally {
    session.close();
    await server.close();
  }
});

Deno.test("gRPC port: ConnectChat streams count against the per-address cap like sockets (RESOURCE_EXHAUSTED past it)", async () => {
  const { server, chat } = await grpcServer({ maxConnectionsPerAddress: 2 });
  const abort = new AbortController();
  try {
    const { chatId } = await chat.createChat({ name: "capped" });
    const ends = ["a", "b"].map((username) =>
      reading(chat.connectChat({ chatId, username }, { signal: abort.signal }), [])
    );
    await eventually(async () => (await members(server, chatId)).length === 2, "two streams");
    assert.equal(
      await reading(chat.connectChat({ chatId, username: "c" }), []),
      "ResourceExhausted",
    );
    assert.equal((await rawUpgrade(server.port, "/ws?name=d")).status, 503, "a socket neither");
    abort.abort();
    await Promise.all(ends);
    await eventually(
      async () => (await rawUpgrade(server.port, "/ws?name=e")).status === 101,
      "freed",
    );
  } finally {
    abort.abort();
    await server.close();
  }
});
