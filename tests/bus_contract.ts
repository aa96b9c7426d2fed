// The promises of `Bus` (src/core/bus.ts) as one suite of cases, run against every
// implementation by bus_contract_test.ts. A new engine passes it unchanged.
import assert from "node:assert/strict";
import type { Bus, BusMessage } from "../src/core/bus.ts";
import { eventually } from "./_helpers.ts";

/** Buses that hear each other (one network, namespace or server), made one node at a time. */
export interface BusSubject {
  /** A bus for one node, publishing as `nodeId`. */
  make(nodeId: string): Bus | Promise<Bus>;
  /** Releases what the subject made (besides the buses, which the cases close). */
  cleanup(): Promise<void>;
}

interface Received {
  readonly message: BusMessage;
  readonly from: string;
}

function recorder() {
  const got: Received[] = [];
  let gaps = 0;
  return {
    got,
    gaps: () => gaps,
    handler: (message: BusMessage, from: string) => {
      if (message.probe === undefined) got.push({ message, from });
    },
    onGap: () => gaps++,
    /** Forgets gaps reported so far (a bus may report one when a subscription goes live). */
    reset: () => gaps = 0,
  };
}

/**
 * Resolves once `subscriber`'s subscription to `topic` receives from `publisher`: probes are
 * published until one arrives (a bus may take a moment to go live, as a KV watch does).
 */
async function live(publisher: Bus, subscriber: Bus, topic: string): Promise<void> {
  let arrived = false;
  const stop = subscriber.subscribe(topic, (message) => {
    if (message.probe !== undefined) arrived = true;
  });
  try {
    for (let i = 0; !arrived; i++) {
      publisher.publish(topic, { probe: i });
      await eventually(() => arrived, "a probe", 100).catch(() => {});
      if (i > 100) throw new Error(`${topic} never went live`);
    }
  } finally {
    stop();
  }
}

/** Registers every case of the contract for one implementation. */
export function busContract(name: string, open: () => Promise<BusSubject>): void {
  const test = (what: string, body: (subject: BusSubject) => Promise<void>) =>
    Deno.test(`${name}: ${what}`, async () => {
      const subject = await open();
      try {
        await body(subject);
      } finally {
        await subject.cleanup();
      }
    });

  test("a message reaches the other subscribers of its topic, named by its publisher, once", async (s) => {
    const [a, b, c] = await Promise.all(["node-a", "node-b", "node-c"].map((n) => s.make(n)));
    try {
      const onB = recorder();
      const onC = recorder();
      const onA = recorder();
      b.subscribe("t1", onB.handler);
      c.subscribe("other", onC.handler);
      a.subscribe("t1", onA.handler);
      await live(a, b, "t1");
      await live(a, c, "other");
      a.publish("t1", { n: 1, text: "hello" });
      await eventually(() => onB.got.length === 1, "b to receive");
      await settle(s);
      assert.deepEqual(onB.got, [{ message: { n: 1, text: "hello" }, from: "node-a" }]);
      assert.deepEqual(onA.got, [], "a publisher does not hear itself");
      assert.deepEqual(onC.got, [], "another topic hears nothing");
    } finally {
      for (const bus of [a, b, c]) bus.close();
    }
  });

  test("one publisher's messages arrive in the order published", async (s) => {
    const [a, b] = await Promise.all(["node-a", "node-b"].map((n) => s.make(n)));
    try {
      const onB = recorder();
      b.subscribe("order", onB.handler, onB.onGap);
      await live(a, b, "order");
      onB.reset();
      for (let i = 0; i < 1000; i++) {
        a.publish("order", { i });
        if (i % 100 === 99) await new Promise((r) => setTimeout(r, 1));
      }
      await eventually(() => onB.got.length === 1000 || onB.gaps() > 0, "all 1000", 10_000);
      assert.equal(onB.gaps(), 0, "nothing was lost at this pace");
      assert.deepEqual(onB.got.map((r) => r.message.i), onB.got.map((_, i) => i));
    } finally {
      a.close();
      b.close();
    }
  });

  test("two publishers on one topic: every message of each arrives, in each one's order", async (s) => {
    const [a, b, c] = await Promise.all(["node-a", "node-b", "node-c"].map((n) => s.make(n)));
    try {
      const onC = recorder();
      c.subscribe("shared", onC.handler, onC.onGap);
      await live(a, c, "shared");
      await live(b, c, "shared");
      onC.reset();
      for (let i = 0; i < 300; i++) {
        a.publish("shared", { i });
        b.publish("shared", { i });
        if (i % 3 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      await eventually(() => onC.got.length === 600 || onC.gaps() > 0, "all 600", 10_000);
      assert.equal(onC.gaps(), 0, "nothing was lost at this pace");
      for (const node of ["node-a", "node-b"]) {
        const seen = onC.got.filter((r) => r.from === node).map((r) => r.message.i);
        assert.deepEqual(seen, seen.map((_, i) => i), `all of ${node}'s, in order`);
      }
    } finally {
      for (const bus of [a, b, c]) bus.close();
    }
  });

  test("large non-Latin messages arrive whole: 40,000 CJK characters, and many of 2,000 each", async (s) => {
    const [a, b] = await Promise.all(["node-a", "node-b"].map((n) => s.make(n)));
    try {
      const onB = recorder();
      b.subscribe("wide", onB.handler, onB.onGap);
      await live(a, b, "wide");
      onB.reset();
      // 80,000 bytes as a KV value (two per character): more than one entry can hold.
      const huge = "漢字かな".repeat(10_000);
      a.publish("wide", { n: 0, text: huge });
      // 40 of 4,000 bytes each in one turn: more than one entry's worth, to be split between entries.
      for (let i = 1; i <= 40; i++) a.publish("wide", { n: i, text: "名".repeat(2000) });
      a.publish("wide", { n: 41, text: "after" });
      await eventually(() => onB.got.length === 42 || onB.gaps() > 0, "all 42", 10_000);
      assert.equal(onB.gaps(), 0);
      assert.deepEqual(onB.got.map((r) => r.message.n), [...Array(42).keys()]);
      assert.equal(onB.got[0].message.text, huge);
      assert.equal(onB.got[1].message.text, "名".repeat(2000));
    } finally {
      a.close();
      b.close();
    }
  });

  test("after unsubscribe nothing more arrives there; other subscriptions still receive", async (s) => {
    const [a, b] = await Promise.all(["node-a", "node-b"].map((n) => s.make(n)));
    try {
      const first = recorder();
      const second = recorder();
      const stop = b.subscribe("t2", first.handler);
      b.subscribe("t2", second.handler);
      await live(a, b, "t2");
      a.publish("t2", { n: 1 });
      await eventually(() => first.got.length === 1 && second.got.length === 1, "both");
      stop();
      a.publish("t2", { n: 2 });
      await eventually(() => second.got.length === 2, "the second subscription");
      await settle(s);
      assert.deepEqual(first.got.map((r) => r.message.n), [1]);
    } finally {
      a.close();
      b.close();
    }
  });

  test("close stops every subscription of that bus", async (s) => {
    const [a, b] = await Promise.all(["node-a", "node-b"].map((n) => s.make(n)));
    const watcher = await s.make("node-w");
    try {
      const onB = recorder();
      const onW = recorder();
      b.subscribe("t3", onB.handler);
      b.subscribe("t4", onB.handler);
      watcher.subscribe("t3", onW.handler);
      await live(a, b, "t3");
      await live(a, b, "t4");
      await live(a, watcher, "t3");
      b.close();
      a.publish("t3", { n: 1 });
      a.publish("t4", { n: 2 });
      await eventually(() => onW.got.length === 1, "the watcher");
      await settle(s);
      assert.deepEqual(onB.got, []);
    } finally {
      a.close();
      watcher.close();
    }
  });

  test("a lost message is never silent: what does not arrive is reported as a gap", async (s) => {
    const [a, b] = await Promise.all(["node-a", "node-b"].map((n) => s.make(n)));
    try {
      const onB = recorder();
      b.subscribe("flood", onB.handler, onB.onGap);
      await live(a, b, "flood");
      onB.reset();
      // Each publish in its own turn, with no room for the receiver to run: a bus that drops
      // for a lagging receiver drops here, and must say so.
      const n = 3000;
      for (let i = 0; i < n; i++) {
        a.publish("flood", { i });
        await Promise.resolve();
      }
      await eventually(() => onB.got.length === n || onB.gaps() > 0, "delivery or a gap", 10_000);
      const seen = onB.got.map((r) => Number(r.message.i));
      assert.deepEqual(seen, [...seen].sort((x, y) => x - y), "still in order");
      if (seen.length < n) assert.ok(onB.gaps() > 0, `${n - seen.length} lost without a gap`);
      console.log(`  ${seen.length} of ${n} delivered, ${onB.gaps()} gap reports`);
    } finally {
      a.close();
      b.close();
    }
  });
}

/** Lets subscriptions take effect and in-flight deliveries land (a macrotask or two). */
async function settle(_subject: BusSubject): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 5));
}
