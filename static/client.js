// @ts-self-types="./client.d.ts"
/**
 * The chat's client library: one ES module that browsers, Deno and Node (with a global
 * `WebSocket`) import as is, from the server (`GET /client.js`) or from the package
 * (`@edge-chat/server/client`). It keeps one socket, reconnects by itself (backoff with jitter,
 * honouring the close codes), resumes every joined room with `since`, resends what was not
 * acknowledged with its `key` (so it is stored once), keeps the session, and hands each room's
 * messages out once, in `seq` order.
 *
 * @example
 * ```js
 * import { connect } from "http://127.0.0.1:8000/client.js";
 * const chat = connect({ url: "http://127.0.0.1:8000", name: "ann" });
 * const room = await chat.join("lobby");
 * room.on("message", (event) => console.log(`${event.member}: ${event.message}`));
 * const stored = await room.send("hi"); // rejects with an Error whose .code is the error code
 * chat.close();
 * ```
 *
 * This entry re-exports its parts, in `client/`: `chat_client.js` (the connection),
 * `room.js` (one joined room), `requests.js` (answers awaited, the outbox), `token_keeper.js`
 * (the token kept fresh), `events.js` (errors, the emitter). Its types are `client.d.ts`.
 *
 * @module
 */
export { ChatClient, connect } from "./client/chat_client.js";
export { ChatClientError, Emitter } from "./client/events.js";
export { Room } from "./client/room.js";
