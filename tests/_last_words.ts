import assert from "node:assert/strict";
import { Client, closeAll, type Json } from "./_helpers.ts";

/**
 * The contract's third round: per connection, a `broadcast` sent before `leave` (or before the
 * socket closes) reaches the others before that leave. `sender` sends its last line and leaves in
 * one go, without waiting for the acknowledgement, as seed 001's and seed 002's clients do.
 */
export async function lastWordsArriveFirst(senderWs: string, watcherWs: string, rounds: number) {
  const watcher = await Client.connect(watcherWs, { name: "watcher", room: "order" });
  try {
    for (let i = 0; i < rounds; i++) {
      const name = `leaver${i}`;
      const sender = await Client.connect(senderWs, { name, room: "order" });
      await watcher.next((e) => e.event === "join" && e.member === name, 5000);
      sender.send({ command: "broadcast", message: `bye ${i}` });
      if (i % 2 === 0) sender.send({ command: "leave", room: "order" });
      else sender.socket.close(); // the socket closes right after its last line
      const left = await watcher.next((e) => e.event === "leave" && e.member === name, 5000);
      const said = watcher.events.findIndex((e: Json) => e.message === `bye ${i}`);
      assert.ok(said >= 0, `round ${i}: the last line arrived`);
      assert.ok(said < watcher.events.indexOf(left), `round ${i}: it arrived before the leave`);
      await sender.close();
    }
  } finally {
    await closeAll([watcher]);
  }
}
