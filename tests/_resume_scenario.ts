import assert from "node:assert/strict";
import { Client, closeAll, type Json } from "./_helpers.ts";

// The guarantee above the peers: a room is one log. Whichever node (isolate or process) stores a
// message and whichever one a client resumes on, every stored event arrives once, in seq order.
// Run by ordered_log_test.ts (isolates) and tests/redis/processes.redis.ts (processes + Redis).

/** Every message of a room, oldest first, paging through the HTTP API with `after`. */
export async function fullHistory(http: string, room: string): Promise<Json[]> {
  const all: Json[] = [];
  for (let after = "";;) {
    const query = after
      ? `?limit=200&after=${after}`
      : "?limit=200&after=00000000000000000000000000";
    const page = await (await fetch(`${http}/rooms/${room}/messages${query}`)).json();
    all.push(...page.messages);
    if (!page.more) return all;
    after = String(all.at(-1)!.id);
  }
}

/** Two nodes of one chat (isolates or processes), and how to stop them. */
export interface TwoNodes {
  readonly nodes: readonly [{ ws: string; http: string }, { ws: string; http: string }];
  close(): Promise<void>;
}

/**
 * One run of the scenario: 8 senders spread over two nodes flood one room while a reader drops
 * its connection again and again, resuming with `since` on the other node each time.
 */
export async function floodAndResume(
  run: number,
  nodes: TwoNodes,
  paceMs: number,
  minResumes = 15,
): Promise<{ messages: number; resumes: number }> {
  const [a, b] = nodes.nodes;
  const roomName = `flood-${run}`;
  const senders: Client[] = [];
  const received: Json[] = [];
  let reader: Client | undefined;
  try {
    for (let i = 0; i < 8; i++) {
      senders.push(await Client.connect((i % 2 ? b : a).ws, { name: `s${i}`, room: roomName }));
    }
    const room = String(senders[0].events.find((e) => e.event === "joined")!.room);
    reader = await Client.connect(a.ws, { name: "reader", room });
    const perSender = 50;
    // The reader's resumes so far, and the senders waiting for it to hop on.
    let resumes = 0;
    let hopped: () => void = () => {};
    let nextHop = new Promise<void>((resolve) => hopped = resolve);
    const sending = Promise.all(senders.map(async (sender, i) => {
      for (let n = 0; n < perSender; n++) {
        // The flood keeps step with the reader (each resume lets every sender send
        // `perSender / minResumes` more; a hop takes fewer than that), so that it resumes at least
        // `minResumes` times while the room is being written, however fast this machine is today.
        while (resumes < Math.floor(n * minResumes / perSender)) await nextHop;
        sender.send({ command: "broadcast", message: `${i}:${n}` });
        // Paced, so that the flood lasts long enough for the reader to hop many times.
        await new Promise((r) => setTimeout(r, paceMs));
      }
      await sender.waitFor((e) => e.message === `${i}:${perSender - 1}`, 20_000);
    }));

    // The reader: take a few events, drop, resume on the other isolate from the last id.
    let done = false;
    sending.then(() => done = true);
    let since: string | undefined;
    for (let hop = 0; !done || hop < 2; hop++) {
      const isolate = hop % 2 ? b : a;
      const query: Record<string, string> = { name: "reader", room };
      if (since) query.since = since;
      const current: Client = hop > 0 ? await Client.connect(isolate.ws, query) : reader!;
      reader = current;
      if (since) {
        resumes++;
        hopped();
        nextHop = new Promise<void>((resolve) => hopped = resolve);
      }
      const joined = current.events.find((e) => e.event === "joined")!;
      if (since) assert.equal(joined.recovered, true);
      // A hop never waits for more than the senders may send before its next resume.
      const want = Math.min(5 + ((hop * 7) % 20), Math.floor(8 * perSender / minResumes) - 1);
      for (let got = 0; got < want && !done; got++) {
        await Promise.race([current.next((e) => e.event === "broadcast", 20_000), sending]);
      }
      await current.close();
      const mine = current.broadcasts();
      received.push(...mine);
      if (mine.length > 0) since = String(mine.at(-1)!.id);
      reader = undefined;
      if (hop > 200) break;
    }
    assert.ok(resumes >= minResumes, `run ${run}: the reader resumed only ${resumes} times`);
    await sending;
    // A last resume collects whatever was stored after the reader's last hop.
    const history = await fullHistory(a.http, room);
    reader = await Client.connect(b.ws, since ? { name: "reader", room, since } : { room });
    const lastId = String(history.at(-1)!.id);
    if (!received.some((m) => m.id === lastId)) {
      await reader.waitFor((e) => e.id === lastId, 20_000);
    }
    received.push(...reader.broadcasts());

    assert.equal(history.length, 8 * perSender, "every message was stored once");
    assert.deepEqual(history.map((m) => m.seq), history.map((_, i) => i + 1), "seq is 1..n");
    assert.deepEqual(
      received.map((m) => `${m.seq} ${m.id}`),
      history.map((m) => `${m.seq} ${m.id}`),
      `run ${run}: the reader got every stored message once, in history order`,
    );
    // Every member of the room, on either isolate, saw the same order too.
    for (const sender of senders) {
      const seen = sender.events.filter((e) => e.event === "broadcast").map((e) => e.seq);
      assert.deepEqual(seen, history.map((m) => m.seq), "members receive in seq order");
    }
    return { messages: history.length, resumes };
  } finally {
    await closeAll(reader ? [reader, ...senders] : senders);
    await nodes.close();
  }
}
