// A ConnectChat reader that stops reading, with grpc-js under Node: it pauses its stream while the
// room is flooded over HTTP (16 MB), then resumes and prints how the call ended as one JSON line.
// Usage: node slow_reader.mjs <grpc port> <http port>
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const [grpcPort, httpPort] = process.argv.slice(2);
const http = `http://127.0.0.1:${httpPort}`;
const proto = new URL("../../proto/", import.meta.url).pathname;
const loaded = grpc.loadPackageDefinition(
  protoLoader.loadSync("chat_v1/chat.proto", { includeDirs: [proto] }),
);
const chat = new loaded.chat_v1.ChatService(
  `127.0.0.1:${grpcPort}`,
  grpc.credentials.createInsecure(),
);

const { chatId } = await new Promise((resolve, reject) =>
  chat.createChat(
    { name: `slow-${Date.now()}` },
    (error, answer) => error ? reject(error) : resolve(answer),
  )
);
const call = chat.connectChat({ chatId, username: "sleepy" });
call.pause(); // reads nothing: HTTP/2 flow control stops the server's writes
const ended = new Promise((resolve) => {
  call.on("error", (error) => resolve(grpc.status[error.code]));
  call.on("end", () => resolve("OK"));
});
for (let waited = 0;; waited += 20) {
  const room = await (await fetch(`${http}/rooms/${chatId}`)).json();
  if (room.members?.includes("sleepy")) break;
  if (waited > 5000) throw new Error("never joined");
  await new Promise((r) => setTimeout(r, 20));
}
const text = "x".repeat(4000);
const post = () =>
  fetch(`${http}/rooms/${chatId}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: text, name: "loud" }),
  }).then((answer) => answer.text());
for (let i = 0; i < 40; i++) await Promise.all(Array.from({ length: 100 }, post));
call.on("data", () => {});
call.resume();
const status = await ended;
const room = await (await fetch(`${http}/rooms/${chatId}`)).json();
console.log(JSON.stringify({ status, members: room.members }));
chat.close();
