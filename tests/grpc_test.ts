import assert from "node:assert/strict";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { ChatService } from "../src/transport/grpc/gen/chat_v1/chat_pb.ts";
import { Client, eventually, startServer } from "./_helpers.ts";

const transports: [string, (baseUrl: string) => Transport][] = [
  ["Connect, JSON", (baseUrl) => createConnectTransport({ baseUrl, useBinaryFormat: false })],
  ["Connect, binary", (baseUrl) => createConnectTransport({ baseUrl, useBinaryFormat: true })],
  ["gRPC-Web", (baseUrl) => createGrpcWebTransport({ baseUrl })],
];

for (const [label, transport] of transports) {
  Deno.test(`seed 004's ChatService over ${label}: create, connect (a stream), send, shared with WebSocket members`, async () => {
    const server = await startServer();
    const chat = createClient(ChatService, transport(server.http));
    const abort = new AbortController();
    try {
      const { chatId } = await chat.createChat({ name: "grpc room" });
      assert.match(chatId, /^[0-9A-Z]{26}$/);
      const stream = chat.connectChat({ chatId, username: "john" }, { signal: abort.signal });
      const received: { sender: string; content: string }[] = [];
      const reading = (async () => {
        for await (const message of stream) {
          received.push({ sender: message.sender, content: message.content });
          assert.ok(timestampDate(message.timestamp!).getTime() > 0);
        }
      })().catch((error) => {
        if (!(error instanceof ConnectError && error.code === Code.Canceled)) throw error;
      });
      // John is a member of the room like any other: a WebSocket client sees him.
      const ann = await Client.connect(server.ws, { name: "ann", room: chatId });
      const deadline = Date.now() + 5000;
      while (
        !(await ann.request({ command: "list" }) as { members: string[] }).members.includes("john")
      ) {
        assert.ok(Date.now() < deadline, "john joined");
        await new Promise((r) => setTimeout(r, 10));
      }
      const sent = await chat.sendMessage({
        chatId,
        message: { sender: "jack", content: "hi john" },
      });
      assert.equal(sent.sender, "jack");
      assert.match(sent.id, /^[0-9A-Z]{26}$/);
      assert.equal((await ann.next((e) => e.event === "broadcast")).message, "hi john");
      await ann.request({ command: "broadcast", message: "hello from the web" });
      await eventually(() => received.length >= 2, `two messages (${JSON.stringify(received)})`);
      assert.deepEqual(received, [
        { sender: "jack", content: "hi john" },
        { sender: "ann", content: "hello from the web" },
      ]);
      await assert.rejects(
        chat.sendMessage({ chatId: "nowhere", message: { sender: "x", content: "y" } }),
        (error: unknown) => error instanceof ConnectError && error.code === Code.NotFound,
      );
      await assert.rejects(
        chat.sendMessage({ chatId, message: { sender: "jack", content: "   " } }),
        (error: unknown) => error instanceof ConnectError && error.code === Code.InvalidArgument,
      );
      abort.abort();
      await reading;
      await ann.close();
    } finally {
      abort.abort();
      await server.close();
    }
  });
}

Deno.test("malformed protobuf on the HTTP port is 400 / INVALID_ARGUMENT in each protocol, never a 500, and creates nothing", async () => {
  const server = await startServer();
  const url = `${server.http}/chat_v1.ChatService/CreateChat`;
  const post = (type: string, body: Uint8Array<ArrayBuffer>) =>
    fetch(url, { method: "POST", headers: { "content-type": type }, body });
  const envelope = (payload: Uint8Array, length = payload.length): Uint8Array<ArrayBuffer> => {
    const frame = new Uint8Array(5 + payload.length);
    new DataView(frame.buffer).setUint32(1, length);
    frame.set(payload, 5);
    return frame;
  };
  try {
    const garbage = [
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x07]) as Uint8Array<ArrayBuffer>, // a field number of 2^28 and wire type 7
      new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x07, 0x61]), // a 2^31 string length
      new Uint8Array([0x0b, 0x08, 0x01]), // a group that never ends
    ];
    for (const bytes of garbage) {
      const unary = await post("application/proto", bytes);
      assert.equal(unary.status, 400);
      assert.equal((await unary.json()).code, "invalid_argument");
      const web = await post("application/grpc-web+proto", envelope(bytes));
      assert.equal(web.headers.get("grpc-status"), "3");
      await web.body?.cancel();
    }
    const truncated = await post("application/grpc-web+proto", envelope(new Uint8Array(2), 9));
    assert.equal(truncated.headers.get("grpc-status"), "3");
    await truncated.body?.cancel();
    assert.deepEqual(await (await fetch(`${server.http}/rooms`)).json(), []);
  } finally {
    await server.close();
  }
});
