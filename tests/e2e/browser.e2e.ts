import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launch } from "./_browser.ts";
import { Client, type Json, startServer, type TestServer } from "../_helpers.ts";

/** Opens the client as `name` (the name is remembered by the page, as a returning user). */
async function openAs(
  browser: Browser,
  server: TestServer,
  name: string,
  width = 1200,
  setup?: (page: Page) => Promise<void>,
) {
  const context = await browser.newContext({
    viewport: { width, height: 800 },
  });
  await context.addInitScript(
    (n: string) => localStorage.setItem("chat.name", n),
    name,
  );
  const page = await context.newPage();
  await setup?.(page);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await page.goto(`${server.http}/`);
  await page.getByRole("status").filter({ hasText: "Connected" }).waitFor();
  return { page, errors, close: () => context.close() };
}

/**
 * A server and a browser with two pages, ana and ben, both connected; after `body`, neither page
 * may have logged an error. Everything is closed whatever happens.
 */
async function withTwoPages(
  body: (
    pages: { ana: Opened; ben: Opened; server: TestServer },
  ) => Promise<void>,
): Promise<void> {
  const server = await startServer();
  const browser = await launch();
  try {
    const ana = await openAs(browser, server, "ana");
    const ben = await openAs(browser, server, "ben");
    await body({ ana, ben, server });
    assert.deepEqual([...ana.errors, ...ben.errors], []);
    await ana.close();
    await ben.close();
  } finally {
    await browser.close();
    await server.close();
  }
}

type Opened = Awaited<ReturnType<typeof openAs>>;

async function send(page: Page, text: string): Promise<void> {
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.keyboard.press("Enter");
}

async function texts(page: Page): Promise<string[]> {
  return await page.locator("#messages .msg-body").allTextContents();
}

Deno.test("browser: two pages chat both ways and see each other's presence", async () => {
  const server = await startServer();
  const browser = await launch();
  try {
    const ana = await openAs(browser, server, "ana");
    const ben = await openAs(browser, server, "ben");
    await ana.page.locator("#members li", { hasText: "ben" }).waitFor();
    await ben.page.locator("#members li", { hasText: "ana" }).waitFor();
    await send(ana.page, "hello ben");
    await ben.page.locator("#messages .msg-body", { hasText: "hello ben" })
      .waitFor();
    // Keyboard only: Shift+Enter makes a new line, Enter sends.
    const box = ben.page.getByLabel("Message", { exact: true });
    await box.focus();
    await ben.page.keyboard.type("hi ana");
    await ben.page.keyboard.press("Shift+Enter");
    await ben.page.keyboard.type("second line");
    await ben.page.keyboard.press("Enter");
    await ana.page.locator("#messages .msg-body", { hasText: "second line" })
      .waitFor();
    assert.deepEqual(await texts(ana.page), [
      "hello ben",
      "hi ana\nsecond line",
    ]);
    // The acknowledged message is no longer pending.
    await ana.page.locator("#messages li.pending").waitFor({
      state: "detached",
    });
    await ben.close();
    await ana.page.locator("#messages .notice", { hasText: "ben left" })
      .waitFor();
    assert.deepEqual(await ana.page.locator("#members li").allTextContents(), [
      "ana (you)",
    ]);
    assert.deepEqual(ana.errors, []);
    await ana.close();
  } finally {
    await browser.close();
    await server.close();
  }
});

Deno.test("browser: rooms with unread counts, leaving a room, and history loads when scrolling up", async () => {
  const server = await startServer({ ratePerSecond: 1e6, rateBurst: 1e6 });
  const writer = await Client.connect(server.ws, {
    name: "writer",
    room: "archive",
  });
  const browser = await launch();
  try {
    for (let i = 0; i < 120; i++) {
      await writer.request({ command: "broadcast", message: `old ${i}` });
    }
    const reader = await openAs(browser, server, "reader");
    await reader.page.getByLabel("Join or create a room").fill("archive");
    await reader.page.getByRole("button", { name: "Join", exact: true })
      .click();
    await reader.page.locator("#joined-rooms button[aria-current=true]", {
      hasText: "archive",
    })
      .waitFor();
    await reader.page.locator("#messages .msg-body", { hasText: "old 119" })
      .waitFor();
    assert.equal(
      (await texts(reader.page)).length,
      50,
      "one page of history at first",
    );
    // Each scroll to the top loads one more page above: 50, 100, then the last 20.
    for (const expected of [100, 120]) {
      await reader.page.locator("#messages").evaluate((el) => el.scrollTop = 0);
      await reader.page.locator("#messages .msg-body").nth(expected - 1)
        .waitFor();
    }
    const all = await texts(reader.page);
    assert.deepEqual(all, Array.from({ length: 120 }, (_, i) => `old ${i}`));
    // Messages to a room not in view count as unread.
    await reader.page.locator("#joined-rooms button", { hasText: "lobby" })
      .click();
    await writer.request({ command: "broadcast", message: "while away" });
    await reader.page.locator("#joined-rooms button", { hasText: "archive" })
      .locator(".badge", { hasText: "1" }).waitFor();
    // Opening the room clears its count; leaving takes it off the list and out of its members.
    await reader.page.locator("#joined-rooms button", { hasText: "archive" })
      .click();
    await reader.page.locator("#joined-rooms .badge").waitFor({
      state: "detached",
    });
    // Leaving is in the room's menu, not a button beside every title.
    await reader.page.getByRole("button", { name: "Options" }).click();
    await reader.page.getByRole("button", { name: "Leave room" }).click();
    await reader.page.locator("#joined-rooms button", { hasText: "archive" })
      .waitFor({ state: "detached" });
    await writer.next((e) => e.event === "leave" && e.member === "reader");
    await reader.close();
  } finally {
    await writer.close();
    await browser.close();
    await server.close();
  }
});

Deno.test("browser: a stopped and restarted server is resumed with no gap and no duplicate", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-e2e-" });
  const options = {
    kvPath: `${dir}/chat.kv`,
    ratePerSecond: 1e6,
    rateBurst: 1e6,
  };
  let server = await startServer(options);
  const port = server.port;
  const browser = await launch();
  try {
    const ana = await openAs(browser, server, "ana");
    await send(ana.page, "before 1");
    await send(ana.page, "before 2");
    await ana.page.locator("#messages .msg-body", { hasText: "before 2" })
      .waitFor();
    await ana.page.locator("#messages li.pending").waitFor({
      state: "detached",
    });
    await server.close();
    await ana.page.getByRole("status").filter({ hasText: "Offline" }).waitFor();
    server = await startServer(options, port);
    // Others talk before the page is back.
    const bob = await Client.connect(server.ws, { name: "bob" });
    for (const text of ["while down 1", "while down 2"]) {
      await bob.request({ command: "broadcast", message: text });
    }
    await ana.page.getByRole("status").filter({ hasText: "Connected" }).waitFor(
      {
        timeout: 20_000,
      },
    );
    await ana.page.locator("#messages .msg-body", { hasText: "while down 2" })
      .waitFor();
    await bob.request({ command: "broadcast", message: "after" });
    await ana.page.locator("#messages .msg-body", { hasText: "after" })
      .waitFor();
    assert.deepEqual(await texts(ana.page), [
      "before 1",
      "before 2",
      "while down 1",
      "while down 2",
      "after",
    ]);
    await bob.close();
    await ana.close();
  } finally {
    await browser.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("browser: a message lost on the way (seq jumps) makes the room reload its history", async () => {
  const server = await startServer();
  const writer = await Client.connect(server.ws, { name: "writer" });
  const browser = await launch();
  try {
    let dropped = false;
    let historyLoaded!: () => void;
    const firstHistory = new Promise<void>((resolve) => historyLoaded = resolve);
    // Between the server and the page, lose the one frame that carries "lost on the way".
    const reader = await openAs(
      browser,
      server,
      "reader",
      1200,
      (page) =>
        page.routeWebSocket(/\/ws/, (ws) => {
          const upstream = ws.connectToServer();
          upstream.onMessage((frame) => {
            if (!dropped && String(frame).includes("lost on the way")) {
              dropped = true;
              return;
            }
            ws.send(frame);
            if (String(frame).includes('"event":"history"')) historyLoaded();
          });
          ws.onMessage((frame) => upstream.send(frame));
        }),
    );
    await writer.next((e) => e.event === "join" && e.member === "reader");
    // The page loads the room's history when it joins: had that answer come after the lost
    // message was stored, it would have brought it (correctly), and there would be no gap to see.
    await firstHistory;
    for (const text of ["one", "lost on the way", "three"]) {
      await writer.request({ command: "broadcast", message: text });
    }
    await reader.page.locator(".notice", { hasText: "did not arrive" })
      .waitFor();
    await reader.page.locator("#messages .msg-body", { hasText: "three" })
      .waitFor();
    assert.ok(dropped, "the frame was really dropped");
    assert.deepEqual(await texts(reader.page), [
      "one",
      "lost on the way",
      "three",
    ]);
    assert.deepEqual(reader.errors, []);
    await reader.close();
  } finally {
    await writer.close();
    await browser.close();
    await server.close();
  }
});

Deno.test("browser: a notice from the server shows in the page, as text", async () => {
  const server = await startServer();
  const browser = await launch();
  try {
    const ann = await openAs(browser, server, "ann");
    // A notice shows in the room in view: wait until there is one.
    await ann.page.locator("#room-title", { hasText: "lobby" }).waitFor();
    await server.chat.notify("everyone", "maintenance at <b>noon</b>");
    await ann.page.locator("#messages .notice", {
      hasText: "Server: maintenance at <b>noon</b>",
    })
      .waitFor();
    assert.equal(
      await ann.page.locator("#messages .notice b").count(),
      0,
      "no markup ran",
    );
    assert.deepEqual(ann.errors, []);
    await ann.close();
  } finally {
    await browser.close();
    await server.close();
  }
});

Deno.test("browser: markup in a message is shown as text and runs nothing", async () => {
  const server = await startServer();
  const browser = await launch();
  try {
    const ana = await openAs(browser, server, "ana");
    const ben = await openAs(browser, server, "<b>ben</b>");
    const attack = `<img src=x onerror="window.__pwned = 1">`;
    await send(ana.page, attack);
    const body = ben.page.locator("#messages .msg-body", { hasText: "<img" });
    await body.waitFor();
    assert.equal(await body.textContent(), attack);
    assert.equal(await ben.page.locator("#messages img").count(), 0);
    assert.equal(
      await ben.page.evaluate(() => (globalThis as Json).__pwned),
      undefined,
    );
    assert.equal(
      await ana.page.locator("#members li", { hasText: "<b>ben</b>" }).count(),
      1,
    );
    assert.equal(await ana.page.locator("#members b").count(), 0);
    await ana.close();
    await ben.close();
  } finally {
    await browser.close();
    await server.close();
  }
});

Deno.test("browser: a refused message shows why", async () => {
  const server = await startServer({
    maxMessageLength: 20,
    ratePerSecond: 0.01,
    rateBurst: 2,
  });
  const browser = await launch();
  try {
    const ana = await openAs(browser, server, "ana");
    // Too long: said in plain words at once, and what was typed stays in the composer.
    const tooLong = "this message is far too long to be accepted";
    await send(ana.page, tooLong);
    await ana.page.locator("#composer-error", {
      hasText: `Too long: ${tooLong.length} of 20 characters`,
    })
      .waitFor();
    assert.equal(
      await ana.page.getByLabel("Message", { exact: true }).inputValue(),
      tooLong,
    );
    assert.equal(
      await ana.page.locator("#messages li.message").count(),
      0,
      "nothing sent",
    );
    await send(ana.page, "one");
    await send(ana.page, "two");
    await send(ana.page, "three");
    // Over the rate: the line keeps its text and says when it will go (by itself, once).
    const slowed = ana.page.locator("#messages li.failed", {
      hasText: "three",
    });
    await slowed.locator(".failure", {
      hasText: /Slow down — sending in \d+ s/,
    }).waitFor();
    await ana.close();
  } finally {
    await browser.close();
    await server.close();
  }
});

Deno.test("browser: at phone width there is no horizontal scroll; the main view screenshot", async () => {
  const server = await startServer();
  const browser = await launch();
  try {
    const phone = await openAs(
      browser,
      server,
      "phone-user-with-a-long-name",
      360,
    );
    await send(phone.page, "a-very-long-word-".repeat(20));
    await phone.page.locator("#messages .msg-body").waitFor();
    const overflow = await phone.page.locator("html").evaluate((root) =>
      root.scrollWidth - root.clientWidth
    );
    assert.equal(overflow, 0);
    await phone.close();

    const ana = await openAs(browser, server, "ana");
    const ben = await openAs(browser, server, "ben");
    await ben.page.getByLabel("Join or create a room").fill("design");
    await ben.page.getByRole("button", { name: "Join", exact: true }).click();
    await ben.page.locator("#joined-rooms button[aria-current=true]", {
      hasText: "design",
    })
      .waitFor();
    await ben.page.locator("#joined-rooms button", { hasText: "lobby" })
      .click();
    await send(ana.page, "Morning! Did the deploy go out?");
    await send(
      ben.page,
      "Yes, 10 minutes ago. KV kept every message across the restart.",
    );
    await send(ana.page, "Lovely.\nI'll tell the others.");
    await ana.page.locator("#messages .msg-body", { hasText: "KV kept" })
      .waitFor();
    await ana.page.locator("#messages li.pending").waitFor({
      state: "detached",
    });
    // A reaction and an edit, as the picture shows them.
    const morning = ben.page.locator("#messages li", { hasText: "Morning!" });
    await morning.hover();
    await morning.getByRole("button", { name: "React", exact: true }).click();
    await morning.getByRole("button", { name: "React with 🎉" }).click();
    await ana.page.locator("#messages .chip", { hasText: "🎉 1" }).waitFor();
    const lovely = ana.page.locator("#messages li", { hasText: "Lovely." });
    await lovely.hover();
    await lovely.getByRole("button", { name: "Edit" }).click();
    await ana.page.getByLabel("Message", { exact: true }).fill(
      "Lovely.\nI'll tell the team.",
    );
    await ana.page.keyboard.press("Enter");
    await ana.page.locator("#messages li", { hasText: "the team" }).locator(
      ".edited",
    ).waitFor();
    // A reply that names ana: the quote above it, the mention, the count on the first message.
    const question = ben.page.locator("#messages li", { hasText: "Morning!" });
    await question.hover();
    await question.getByRole("button", { name: "Reply" }).click();
    await send(ben.page, "@ana and the thread view works too");
    await ana.page.locator("#messages li.mentioned", { hasText: "thread view" })
      .locator("button.quote").waitFor();
    await ana.page.locator("#messages li", { hasText: "Morning!" })
      .getByRole("button", { name: "1 reply" }).waitFor();
    // The room list (refreshed every 5 s) shows both rooms with their counts.
    await ana.page.locator("#all-rooms button", { hasText: "design" }).waitFor({
      timeout: 10_000,
    });
    await ana.page.locator("#all-rooms button", { hasText: "lobby" })
      .locator(".count", { hasText: "2 online" }).waitFor({ timeout: 10_000 });
    // The README's picture is rewritten only when asked (CHAT_SCREENSHOTS=1), so that a test run
    // leaves the tree as it found it.
    const picture = await ana.page.screenshot();
    assert.ok(picture.byteLength > 10_000, "the page rendered");
    // The same view in the dark.
    await ana.page.emulateMedia({ colorScheme: "dark" });
    const dark = await ana.page.screenshot();
    if (Deno.env.get("CHAT_SCREENSHOTS") === "1") {
      await Deno.writeFile(
        new URL("../../docs/screenshot.png", import.meta.url),
        picture,
      );
      await Deno.writeFile(new URL("../../docs/screenshot-dark.png", import.meta.url), dark);
    }
    await ana.close();
    await ben.close();
  } finally {
    await browser.close();
    await server.close();
  }
});

Deno.test("browser: a direct message started from the member list, with unread counts, both ways", () =>
  withTwoPages(async ({ ana, ben }) => {
    await ana.page.getByRole("button", { name: "Message ben directly" })
      .click();
    await ana.page.locator("#room-title", { hasText: "@ben" }).waitFor();
    await send(ana.page, "just between us");
    await ana.page.locator("#messages li.pending").waitFor({
      state: "detached",
    });
    // Ben is in the lobby: the conversation appears with an unread count.
    const dm = ben.page.locator("#direct-list button", { hasText: "@ana" });
    await dm.locator(".badge", { hasText: "1" }).waitFor();
    assert.deepEqual(
      await texts(ben.page),
      [],
      "the lobby shows nothing of it",
    );
    await dm.click();
    await ben.page.locator("#messages .msg-body", {
      hasText: "just between us",
    }).waitFor();
    await ben.page.locator("#direct-list .badge").waitFor({
      state: "detached",
    });
    await send(ben.page, "deal");
    await ana.page.locator("#messages .msg-body", { hasText: "deal" })
      .waitFor();
    assert.deepEqual(await texts(ana.page), ["just between us", "deal"]);
  }));

Deno.test("browser: typing shows to the others; one's own messages can be edited and deleted, others' cannot", () =>
  withTwoPages(async ({ ana, ben }) => {
    await ana.page.locator("#members li", { hasText: "ben" }).waitFor();
    await ana.page.getByLabel("Message", { exact: true }).pressSequentially(
      "hel",
    );
    await ben.page.locator("#typing", { hasText: "ana is typing…" }).waitFor();
    await ana.page.keyboard.press("Enter");
    const mine = ana.page.locator("#messages li", { hasText: "hel" });
    await ana.page.locator("#messages li.pending").waitFor({
      state: "detached",
    });
    await ben.page.locator("#messages .msg-body", { hasText: "hel" }).waitFor();
    // The typing line goes once the message is in.
    await ben.page.locator("#typing").filter({ hasText: "typing" }).waitFor({
      state: "detached",
    });
    assert.equal(await ben.page.locator("#typing").textContent(), "");
    assert.equal(
      await ben.page.locator("#messages li", { hasText: "hel" }).getByRole(
        "button",
        {
          name: "Edit",
        },
      ).count(),
      0,
      "no edit button on someone else's message",
    );
    await mine.hover();
    await mine.getByRole("button", { name: "Edit" }).click();
    const box = ana.page.getByLabel("Message", { exact: true });
    assert.equal(await box.inputValue(), "hel");
    await box.fill("hello");
    await ana.page.keyboard.press("Enter");
    await ben.page.locator("#messages li", { hasText: "hello" }).locator(
      ".edited",
    ).waitFor();
    assert.deepEqual(await texts(ben.page), ["hello"]);
    const edited = ana.page.locator("#messages li", { hasText: "hello" });
    await edited.hover();
    await edited.getByRole("button", { name: "Delete" }).click();
    await ben.page.locator("#messages li.deleted", {
      hasText: "This message was deleted.",
    })
      .waitFor();
    assert.deepEqual(await texts(ana.page), ["This message was deleted."]);
  }));

Deno.test("browser: reactions with counts, toggled by a click, the same for everyone", () =>
  withTwoPages(async ({ ana, ben }) => {
    await ana.page.locator("#members li", { hasText: "ben" }).waitFor();
    await send(ana.page, "ship it?");
    const line = ben.page.locator("#messages li", { hasText: "ship it?" });
    await line.waitFor();
    await line.hover();
    await line.getByRole("button", { name: "React", exact: true }).click();
    await line.getByRole("button", { name: "React with 👍" }).click();
    const anaLine = ana.page.locator("#messages li", { hasText: "ship it?" });
    const chip = anaLine.locator(".chip", { hasText: "👍 1" });
    await chip.waitFor();
    assert.equal(await chip.getAttribute("aria-pressed"), "false");
    await chip.click();
    await anaLine.locator(".chip[aria-pressed=true]", { hasText: "👍 2" })
      .waitFor();
    await line.locator(".chip", { hasText: "👍 2" }).waitFor();
    await line.locator(".chip", { hasText: "👍 2" }).click();
    await anaLine.locator(".chip", { hasText: "👍 1" }).waitFor();
  }));

Deno.test("browser: at phone size the conversation owns the screen; rooms and members are drawers reachable by keyboard", async () => {
  const server = await startServer();
  const browser = await launch();
  try {
    const context = await browser.newContext({
      viewport: { width: 390, height: 780 },
    });
    await context.addInitScript(() => localStorage.setItem("chat.name", "pia"));
    const page = await context.newPage();
    await page.goto(`${server.http}/`);
    await page.getByRole("status").filter({ hasText: "Connected" }).waitFor();
    const friend = await openAs(browser, server, "quinn");
    await send(friend.page, "Hi Pia, are you on your phone?");
    await page.locator("#messages .msg-body", { hasText: "your phone" })
      .waitFor();
    const messages = await page.locator("#messages").boundingBox();
    const composer = await page.locator("#composer").boundingBox();
    assert.ok(
      messages && messages.height > 780 * 0.6,
      `messages take ${messages?.height}px of 780`,
    );
    assert.ok(
      composer && composer.y + composer.height <= 780,
      "the composer is on screen",
    );
    assert.equal(await page.locator("#rooms-panel").isVisible(), false);
    assert.equal(await page.locator("#members-panel").isVisible(), false);
    const overflow = await page.locator("html").evaluate((root) =>
      root.scrollWidth - root.clientWidth
    );
    assert.equal(overflow, 0);
    // Keyboard: open the members drawer, focus moves into it; Escape closes it and focus returns.
    await page.getByRole("button", { name: "Members" }).focus();
    await page.keyboard.press("Enter");
    await page.locator("#members-panel").waitFor({ state: "visible" });
    assert.equal(
      await page.locator("#members-panel :focus").count(),
      1,
      "focus is in the drawer",
    );
    assert.equal(
      await page.getByRole("button", { name: "Members" }).getAttribute(
        "aria-expanded",
      ),
      "true",
    );
    await page.keyboard.press("Escape");
    await page.locator("#members-panel").waitFor({ state: "hidden" });
    assert.equal(
      await page.locator("#open-members:focus").count(),
      1,
      "focus is back on the toggle",
    );
    // A direct message from the drawer: the drawer closes and the conversation takes the screen.
    await page.getByRole("button", { name: "Members" }).click();
    await page.getByRole("button", { name: "Message quinn directly" }).click();
    await page.locator("#members-panel").waitFor({ state: "hidden" });
    await page.locator("#room-title", { hasText: "@quinn" }).waitFor();
    await send(page, "yes, on the bus");
    await friend.page.locator("#direct-list .badge", { hasText: "1" })
      .waitFor();
    // Back to the lobby through the rooms drawer.
    await page.getByRole("button", { name: "Rooms" }).click();
    await page.locator("#rooms-panel").waitFor({ state: "visible" });
    const picture = await page.screenshot({ animations: "disabled" });
    await page.locator("#joined-rooms button", { hasText: "lobby" }).click();
    await page.locator("#rooms-panel").waitFor({ state: "hidden" });
    await page.locator("#room-title", { hasText: "lobby" }).waitFor();
    if (Deno.env.get("CHAT_SCREENSHOTS") === "1") {
      await Deno.writeFile(
        new URL("../../docs/screenshot-phone-drawer.png", import.meta.url),
        picture,
      );
      await Deno.writeFile(
        new URL("../../docs/screenshot-phone.png", import.meta.url),
        await page.screenshot(),
      );
    }
    await friend.close();
    await context.close();
  } finally {
    await browser.close();
    await server.close();
  }
});

Deno.test("browser: a large room shows its member count, applies presence diffs, and pages its member list", async () => {
  const server = await startServer({ largeRoom: 2, presenceDiffMs: 20 });
  const browser = await launch();
  const others: Client[] = [];
  try {
    for (let i = 0; i < 4; i++) {
      others.push(
        await Client.connect(server.ws, { name: `m${i}`, room: "lobby" }),
      );
    }
    const page = await openAs(browser, server, "zed");
    // Its joined listed a page of 2 names and the count: 5 members, "Show more" for the rest
    // (its own arrival came in a diff).
    await page.page.locator("#members-title", { hasText: "Members (5)" })
      .waitFor();
    await page.page.locator("#members li", { hasText: "zed (you)" }).waitFor();
    assert.deepEqual(await page.page.locator("#members li").allTextContents(), [
      "m0",
      "m1",
      "zed (you)",
      "Show more",
    ]);
    // Pages of 2 from where the last ended: m2 and m3, then zed (already shown), then no more.
    await page.page.getByRole("button", { name: "Show more" }).click();
    await page.page.locator("#members li", { hasText: "m3" }).waitFor();
    await page.page.getByRole("button", { name: "Show more" }).click();
    await page.page.getByRole("button", { name: "Show more" }).waitFor({
      state: "detached",
    });
    assert.deepEqual(await page.page.locator("#members li").allTextContents(), [
      "m0",
      "m1",
      "zed (you)",
      "m2",
      "m3",
    ]);
    // Arrivals and departures come as presence diffs: the count and the list follow.
    others.push(
      await Client.connect(server.ws, { name: "late", room: "lobby" }),
    );
    await page.page.locator("#members-title", { hasText: "Members (6)" })
      .waitFor();
    await page.page.locator("#members li", { hasText: "late" }).waitFor();
    await others[0].close();
    await page.page.locator("#members-title", { hasText: "Members (5)" })
      .waitFor();
    await page.page.locator("#members li", { hasText: "m0" }).waitFor({
      state: "detached",
    });
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    for (const c of others) await c.close();
    await browser.close();
    await server.close();
  }
});

Deno.test("browser: the client library, imported from /client.js by a page, joins, sends and receives", async () => {
  const server = await startServer();
  const browser = await launch();
  const watcher = await Client.connect(server.ws, {
    name: "watcher",
    room: "from-browser",
  });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.http}/health`);
    const result = await page.evaluate(async (url) => {
      const { connect } = await import(`${url}/client.js`);
      const chat = connect({ url, name: "browsery" });
      const room = await chat.join("from-browser");
      const heard: string[] = [];
      room.on(
        "message",
        (event: { message: string }) => heard.push(event.message),
      );
      const stored = await room.send("sent by the library in Chromium");
      while (heard.length === 0) await new Promise((r) => setTimeout(r, 10));
      chat.close();
      return { id: stored.id, heard, session: chat.session };
    }, server.http);
    assert.match(String(result.id), /^[0-9A-Z]{26}$/);
    assert.deepEqual(result.heard, ["sent by the library in Chromium"]);
    assert.match(String(result.session), /^s1\./);
    const seen = await watcher.next((e) => e.event === "broadcast");
    assert.equal(seen.message, "sent by the library in Chromium");
    await context.close();
  } finally {
    await watcher.close();
    await browser.close();
    await server.close();
  }
});
