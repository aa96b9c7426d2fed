/// <reference lib="dom" />
/**
 * Conversations in the web client: replying (the quote above, a click jumps to the answered
 * message), the thread panel (live replies, answering in it), `@` completion and mention
 * highlights with a per-room mention badge, unread counts from the server's read state (a second
 * tab of the same person clears them), and search results that jump to the message in context.
 */
import assert from "node:assert/strict";
import { Client } from "../_helpers.ts";
import { connected, person, send, violations, withBrowser } from "./_page.ts";

const FAST = { ratePerSecond: 1000, rateBurst: 1000 };

Deno.test("web client: reply with a quote that jumps, the thread panel with live replies and a reply from it", () =>
  withBrowser(FAST, async (browser, server) => {
    const ana = await person(browser, "ana");
    const page = await ana.open(`${server.http}/`);
    await connected(page);
    const bob = await Client.connect(server.ws, { name: "bob", room: "lobby" });
    const root = await bob.request({ command: "broadcast", message: "Pizza on Friday?" });
    for (let i = 0; i < 60; i++) {
      await bob.request({ command: "broadcast", message: `filler ${i}` });
    }
    const question = page.locator("#messages li.message", { hasText: "filler 59" });
    await question.waitFor();
    await question.hover();
    await question.getByRole("button", { name: "Reply" }).click();
    await page.locator("#replying", { hasText: "Replying to bob: filler 59" }).waitFor();
    await send(page, "yes please");
    const reply = page.locator("#messages li.message", { hasText: "yes please" });
    await reply.locator("button.quote", { hasText: "bob: filler 59" }).waitFor();
    await page.locator("#messages li.pending").waitFor({ state: "detached" });
    assert.equal(await page.locator("#replying").isHidden(), true);

    // A reply by someone else to a message far above: its quote brings that one into view.
    await bob.request({ command: "broadcast", message: "who's in?", replyTo: root.id });
    const far = page.locator("#messages li.message", { hasText: "who's in?" });
    await far.locator("button.quote").click();
    const target = page.locator("#messages li.message.flash", { hasText: "Pizza on Friday?" });
    await target.waitFor();
    assert.equal(await target.isVisible(), true);

    // The first message shows its reply count; the thread opens beside the conversation.
    const rootLine = page.locator("#messages li.message", { hasText: "Pizza on Friday?" });
    await rootLine.getByRole("button", { name: "1 reply" }).click();
    const panel = page.locator("#side-panel");
    await panel.locator(".side-message", { hasText: "who's in?" }).waitFor();
    await bob.request({ command: "broadcast", message: "me, live", replyTo: root.id });
    await panel.locator(".side-message", { hasText: "me, live" }).waitFor();
    await rootLine.getByRole("button", { name: "2 replies" }).waitFor();
    await page.getByLabel("Reply in the thread").fill("count me in too");
    await page.keyboard.press("Enter");
    await panel.locator(".side-message", { hasText: "count me in too" }).waitFor();
    const thread = await (await fetch(
      `${server.http}/rooms/lobby/messages?thread=${root.id}`,
    )).json();
    assert.deepEqual(
      thread.messages.map((m: { message: string }) => m.message),
      ["who's in?", "me, live", "count me in too"],
    );
    await page.getByRole("button", { name: "Close" }).and(page.locator("#side-close")).click();
    assert.equal(await panel.isHidden(), true);
    assert.deepEqual(ana.errors, []);
    await bob.close();
    await ana.context.close();
  }));

Deno.test("web client: @ completes members' names, mentions are highlighted, and a room where you were named shows a mention badge", () =>
  withBrowser(FAST, async (browser, server) => {
    const ana = await person(browser, "ana");
    const page = await ana.open(`${server.http}/`);
    await connected(page);
    const zoe = await Client.connect(server.ws, { name: "Zoe Quinn", room: "lobby" });
    await page.locator("#members", { hasText: "Zoe Quinn" }).waitFor();
    const input = page.getByLabel("Message", { exact: true });
    await input.fill("");
    await input.pressSequentially("hi @zo");
    const option = page.getByRole("option", { name: "@Zoe Quinn" });
    await option.waitFor();
    await page.keyboard.press("Enter");
    assert.equal(await input.inputValue(), "hi @Zoe Quinn ");
    await input.pressSequentially("welcome");
    await page.keyboard.press("Enter");
    const sent = page.locator("#messages li.message", { hasText: "welcome" });
    await sent.locator(".mention", { hasText: "@Zoe Quinn" }).waitFor();
    const stored = await zoe.next((e) => e.event === "broadcast" && e.member === "ana");
    assert.deepEqual(stored.mentions, [zoe.me.id]);

    // Named in a room not in view: a mention badge on that room, a highlight in it.
    await page.getByLabel("Join or create a room").fill("side");
    await page.getByRole("button", { name: "Join", exact: true }).click();
    await page.locator("#room-title", { hasText: "side" }).waitFor();
    await page.locator("#joined-rooms button", { hasText: "lobby" }).click();
    await page.locator("#room-title", { hasText: "lobby" }).waitFor();
    await zoe.request({ command: "join", room: "side" });
    await zoe.request({ command: "broadcast", room: "side", message: "not for you" });
    await zoe.request({ command: "broadcast", room: "side", message: "@ana look at this" });
    const side = page.locator("#joined-rooms button", { hasText: "side" });
    await side.locator(".badge.mention", { hasText: "@1" }).waitFor();
    await side.locator(".badge", { hasText: "2" }).waitFor();
    await side.click();
    await page.locator("#messages li.message.mentioned", { hasText: "look at this" }).waitFor();
    assert.equal(await side.locator(".badge").count(), 0);
    assert.deepEqual(ana.errors, []);
    await zoe.close();
    await ana.context.close();
  }));

Deno.test("web client: unread counts come from the server's read state, and reading in one tab clears them in the other", () =>
  withBrowser(FAST, async (browser, server) => {
    const ana = await person(browser, "ana");
    const first = await ana.open(`${server.http}/`);
    await connected(first);
    await first.getByLabel("Join or create a room").fill("news");
    await first.getByRole("button", { name: "Join", exact: true }).click();
    await first.locator("#room-title", { hasText: "news" }).waitFor();
    await first.locator("#joined-rooms button", { hasText: "lobby" }).click();
    await first.locator("#room-title", { hasText: "lobby" }).waitFor();
    const bob = await Client.connect(server.ws, { name: "bob", room: "news" });
    for (let i = 1; i <= 3; i++) await bob.request({ command: "broadcast", message: `news ${i}` });
    const badge = (page: typeof first) =>
      page.locator("#joined-rooms button", { hasText: "news" }).locator(".badge");
    await badge(first).filter({ hasText: "3" }).waitFor();
    // A second tab of the same person: the server says 3 unread there too.
    const second = await ana.open(`${server.http}/`);
    await connected(second);
    await badge(second).filter({ hasText: "3" }).waitFor();
    // Reading them in the second tab clears the first tab's count.
    await second.locator("#joined-rooms button", { hasText: "news" }).click();
    await second.locator("#messages li.message", { hasText: "news 3" }).waitFor();
    await badge(first).waitFor({ state: "detached" });
    await bob.request({ command: "broadcast", message: "news 4" });
    await badge(first).filter({ hasText: "1" }).waitFor();
    assert.deepEqual(ana.errors, []);
    await bob.close();
    await ana.context.close();
  }));

Deno.test("web client: search finds messages case-insensitively and a result jumps to the message in context; axe finds no violations with the panel open", () =>
  withBrowser(FAST, async (browser, server) => {
    const ana = await person(browser, "ana", { width: 1200, height: 800 }, true);
    const page = await ana.open(`${server.http}/`);
    await connected(page);
    const bob = await Client.connect(server.ws, { name: "bob", room: "lobby" });
    await bob.request({ command: "broadcast", message: "The Quarterly REPORT is due" });
    for (let i = 0; i < 80; i++) {
      await bob.request({ command: "broadcast", message: `chatter ${i}` });
    }
    await bob.request({ command: "broadcast", message: "report sent, thanks" });
    await page.locator("#messages li.message", { hasText: "report sent" }).waitFor();
    await page.getByLabel("Search this room").fill("report");
    await page.keyboard.press("Enter");
    const results = page.locator("#side-list button.result");
    await results.nth(1).waitFor();
    assert.deepEqual(
      (await results.allTextContents()).map((t) => t.includes("Quarterly")),
      [false, true],
      "newest first",
    );
    assert.deepEqual(await violations(page), [], "with the search panel open");
    await results.filter({ hasText: "Quarterly" }).click();
    const found = page.locator("#messages li.message.flash", { hasText: "Quarterly REPORT" });
    await found.waitFor();
    assert.equal(await found.isVisible(), true);
    await page.getByLabel("Search this room").fill("nothing like this");
    await page.keyboard.press("Enter");
    await page.locator("#side-status", { hasText: "Nothing matches." }).waitFor();
    assert.deepEqual(ana.errors, []);
    await bob.close();
    await ana.context.close();
  }));
