/// <reference lib="dom" />
/**
 * The web client as a person uses it (third round): who you are, your unread counts and the room
 * you were in survive a reload; a send that fails keeps its text and says why in plain words;
 * what you type while the server is down is kept and delivered once; the room list is live;
 * tokens; and axe-core finds no accessibility violations.
 */
import assert from "node:assert/strict";
import { Client, startServer } from "../_helpers.ts";
import { launch } from "./_browser.ts";
import { bodies, connected, person, send, violations, withBrowser } from "./_page.ts";
import { issueToken } from "../../src/transport/tokens.ts";

Deno.test("web client: a reload keeps who you are (Edit on your own message), the room you were in and your unread counts", () =>
  withBrowser({}, async (browser, server) => {
    const ana = await person(browser, "ana");
    let page = await ana.open(`${server.http}/`);
    await connected(page);
    await send(page, "mine to edit later");
    await page.locator("#messages li.pending").waitFor({ state: "detached" });
    // A second room, where someone writes while ana reads the lobby.
    await page.getByLabel("Join or create a room").fill("side");
    await page.getByRole("button", { name: "Join", exact: true }).click();
    await page.locator("#room-title", { hasText: "side" }).waitFor();
    await page.locator("#joined-rooms button", { hasText: "lobby" }).click();
    await page.locator("#room-title", { hasText: "lobby" }).waitFor();
    const bob = await Client.connect(server.ws, { name: "bob", room: "side" });
    await bob.request({ command: "broadcast", message: "unread 1" });
    await bob.request({ command: "broadcast", message: "unread 2" });
    const sideBadge = page.locator("#joined-rooms button", { hasText: "side" })
      .locator(".badge");
    await sideBadge.filter({ hasText: "2" }).waitFor();
    const me = await page.locator("#whoami").textContent();

    await page.reload();
    await connected(page);
    assert.equal(
      await page.locator("#whoami").textContent(),
      me,
      "the same name",
    );
    await page.locator("#room-title", { hasText: "lobby" }).waitFor();
    await sideBadge.filter({ hasText: "2" }).waitFor();
    const mine = page.locator("#messages li", {
      hasText: "mine to edit later",
    });
    await mine.hover();
    await mine.getByRole("button", { name: "Edit" }).click();
    await page.getByLabel("Message", { exact: true }).fill(
      "mine, edited after a reload",
    );
    await page.keyboard.press("Enter");
    await bob.request({ command: "join", room: "lobby" });
    await page.locator("#messages li", { hasText: "edited after a reload" })
      .locator(".edited")
      .waitFor();
    // Opening the room: a "New messages" line above what was unread, and the count goes.
    await page.locator("#joined-rooms button", { hasText: "side" }).click();
    await page.locator("#messages .new-line").waitFor();
    assert.equal(await sideBadge.count(), 0);

    // A second tab of the same person is the same member, not ana-2.
    const second = await ana.open(`${server.http}/`);
    await connected(second);
    assert.equal(await second.locator("#whoami").textContent(), me);
    const names = await bob.request({ command: "list", room: "lobby" });
    assert.deepEqual((names.members as string[]).sort(), ["ana", "bob"]);
    page = second;
    assert.deepEqual(ana.errors, []);
    await bob.close();
    await ana.context.close();
  }));

Deno.test("web client: typed while the server is down, kept (with its key, in storage too) and delivered exactly once when it is back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-e2e-down-" });
  const options = { kvPath: `${dir}/chat.kv` };
  let server = await startServer(options);
  const port = server.port;
  const browser = await launch();
  try {
    const ana = await person(browser, "ana");
    const page = await ana.open(`${server.http}/`);
    await connected(page);
    // In the room, not only connected: a server gone before the first `joined` leaves nowhere to
    // type into, and the line would wait for that join instead of being kept.
    await page.locator("#room-title", { hasText: "lobby" }).waitFor();
    await server.close();
    await page.locator("#status", { hasText: "Offline" }).waitFor();
    await send(page, "typed while the server was down");
    const line = page.locator("#messages li.pending", {
      hasText: "typed while the server",
    });
    await line.locator(".sending", {
      hasText: "You're offline — will send when reconnected",
    })
      .waitFor();
    // Kept beyond the page's memory: with its key, for a reload to send it (once) too.
    const kept = await page.evaluate(() => localStorage.getItem("chat.outbox"));
    assert.match(String(kept), /typed while the server was down/);
    server = await startServer(options, port);
    await connected(page);
    await line.waitFor({ state: "detached" });
    await page.locator("#messages .msg-body", {
      hasText: "typed while the server",
    }).waitFor();
    const stored = await (await fetch(`${server.http}/rooms/lobby/messages`))
      .json();
    const copies = stored.messages.filter((m: { message: string }) =>
      m.message === "typed while the server was down"
    );
    assert.equal(copies.length, 1, "stored exactly once");
    assert.deepEqual(
      (await bodies(page)).filter((t) => t.startsWith("typed while")),
      ["typed while the server was down"],
      "shown once",
    );
    await ana.context.close();
  } finally {
    await browser.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("web client: a refused send keeps its text; Edit puts it back, Discard removes it; the room list is pushed", () =>
  withBrowser(
    { ratePerSecond: 0.01, rateBurst: 1 },
    async (browser, server) => {
      const ana = await person(browser, "ana");
      const page = await ana.open(`${server.http}/`);
      await connected(page);
      await send(page, "first");
      await send(page, "second, over the rate");
      const failed = page.locator("#messages li.failed", {
        hasText: "second, over the rate",
      });
      await failed.locator(".failure", {
        hasText: /Slow down — sending in \d+ s/,
      }).waitFor();
      await failed.getByRole("button", { name: "Edit" }).click();
      assert.equal(
        await page.getByLabel("Message", { exact: true }).inputValue(),
        "second, over the rate",
      );
      assert.equal(await failed.count(), 0);
      await send(page, "third, over the rate too");
      const third = page.locator("#messages li.failed", { hasText: "third" });
      await third.getByRole("button", { name: "Discard" }).click();
      await third.waitFor({ state: "detached" });
      // Someone makes a room elsewhere: it appears in "All rooms" with its count, unpolled.
      const bob = await Client.connect(server.ws, {
        name: "bob",
        room: "brand-new",
      });
      await page.locator("#all-rooms button", { hasText: "brand-new" })
        .locator(".count", { hasText: "1 online" }).waitFor({ timeout: 4000 });
      await bob.close();
      await page.locator("#all-rooms button", { hasText: "brand-new" })
        .locator(".count", { hasText: "0 online" }).waitFor({ timeout: 4000 });
      assert.deepEqual(ana.errors, []);
      await ana.context.close();
    },
  ));

Deno.test("web client: messages grouped with avatars and a day separator, an empty-room hint, jump to latest, and the room menu by keyboard", () =>
  withBrowser(
    { ratePerSecond: 1e6, rateBurst: 1e6 },
    async (browser, server) => {
      const ana = await person(browser, "ana", { width: 1000, height: 500 });
      const page = await ana.open(`${server.http}/`);
      await connected(page);
      await page.locator("#messages .empty", {
        hasText: "No messages in lobby yet",
      }).waitFor();
      const bob = await Client.connect(server.ws, { name: "bob" });
      for (let i = 0; i < 40; i++) {
        await bob.request({ command: "broadcast", message: `line ${i}` });
      }
      await page.locator("#messages .msg-body", { hasText: "line 39" })
        .waitFor();
      assert.equal(await page.locator("#messages .empty").count(), 0);
      assert.equal(
        await page.locator("#messages .day", { hasText: "Today" }).count(),
        1,
      );
      // One author in a row: one name and avatar for the group.
      assert.equal(await page.locator("#messages .avatar").count(), 1);
      // Scrolled up, a button brings the newest back; our own send scrolls into view.
      await page.locator("#messages").evaluate((el) => el.scrollTop = 0);
      await page.getByRole("button", { name: "Jump to latest" }).click();
      await page.getByRole("button", { name: "Jump to latest" }).waitFor({
        state: "hidden",
      });
      await page.locator("#messages").evaluate((el) => el.scrollTop = 0);
      await send(page, "my own line");
      await page.locator("#messages li.mine", { hasText: "my own line" })
        .waitFor();
      await page.locator("#messages li.mine", { hasText: "my own line" })
        .isVisible();
      const atBottom = await page.locator("#messages").evaluate((el) =>
        el.scrollHeight - el.scrollTop - el.clientHeight < 40
      );
      assert.ok(atBottom, "our own send is in view");
      // Keyboard: the room menu opens, Escape closes it and focus returns to its button.
      await page.getByRole("button", { name: "Options" }).focus();
      await page.keyboard.press("Enter");
      await page.getByRole("button", { name: "Leave room" }).waitFor();
      assert.equal(await page.locator("#room-menu button:focus").count(), 1);
      await page.keyboard.press("Escape");
      await page.locator("#room-menu").waitFor({ state: "hidden" });
      assert.equal(await page.locator("#room-menu-button:focus").count(), 1);
      // A message's actions are reachable by Tab (they show when focused).
      const last = page.locator("#messages li.message").last();
      await last.getByRole("button", { name: "React", exact: true }).focus();
      assert.ok(
        await last.locator(".actions").evaluate((el) => getComputedStyle(el).opacity === "1"),
      );
      assert.deepEqual(ana.errors, []);
      await bob.close();
      await ana.context.close();
    },
  ));

Deno.test("web client: axe-core finds no violations on the sign-in and chat screens, desktop and phone", () =>
  withBrowser({}, async (browser, server) => {
    for (
      const viewport of [{ width: 1280, height: 800 }, {
        width: 390,
        height: 780,
      }]
    ) {
      const newcomer = await person(browser, undefined, viewport, true);
      const login = await newcomer.open(`${server.http}/`);
      await login.getByLabel("Display name").waitFor();
      assert.deepEqual(
        await violations(login),
        [],
        `sign-in at ${viewport.width}px`,
      );
      await login.getByLabel("Display name").fill(`axe${viewport.width}`);
      await login.keyboard.press("Enter");
      await connected(login);
      const bob = await Client.connect(server.ws, {
        name: `bob${viewport.width}`,
      });
      await bob.request({
        command: "broadcast",
        message: `a message to check at ${viewport.width}px`,
      });
      await login.locator("#messages .msg-body", {
        hasText: `a message to check at ${viewport.width}px`,
      }).waitFor();
      await send(login, "and one of mine");
      await login.locator("#messages li.pending").waitFor({
        state: "detached",
      });
      assert.deepEqual(
        await violations(login),
        [],
        `chat at ${viewport.width}px`,
      );
      await bob.close();
      await newcomer.context.close();
    }
  }));

Deno.test("web client with tokens: a token handed over in the address signs in (and leaves the address); without one, the sign-in form asks for a token", () =>
  withBrowser({ jwtSecret: "e2e-secret" }, async (browser, server) => {
    // Handed over: #token=... is used, then taken out of the address.
    const handed = await issueToken("e2e-secret", "tokenized", {
      ttlSeconds: 600,
    });
    const one = await person(browser);
    const page = await one.open(`${server.http}/#token=${handed}`);
    await connected(page);
    assert.equal(
      await page.locator("#whoami").textContent(),
      "You are tokenized",
    );
    assert.equal(new URL(page.url()).hash, "");
    await one.context.close();
    // Without a token: the sign-in form asks for one.
    const two = await person(browser);
    const asked = await two.open(`${server.http}/`);
    await asked.getByLabel("Sign-in token").waitFor();
    await two.context.close();
  }));

Deno.test("web client with a token endpoint (CHAT_WEB_TOKEN_URL): 2-second tokens are refreshed in place, the page stays connected", () =>
  withBrowser(
    { jwtSecret: "e2e-secret", webTokenUrl: "/app/chat-token" },
    async (browser, server) => {
      const three = await person(browser);
      let served = 0;
      await three.context.route("**/app/chat-token", async (route) => {
        served++;
        await route.fulfill({
          json: {
            token: await issueToken("e2e-secret", "refreshed", {
              ttlSeconds: 2,
            }),
          },
        });
      });
      // Every status the page shows, from the start.
      await three.context.addInitScript(() => {
        const seen: string[] = [];
        (globalThis as unknown as { statuses: string[] }).statuses = seen;
        addEventListener("DOMContentLoaded", () => {
          const status = document.getElementById("status")!;
          new MutationObserver(() => seen.push(status.textContent ?? ""))
            .observe(status, {
              childList: true,
              characterData: true,
              subtree: true,
            });
        });
      });
      const page = await three.open(`${server.http}/`);
      await connected(page);
      // Past two expiries of the first token's lifetime.
      await page.waitForTimeout(4500);
      assert.ok(served >= 3, `tokens served: ${served}`);
      await send(page, "still here");
      await page.locator("#messages li.message", { hasText: "still here" })
        .waitFor();
      await page.locator("#messages li.pending").waitFor({ state: "detached" });
      const statuses = await page.evaluate(() =>
        (globalThis as unknown as { statuses: string[] }).statuses
      );
      const since = statuses.slice(statuses.indexOf("Connected"));
      assert.deepEqual(
        [...new Set(since)],
        ["Connected"],
        `no reconnection: ${statuses}`,
      );
      assert.deepEqual(three.errors, []);
      await three.context.close();
    },
  ));

Deno.test("web client on a touch screen: a tap on a message shows its actions (there is no hover), a second tap hides them", () =>
  withBrowser({}, async (browser, server) => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 780 },
      hasTouch: true,
      isMobile: true,
    });
    await context.addInitScript(() => localStorage.setItem("chat.name", "thumb"));
    const page = await context.newPage();
    await page.goto(`${server.http}/`);
    await connected(page);
    await send(page, "tap me");
    const line = page.locator("#messages li.message", { hasText: "tap me" });
    await page.locator("#messages li.pending").waitFor({ state: "detached" });
    const shown = () =>
      line.locator(".actions").evaluate((el) => getComputedStyle(el).opacity === "1");
    assert.equal(await shown(), false, "hidden until asked for");
    await line.locator(".msg-body").tap();
    assert.equal(await shown(), true);
    await line.getByRole("button", { name: "React", exact: true }).tap();
    await line.getByRole("button", { name: "React with 👍" }).tap();
    await line.locator(".chip", { hasText: "👍 1" }).waitFor();
    await line.locator(".msg-body").tap();
    assert.equal(await shown(), false);
    await context.close();
  }));
