// The promise the engines keep together, through their production wiring (each engine's own
// `open…Engine`, as `src/mod.ts` calls it): what one node commits to a room reaches the other
// nodes' subscribers of the room's topic — as the stored event, or as a gap that makes them read
// the store — and never twice. On KV (watch on the room's head) and Redis (the append script
// publishes) the commit itself is the publication; on BroadcastChannel the hub publishes after it.
// Run by engine_contract_test.ts (KV engines) and tests/redis/contracts.redis.ts (Redis, Cluster).
import assert from "node:assert/strict";
import { ulid } from "ulid";
import { parseRoomMessage } from "../src/core/node_messages.ts";
import { roomTopic, storedNodeMessage } from "../src/core/room_feeds.ts";
import type { ChatMessage } from "../src/core/types.ts";
import type { Engines } from "../src/engines/engine.ts";
import { eventually } from "./_helpers.ts";

/** Nodes of one chat on one engine, opened one at a time. */
export interface EngineSubject {
  /** Opens the engine for one node, as the server does. */
  open(nodeId: string): Promise<Engines>;
  /** Releases what the subject made besides the engines (which the cases close). */
  cleanup(): Promise<void>;
}

/** Registers the engine contract's cases for one engine. */
export function engineContract(name: string, make: () => Promise<EngineSubject>): void {
  Deno.test(`${name}: what one node commits to a room reaches another node's subscriber, as the event or a gap, never twice`, async () => {
    const subject = await make();
    const a = await subject.open("node-a");
    const b = await subject.open("node-b");
    try {
      const room = `engine-${crypto.randomUUID()}`;
      const heard = new Map<number, number>();
      let gaps = 0;
      const unsubscribe = b.bus.subscribe(roomTopic(room), (raw) => {
        const message = parseRoomMessage(raw);
        if (message?.room === room) heard.set(message.seq, (heard.get(message.seq) ?? 0) + 1);
      }, () => gaps++);
      const highest = () => Math.max(0, ...heard.keys());
      /** Commits on node a, then does what the hub does: publishes the stored event. */
      const commit = async (n: number): Promise<ChatMessage> => {
        const stored = await a.store.appendMessage({
          event: "broadcast",
          room,
          id: ulid(),
          member: "ann",
          memberId: "ann",
          message: `m${n}`,
          ts: Date.now(),
        });
        const text = JSON.stringify(stored);
        a.bus.publish(roomTopic(room), storedNodeMessage(room, stored, text));
        return stored;
      };
      // A subscription may take a moment to start (a KV watch, a Redis SUBSCRIBE): commit until
      // node b hears of one.
      for (let n = 0;; n++) {
        const stored = await commit(n);
        const live = await eventually(() => highest() >= stored.seq || gaps > 0, "b", 200)
          .then(() => true, () => false);
        if (live) break;
        if (n > 50) throw new Error("node b never heard of node a's commits");
      }
      for (let n = 0; n < 20; n++) {
        const gapsBefore = gaps;
        const stored = await commit(100 + n);
        await eventually(
          () => highest() >= stored.seq || gaps > gapsBefore,
          `node b hearing of seq ${stored.seq}`,
          5000,
        );
      }
      for (const [seq, times] of heard) assert.equal(times, 1, `seq ${seq} heard ${times} times`);
      unsubscribe();
    } finally {
      await a.close();
      await b.close();
      await subject.cleanup();
    }
  });
}
