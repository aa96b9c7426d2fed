// A real gRPC client of another stack: @grpc/grpc-js under Node, loading the project's .proto
// files at run time (no generated code). It runs seed 004's flow against CHAT_GRPC_PORT and prints
// what it observed as one JSON line; tests/grpc_clients.grpc.ts judges it.
// Usage: node node_client.mjs <grpc port> <http port>
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const [grpcPort, httpPort] = process.argv.slice(2);
const target = `127.0.0.1:${grpcPort}`;
const http = `http://127.0.0.1:${httpPort}`;
const protoDir = new URL("../../proto/", import.meta.url).pathname;
const definition = protoLoader.loadSync(
  ["chat_v1/chat.proto", "grpc/health/v1/health.proto", "grpc/reflection/v1/reflection.proto"],
  { includeDirs: [protoDir], keepCase: false, defaults: true },
);
const loaded = grpc.loadPackageDefinition(definition);
const credentials = grpc.credentials.createInsecure();
const chat = new loaded.chat_v1.ChatService(target, credentials);
const health = new loaded.grpc.health.v1.Health(target, credentials);
const reflection = new loaded.grpc.reflection.v1.ServerReflection(target, credentials);

const unary = (client, method, request) =>
  new Promise((resolve) =>
    client[method](
      request,
      { deadline: Date.now() + 5000 },
      (error, response) => resolve(error ? { code: grpc.status[error.code] } : { ok: response }),
    )
  );

/** Polls the HTTP API until the room's member list satisfies `done` (at most 5 s). */
async function waitForMembers(chatId, done) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const room = await (await fetch(`${http}/rooms/${chatId}`)).json();
    if (done(room.members ?? [])) return room.members;
    if (Date.now() > deadline) throw new Error(`members never settled: ${JSON.stringify(room)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const result = {};
result.health = (await unary(health, "check", { service: "" })).ok?.status;
result.services = await new Promise((resolve, reject) => {
  const call = reflection.serverReflectionInfo();
  call.on("data", (answer) => {
    resolve(answer.listServicesResponse.service.map((s) => s.name).sort());
    call.end();
  });
  call.on("error", reject);
  call.write({ host: "", listServices: "" });
});

const created = await unary(chat, "createChat", { name: `node-${Date.now()}` });
const chatId = created.ok.chatId;
result.chatIdLooksLikeUlid = /^[0-9A-Z]{26}$/.test(chatId);

const received = { john: [], jack: [] };
const streams = Object.keys(received).map((username) => {
  const call = chat.connectChat({ chatId, username });
  call.on("data", (m) => received[username].push(`${m.sender}: ${m.content}`));
  const ended = new Promise((resolve) => {
    call.on("error", (error) => resolve(grpc.status[error.code]));
    call.on("end", () => resolve("OK"));
  });
  return { call, ended };
});
await waitForMembers(chatId, (m) => m.includes("john") && m.includes("jack"));
const sent = [];
for (let i = 0; i < 5; i++) {
  const answer = await unary(chat, "sendMessage", {
    chatId,
    message: { sender: "john", content: `hello ${i}` },
  });
  sent.push(answer.ok ? `${answer.ok.sender}: ${answer.ok.content}` : answer.code);
}
const deadline = Date.now() + 5000;
while ((received.john.length < 5 || received.jack.length < 5) && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 10));
}
result.sent = sent;
result.received = received;
for (const { call } of streams) call.cancel();
result.streamEnds = await Promise.all(streams.map((s) => s.ended));
result.membersAfterCancel = await waitForMembers(chatId, (m) => m.length === 0);

result.unknownChat = (await unary(chat, "sendMessage", {
  chatId: "01ARZ3NDEKTSV4RRFFQ69G5FAV",
  message: { sender: "x", content: "lost" },
})).code;
result.tooLong = (await unary(chat, "sendMessage", {
  chatId,
  message: { sender: "john", content: "x".repeat(4001) },
})).code;
const history = await (await fetch(`${http}/rooms/${chatId}/messages?limit=200`)).json();
result.stored = history.messages.map((m) => `${m.member}: ${m.message}`);

console.log(JSON.stringify(result));
chat.close();
health.close();
reflection.close();
