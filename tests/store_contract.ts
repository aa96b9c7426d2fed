// The promises of `Store` (src/core/store.ts) as one suite of cases, run against every
// implementation by store_contract_test.ts. A new engine passes it unchanged.
import assert from "node:assert/strict";
import { ChatError } from "../src/core/errors.ts";
import { logTime } from "../src/core/log_order.ts";
import { MAX_EMOJIS_PER_MESSAGE, MAX_REACTIONS_PER_MESSAGE } from "../src/core/message_changes.ts";
import type { AccessAction } from "../src/core/room_access.ts";
import type { Store } from "../src/core/store.ts";
import type { MessageDraft } from "../src/core/types.ts";
import type { Retention } from "../src/engines/retention.ts";
import { FakeClock, seededIds } from "./_helpers.ts";

/** A store under test: how to open it, and another handle on the same data where there is one. */
export interface StoreSubject {
  readonly store: Store;
  /** A second handle on the same data (another isolate or process), if the engine has such. */
  readonly another?: () => Promise<Store>;
  /** Closes everything and removes what the subject made. */
  cleanup(): Promise<void>;
}

/** Opens a fresh, empty store with this retention and clock. */
export type StoreFactory = (retention: Retention, clock: FakeClock) => Promise<StoreSubject>;

const ROOM = "01J0000000000000000000ROOM";
const LOTS: Retention = { maxMessages: 10_000, maxAgeMs: 0 };

function drafts(clock: FakeClock, seed = 7) {
  const ids = seededIds(clock, seed);
  return (text: string, room = ROOM): MessageDraft => ({
    event: "broadcast",
    room,
    id: ids(),
    member: "m",
    memberId: "01J00000000000000000MEMBER",
    message: text,
    ts: clock.now,
  });
}

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return error instanceof ChatError ? error.code : `not a ChatError: ${error}`;
  }
  return undefined;
}

/**
 * Registers every case of the contract for one implementation. The cases about a second handle
 * are registered only for engines whose factory offers `another` (`handles: true`).
 */
export function storeContract(
  name: string,
  open: StoreFactory,
  options: { handles: boolean },
): void {
  const test = (what: string, fn: (clock: FakeClock) => Promise<void>) =>
    Deno.test(`${name}: ${what}`, () => fn(new FakeClock()));
  const withHandles = options.handles ? test : () => {};

  const withStore = async (
    retention: Retention,
    clock: FakeClock,
    body: (subject: StoreSubject) => Promise<void>,
  ) => {
    const subject = await open(retention, clock);
    try {
      await body(subject);
    } finally {
      await subject.cleanup();
    }
  };

  test("rooms: created once per name (case-insensitively), found by id and name, listed oldest first", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      const ids = seededIds(clock, 3);
      const one = await store.createRoom({ id: ids(), name: "Garden", createdAt: 1 });
      clock.advance(1);
      const two = await store.createRoom({ id: ids(), name: "kitchen", createdAt: 2 });
      assert.equal(
        await code(store.createRoom({ id: ids(), name: "GARDEN", createdAt: 3 })),
        "room_exists",
      );
      const refused = await store.createRoom({ id: ids(), name: "garden", createdAt: 3 }).catch((
        e,
      ) => e);
      assert.equal(refused.details.id, one.id);
      assert.deepEqual(await store.getRoom(one.id), one);
      assert.deepEqual(await store.findRoomByName("gARDEN"), one);
      assert.equal(await store.findRoomByName("nowhere"), undefined);
      assert.deepEqual((await store.listRooms()).map((r) => r.id), [one.id, two.id]);
      assert.deepEqual((await store.listRooms({ limit: 1 })).map((r) => r.id), [one.id]);
      assert.deepEqual((await store.listRooms({ after: one.id })).map((r) => r.id), [two.id]);
      assert.deepEqual(await store.listRooms({ after: two.id, limit: 5 }), []);
    }));

  test("rooms: one that never had an event can be removed (its name free again, the cap's count lowered); one with events cannot", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      const ids = seededIds(clock, 5);
      const idle = await store.createRoom({ id: ids(), name: "Idle", createdAt: 1 }, {
        maxRooms: 2,
      });
      const busy = await store.createRoom({ id: ids(), name: "busy", createdAt: 2 }, {
        maxRooms: 2,
      });
      await store.appendMessage({
        event: "broadcast",
        room: busy.id,
        id: ids(),
        member: "a",
        memberId: "01J00000000000000000MEMBER",
        message: "hi",
        ts: clock.now,
      });
      assert.equal(await store.deleteEmptyRoom(busy.id), false, "it has history");
      assert.equal(await store.deleteEmptyRoom(ids()), false, "no such room");
      assert.equal(
        await code(store.createRoom({ id: ids(), name: "third", createdAt: 3 }, { maxRooms: 2 })),
        "over_capacity",
      );
      assert.equal(await store.deleteEmptyRoom(idle.id), true);
      assert.equal(await store.getRoom(idle.id), undefined);
      assert.equal(await store.findRoomByName("idle"), undefined);
      assert.deepEqual((await store.listRooms()).map((r) => r.id), [busy.id]);
      assert.equal(await store.deleteEmptyRoom(idle.id), false, "once");
      // Its name and its place under the cap are free again.
      const again = await store.createRoom({ id: ids(), name: "IDLE", createdAt: 4 }, {
        maxRooms: 2,
      });
      assert.equal(again.name, "IDLE");
    }));

  test("an empty room is at seq 0 with no messages", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      assert.deepEqual(await store.head(ROOM), { seq: 0 });
      assert.deepEqual(await store.readMessages(ROOM, { limit: 10 }), {
        messages: [],
        more: false,
      });
      assert.equal(await store.trimmedThrough(ROOM), undefined);
    }));

  test("appends get seq 1, 2, 3, ... and ids that grow with it; ts is the id's time", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      const draft = drafts(clock);
      const stored = [];
      for (let i = 0; i < 5; i++) {
        stored.push(await store.appendMessage(draft(`m${i}`)));
        clock.advance(3);
      }
      assert.deepEqual(stored.map((m) => m.seq), [1, 2, 3, 4, 5]);
      assert.deepEqual(stored.map((m) => m.id), stored.map((m) => m.id).sort());
      for (const m of stored) assert.equal(m.ts, logTime(m.id));
      assert.deepEqual(await store.head(ROOM), { seq: 5, id: stored[4].id });
      const page = await store.readMessages(ROOM, { limit: 10 });
      assert.deepEqual(page.messages, stored);
    }));

  test("a draft whose id is below the room's last id is stored after it, not before", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      const late = drafts(clock, 1)("made first, stored second");
      clock.advance(50);
      const first = await store.appendMessage(drafts(clock, 2)("made second, stored first"));
      const second = await store.appendMessage(late);
      assert.equal(second.seq, 2);
      assert.ok(second.id > first.id, "the id was moved past the last one");
      assert.equal(second.ts, first.ts, "and carries that id's time");
      const page = await store.readMessages(ROOM, { limit: 10 });
      assert.deepEqual(page.messages.map((m) => m.message), [
        "made second, stored first",
        "made first, stored second",
      ]);
    }));

  test("rooms are separate logs", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      const draft = drafts(clock);
      const other = "01J000000000000000000OTHER";
      await store.appendMessage(draft("a1"));
      await store.appendMessage(draft("b1", other));
      await store.appendMessage(draft("a2"));
      assert.equal((await store.head(ROOM)).seq, 2);
      assert.equal((await store.head(other)).seq, 1);
      const page = await store.readMessages(other, { limit: 10 });
      assert.deepEqual(page.messages.map((m) => [m.message, m.seq]), [["b1", 1]]);
    }));

  test("pages: the newest, before an id, after an id, with more in the direction read", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      const draft = drafts(clock);
      const all = [];
      for (let i = 0; i < 10; i++) all.push(await store.appendMessage(draft(String(i))));
      const text = (p: { messages: { message?: string }[]; more: boolean }) => [
        p.messages.map((m) => m.message).join(""),
        p.more,
      ];
      assert.deepEqual(text(await store.readMessages(ROOM, { limit: 3 })), ["789", true]);
      assert.deepEqual(text(await store.readMessages(ROOM, { limit: 10 })), ["0123456789", false]);
      assert.deepEqual(
        text(await store.readMessages(ROOM, { limit: 3, before: all[7].id })),
        ["456", true],
      );
      assert.deepEqual(
        text(await store.readMessages(ROOM, { limit: 5, before: all[3].id })),
        ["012", false],
      );
      assert.deepEqual(
        text(await store.readMessages(ROOM, { limit: 3, after: all[2].id })),
        ["345", true],
      );
      assert.deepEqual(
        text(await store.readMessages(ROOM, { limit: 3, after: all[6].id })),
        ["789", false],
      );
      assert.deepEqual(
        text(await store.readMessages(ROOM, { limit: 3, after: all[9].id })),
        ["", false],
      );
      // Cursors that name no message bound the log at their place.
      assert.deepEqual(
        text(await store.readMessages(ROOM, { limit: 2, before: "7ZZZZZZZZZZZZZZZZZZZZZZZZZ" })),
        ["89", true],
      );
      assert.deepEqual(
        text(await store.readMessages(ROOM, { limit: 2, after: "00000000000000000000000000" })),
        ["01", true],
      );
    }));

  test("retention by count keeps the newest max by seq, at once, and names the newest dropped", (clock) =>
    withStore({ maxMessages: 5, maxAgeMs: 0 }, clock, async ({ store }) => {
      const draft = drafts(clock);
      const all = [];
      for (let i = 0; i < 12; i++) all.push(await store.appendMessage(draft(String(i))));
      const page = await store.readMessages(ROOM, { limit: 100 });
      assert.deepEqual(page.messages.map((m) => m.seq), [8, 9, 10, 11, 12]);
      assert.equal(page.more, false);
      const older = await store.readMessages(ROOM, { limit: 100, before: all[9].id });
      assert.deepEqual(older.messages.map((m) => m.seq), [8, 9]);
      assert.equal(older.more, false);
      const after = await store.readMessages(ROOM, { limit: 2, after: all[0].id });
      assert.deepEqual(after.messages.map((m) => m.seq), [8, 9]);
      assert.equal(await store.trimmedThrough(ROOM), all[6].id);
      assert.equal((await store.head(ROOM)).seq, 12, "the head keeps counting");
    }));

  test("retention by age drops what is older than max age, and names the newest dropped", (clock) =>
    withStore({ maxMessages: 1000, maxAgeMs: 60_000 }, clock, async ({ store }) => {
      const draft = drafts(clock);
      const old = [];
      for (let i = 0; i < 4; i++) {
        old.push(await store.appendMessage(draft(`old ${i}`)));
        clock.advance(1000);
      }
      clock.advance(60_000);
      const fresh = await store.appendMessage(draft("fresh"));
      const page = await store.readMessages(ROOM, { limit: 100 });
      assert.deepEqual(page.messages.map((m) => m.message), ["fresh"]);
      assert.equal(page.more, false);
      assert.equal(await store.trimmedThrough(ROOM), old[3].id);
      assert.equal(fresh.seq, 5);
    }));

  test("appends through one handle commit in call order", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      const draft = drafts(clock);
      const stored = await Promise.all(
        Array.from({ length: 300 }, (_, i) => store.appendMessage(draft(String(i)))),
      );
      assert.deepEqual(stored.map((m) => m.message), stored.map((_, i) => String(i)));
      assert.deepEqual(stored.map((m) => m.seq), stored.map((_, i) => i + 1));
    }));

  test("secrets: 32 random bytes per name, the same on every later ask", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      const one = await store.secret("sessions");
      assert.equal(one.length, 32);
      assert.deepEqual(await store.secret("sessions"), one);
      assert.notDeepEqual(await store.secret("other"), one);
    }));

  withHandles(
    "secrets: two handles asking at once agree on one",
    (clock) =>
      withStore(LOTS, clock, async ({ store, another }) => {
        const second = await another!();
        try {
          const [a, b] = await Promise.all([store.secret("shared"), second.secret("shared")]);
          assert.deepEqual(a, b);
        } finally {
          await second.close();
        }
      }),
  );

  withHandles(
    "concurrent appends to one room from two handles never share a seq, and ids follow seq",
    (clock) =>
      withStore(LOTS, clock, async ({ store, another }) => {
        const second = await another!();
        try {
          const fromOne = drafts(clock, 11);
          const fromTwo = drafts(clock, 12);
          const results = await Promise.all([
            ...Array.from({ length: 150 }, (_, i) => store.appendMessage(fromOne(`a${i}`))),
            ...Array.from({ length: 150 }, (_, i) => second.appendMessage(fromTwo(`b${i}`))),
          ]);
          const seqs = results.map((m) => m.seq).sort((x, y) => x - y);
          assert.deepEqual(seqs, results.map((_, i) => i + 1), "every seq once, none skipped");
          const page = await second.readMessages(ROOM, { limit: 200, after: "0".repeat(26) });
          const rest = await store.readMessages(ROOM, {
            limit: 200,
            after: page.messages.at(-1)!.id,
          });
          const log = [...page.messages, ...rest.messages];
          assert.deepEqual(
            log.map((m) => m.seq),
            log.map((_, i) => i + 1),
            "id order is seq order",
          );
          assert.equal((await store.head(ROOM)).seq, 300);
          assert.equal((await second.head(ROOM)).seq, 300);
        } finally {
          await second.close();
        }
      }),
  );

  test("an idempotency key stores once: a retry gets the first message, in its room only", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      const draft = drafts(clock);
      const first = await store.appendMessage(draft("once"), { idempotencyKey: "k1" });
      const retry = await store.appendMessage(draft("once, again"), { idempotencyKey: "k1" });
      assert.deepEqual(retry, first);
      const both = await Promise.all([
        store.appendMessage(draft("twin a"), { idempotencyKey: "k2" }),
        store.appendMessage(draft("twin b"), { idempotencyKey: "k2" }),
      ]);
      assert.deepEqual(both[1], both[0], "the same key at once stores once");
      const other = "01J000000000000000000OTHER";
      const elsewhere = await store.appendMessage(draft("other room", other), {
        idempotencyKey: "k1",
      });
      assert.equal(elsewhere.room, other, "keys are per room");
      const page = await store.readMessages(ROOM, { limit: 10 });
      assert.deepEqual(page.messages.map((m) => m.message), ["once", "twin a"]);
    }));

  withHandles(
    "an idempotency key used through one handle is honoured through another, even at once",
    (clock) =>
      withStore(LOTS, clock, async ({ store, another }) => {
        const second = await another!();
        try {
          const results = await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              (i % 2 ? second : store).appendMessage(drafts(clock, 40 + i)(`try ${i}`), {
                idempotencyKey: "same",
              })),
          );
          for (const r of results) {
            assert.deepEqual(r, results[0]);
          }
          const page = await second.readMessages(ROOM, { limit: 20 });
          assert.equal(page.messages.length, 1);
        } finally {
          await second.close();
        }
      }),
  );

  test("after close, an append is refused with store_failed and nothing is stored", (clock) =>
    withStore(LOTS, clock, async ({ store, another }) => {
      await store.appendMessage(drafts(clock)("kept"));
      await store.close();
      assert.equal(await code(store.appendMessage(drafts(clock, 9)("lost"))), "store_failed");
      if (another) {
        const reader = await another();
        const page = await reader.readMessages(ROOM, { limit: 10 });
        assert.deepEqual(page.messages.map((m) => m.message), ["kept"]);
        await reader.close();
      }
    }));

  const AUTHOR = "01J00000000000000000MEMBER";
  const OTHER = "01J000000000000000000OTHER";

  test("changes: an edit, a reaction and a delete take the next seqs; history shows current state, the log every change", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      const draft = drafts(clock);
      const ids = seededIds(clock, 70);
      const message = await store.appendMessage(draft("helo"));
      const other = await store.appendMessage(draft("second"));
      const base = { room: ROOM, target: message.id };
      const edited = await store.changeMessage({
        ...base,
        kind: "edit",
        memberId: AUTHOR,
        id: ids(),
        message: "hello",
      });
      assert.deepEqual([edited.event, edited.seq, edited.id], ["edited", 3, message.id]);
      assert.ok(edited.event === "edited");
      assert.ok(edited.logId > other.id, "a change has its own place in the log");
      const react = { ...base, kind: "react" as const, member: "o", emoji: "👍" };
      const on = await store.changeMessage({ ...react, memberId: OTHER, id: ids() });
      assert.equal(on.event === "reaction" && on.on, true);
      await store.changeMessage({ ...react, memberId: AUTHOR, id: ids() });
      let page = await store.readMessages(ROOM, { limit: 10 });
      assert.deepEqual(page.messages.map((m) => m.message), ["hello", "second"]);
      const first = page.messages[0];
      assert.ok("reactions" in first);
      assert.deepEqual(first.reactions, { "👍": 2 });
      assert.equal(first.editedAt, edited.editedAt);
      assert.equal("reactedBy" in first, false, "who reacted stays inside the store");
      const off = await store.changeMessage({ ...react, memberId: OTHER, id: ids() });
      assert.equal(off.event === "reaction" && off.on, false);
      await store.changeMessage({ ...base, kind: "delete", memberId: AUTHOR, id: ids() });
      page = await store.readMessages(ROOM, { limit: 10 });
      assert.deepEqual(page.messages[0], {
        event: "broadcast",
        room: ROOM,
        id: message.id,
        seq: 1,
        ts: message.ts,
        deleted: true,
      });
      const log = await store.readLog(ROOM, { after: message.id, limit: 100 });
      assert.deepEqual(log.entries.map((e) => [e.seq, e.event]), [
        [2, "broadcast"],
        [3, "edited"],
        [4, "reaction"],
        [5, "reaction"],
        [6, "reaction"],
        [7, "deleted"],
      ]);
      assert.equal((await store.head(ROOM)).seq, 7);
      const paged = await store.readLog(ROOM, { after: message.id, limit: 2 });
      assert.deepEqual([paged.entries.length, paged.more], [2, true]);
    }));

  test("reactions: a message's record stays bounded however many react; past the cap a reaction is refused alone, and other writes in its batch stand", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      const ids = seededIds(clock, 90);
      const text = "漢".repeat(4000); // the longest text, two bytes a character in a KV value
      const message = await store.appendMessage(drafts(clock)(text));
      const emojis = Array.from({ length: MAX_EMOJIS_PER_MESSAGE }, (_, i) => `e${i}`);
      const react = (n: number) =>
        store.changeMessage({
          room: ROOM,
          target: message.id,
          kind: "react",
          id: ids(),
          memberId: `01J${String(n).padStart(23, "0")}`,
          member: `m${n}`,
          emoji: emojis[n % emojis.length],
        });
      // Up to the cap, in batches (concurrently), every reaction is stored.
      for (let n = 0; n < MAX_REACTIONS_PER_MESSAGE; n += 100) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => react(n + i)));
      }
      // Past it: refused one by one, while a message sent in the same turn is stored.
      const [over, alongside] = await Promise.all([
        code(react(MAX_REACTIONS_PER_MESSAGE)),
        store.appendMessage(drafts(clock)("still here")),
      ]);
      assert.equal(over, "too_large");
      assert.equal(alongside.message, "still here");
      const page = await store.readMessages(ROOM, { limit: 10 });
      const first = page.messages[0];
      assert.ok("reactions" in first && first.reactions);
      const total = Object.values(first.reactions).reduce((n, c) => n + c, 0);
      assert.equal(total, MAX_REACTIONS_PER_MESSAGE);
    }));

  test("changes: only the author edits or deletes, nothing is stored for a refused change", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      const ids = seededIds(clock, 80);
      const message = await store.appendMessage(drafts(clock)("mine"));
      const base = { room: ROOM, target: message.id, id: ids() };
      assert.equal(
        await code(store.changeMessage({ ...base, kind: "edit", memberId: OTHER, message: "x" })),
        "forbidden",
      );
      assert.equal(
        await code(store.changeMessage({ ...base, kind: "delete", memberId: OTHER })),
        "forbidden",
      );
      assert.equal(
        await code(
          store.changeMessage({ ...base, target: ids(), kind: "delete", memberId: AUTHOR }),
        ),
        "not_found",
      );
      assert.deepEqual(await store.head(ROOM), { seq: 1, id: message.id });
      // A refused change in a batch with good writes refuses only itself.
      const results = await Promise.allSettled([
        store.appendMessage(drafts(clock, 81)("next")),
        store.changeMessage({ ...base, id: ids(), kind: "edit", memberId: OTHER, message: "x" }),
        store.changeMessage({ ...base, id: ids(), kind: "edit", memberId: AUTHOR, message: "ok" }),
      ]);
      assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
      assert.equal((await store.head(ROOM)).seq, 3);
    }));

  withHandles(
    "changes: reactions toggled through two handles at once are all counted",
    (clock) =>
      withStore(LOTS, clock, async ({ store, another }) => {
        const second = await another!();
        try {
          const message = await store.appendMessage(drafts(clock)("react to me"));
          const ids = seededIds(clock, 90);
          const members = Array.from(
            { length: 12 },
            (_, i) => `01J0000000000000000MEMB${String(i).padStart(2, "0")}`,
          );
          await Promise.all(members.map((memberId, i) =>
            (i % 2 ? second : store).changeMessage({
              kind: "react",
              room: ROOM,
              target: message.id,
              memberId,
              member: `m${i}`,
              emoji: "🎉",
              id: ids(),
            })
          ));
          const page = await second.readMessages(ROOM, { limit: 5 });
          const first = page.messages[0];
          assert.ok("reactions" in first);
          assert.deepEqual(first.reactions, { "🎉": 12 });
          assert.equal((await store.head(ROOM)).seq, 13);
        } finally {
          await second.close();
        }
      }),
  );

  test("replies: stored with replyTo and the thread's first message; that message counts its replies (a reply to a reply counts for the root); a deleted reply leaves the count", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      const draft = drafts(clock);
      const root = await store.appendMessage(draft("root"));
      const one = await store.appendMessage({ ...draft("one"), replyTo: root.id });
      assert.equal(one.replyTo, root.id);
      assert.equal(one.thread, root.id);
      const deeper = await store.appendMessage({ ...draft("deeper"), replyTo: one.id });
      assert.equal(deeper.replyTo, one.id, "replyTo stays what was answered");
      assert.equal(deeper.thread, root.id, "a reply to a reply is in the root's thread");
      let page = await store.readMessages(ROOM, { limit: 10 });
      assert.deepEqual(page.messages.map((m) => m.replies), [2, undefined, undefined]);
      await store.changeMessage({
        kind: "delete",
        room: ROOM,
        target: one.id,
        memberId: one.memberId,
        id: draft("x").id,
      });
      page = await store.readMessages(ROOM, { limit: 10 });
      assert.equal(page.messages[0].replies, 1);
      assert.equal(
        await code(store.appendMessage({ ...draft("to a deleted one"), replyTo: one.id })),
        "not_found",
      );
      assert.equal(
        await code(store.appendMessage({ ...draft("to nothing"), replyTo: draft("y").id })),
        "not_found",
      );
      const other = await store.appendMessage(draft("elsewhere", "01J0000000000000000000ROOB"));
      assert.equal(
        await code(store.appendMessage({ ...draft("across rooms"), replyTo: other.id })),
        "not_found",
      );
      assert.equal((await store.head(ROOM)).seq, 4, "a refused reply stored nothing");
    }));

  withHandles(
    "replies: concurrent replies from two handles are all counted (the count moves with the append)",
    (clock) =>
      withStore(LOTS, clock, async ({ store, another }) => {
        const second = await another!();
        try {
          const draft = drafts(clock, 31);
          const root = await store.appendMessage(draft("root"));
          await Promise.all(
            Array.from({ length: 24 }, (_, i) =>
              (i % 2 ? second : store).appendMessage({ ...draft(`r${i}`), replyTo: root.id })),
          );
          const first = await second.readMessages(ROOM, { after: "0".repeat(26), limit: 1 });
          assert.equal(first.messages[0].replies, 24);
          assert.equal((await store.head(ROOM)).seq, 25);
        } finally {
          await second.close();
        }
      }),
  );

  test("read positions: absent until set, per member and room, never moved back", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      const ids = seededIds(clock, 44);
      const [a, b, c] = [ids(), ids(), ids()];
      const member = "01J0000000000000000MEMBRA";
      assert.equal(await store.readPosition(member, ROOM), undefined);
      assert.equal(await store.markRead(member, ROOM, b), b);
      assert.equal(await store.markRead(member, ROOM, a), b, "never back");
      assert.equal(await store.readPosition(member, ROOM), b);
      assert.equal(await store.readPosition(member, "01J0000000000000000000ROOB"), undefined);
      assert.equal(await store.readPosition("01J0000000000000000MEMBRB", ROOM), undefined);
      assert.equal(await store.markRead(member, ROOM, c), c);
      assert.equal(await store.readPosition(member, ROOM), c);
    }));

  withHandles(
    "read positions: two handles racing end at the highest",
    (clock) =>
      withStore(LOTS, clock, async ({ store, another }) => {
        const second = await another!();
        try {
          const ids = seededIds(clock, 45);
          const positions = Array.from({ length: 20 }, () => ids());
          const member = "01J0000000000000000MEMBRA";
          await Promise.all(
            [...positions].reverse().map((id, i) =>
              (i % 2 ? second : store).markRead(member, ROOM, id)
            ),
          );
          assert.equal(await second.readPosition(member, ROOM), positions[positions.length - 1]);
        } finally {
          await second.close();
        }
      }),
  );

  const OWNER = { memberId: "01J0000000000000000000OWNR", name: "olga" };
  const MOD = { memberId: "01J00000000000000000000MOD", name: "mo" };
  const ROOM_RECORD = { id: ROOM, name: "club", createdAt: 1, owner: OWNER.memberId };

  test("access: moderation actions change the room's access and append their event in one step; a refused one stores nothing", (clock) =>
    withStore(LOTS, clock, async ({ store }) => {
      const ids = seededIds(clock, 61);
      const draft = drafts(clock);
      await store.appendMessage(draft("before"));
      assert.deepEqual(await store.roomAccess(ROOM), {});
      const change = (action: AccessAction, actor: typeof OWNER, extra = {}) => ({
        action,
        room: ROOM_RECORD,
        actor,
        target: { memberId: "01J0000000000000000000ANNA", name: "ann" },
        id: ids(),
        ...extra,
      });
      assert.equal(await code(store.changeAccess(change("kick", MOD))), "forbidden");
      assert.equal((await store.head(ROOM)).seq, 1, "a refused action stored nothing");
      const role = await store.changeAccess({
        ...change("role", OWNER),
        target: MOD,
        role: "moderator",
      });
      assert.equal(role.event, "role");
      assert.equal(role.seq, 2);
      const banned = await store.changeAccess(change("ban", MOD, { until: clock.now + 60_000 }));
      assert.equal(banned.event, "banned");
      assert.equal(banned.seq, 3);
      await store.changeAccess(change("mute", MOD, { until: clock.now + 1000 }));
      await store.changeAccess(change("invite", MOD));
      const access = await store.roomAccess(ROOM);
      assert.deepEqual(access.roles, { [MOD.memberId]: "moderator" });
      assert.deepEqual(access.bans, { "01J0000000000000000000ANNA": clock.now + 60_000 });
      assert.deepEqual(access.mutes, { "01J0000000000000000000ANNA": clock.now + 1000 });
      assert.deepEqual(access.invited, ["01J0000000000000000000ANNA"]);
      await store.changeAccess(change("unban", MOD));
      assert.deepEqual((await store.roomAccess(ROOM)).bans, {});
      // The events are the room's log, in seq order, between its messages; history skips them.
      await store.appendMessage(draft("after"));
      const log = await store.readLog(ROOM, { after: "0".repeat(26), limit: 20 });
      assert.deepEqual(log.entries.map((e) => e.event), [
        "broadcast",
        "role",
        "banned",
        "muted",
        "invited",
        "unbanned",
        "broadcast",
      ]);
      const page = await store.readMessages(ROOM, { limit: 10 });
      assert.deepEqual(page.messages.map((m) => m.message), ["before", "after"]);
    }));

  withHandles(
    "access: moderation actions from two handles at once are all kept (checked at the room's head)",
    (clock) =>
      withStore(LOTS, clock, async ({ store, another }) => {
        const second = await another!();
        try {
          const ids = seededIds(clock, 62);
          const targets = Array.from(
            { length: 12 },
            (_, i) => ({
              memberId: `01J00000000000000000TARG${String(i).padStart(2, "0")}`,
              name: `t${i}`,
            }),
          );
          await Promise.all(targets.map((target, i) =>
            (i % 2 ? second : store).changeAccess({
              action: "invite",
              room: ROOM_RECORD,
              actor: OWNER,
              target,
              id: ids(),
            })
          ));
          const access = await second.roomAccess(ROOM);
          assert.deepEqual(
            [...(access.invited ?? [])].sort(),
            targets.map((t) => t.memberId).sort(),
          );
          assert.equal((await store.head(ROOM)).seq, 12);
        } finally {
          await second.close();
        }
      }),
  );
}
