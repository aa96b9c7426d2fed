/// <reference lib="dom" />
/**
 * Rooms you can run in the web client: a private room made from the join form (a lock beside
 * it), an invitation from the room's Options menu (the invited person's page offers Join), the
 * member menu for the room's owner (Mute, Make moderator, Kick), and the removed person's page
 * saying so and letting the room go.
 */
import assert from "node:assert/strict";
import { connected, person, send, violations, withBrowser } from "./_page.ts";

Deno.test("web client: a private room with a lock, an invitation with Join, and the owner's member menu (mute, make moderator, kick) with 'You were removed'", () =>
  withBrowser({ ratePerSecond: 1000, rateBurst: 1000 }, async (browser, server) => {
    const ana = await person(browser, "ana", { width: 1200, height: 800 }, true);
    const ben = await person(browser, "ben");
    const owner = await ana.open(`${server.http}/`);
    const guest = await ben.open(`${server.http}/`);
    await connected(owner);
    await connected(guest);

    await owner.getByLabel("Join or create a room").fill("backstage");
    await owner.getByLabel(/Private/).check();
    await owner.getByRole("button", { name: "Join", exact: true }).click();
    await owner.locator("#room-title", { hasText: "backstage" }).waitFor();
    const entry = owner.locator("#joined-rooms button", { hasText: "backstage" });
    await entry.getByRole("img", { name: "private" }).waitFor();
    // Ben cannot find it: joining the name is refused.
    await guest.getByLabel("Join or create a room").fill("backstage");
    await guest.getByRole("button", { name: "Join", exact: true }).click();
    await guest.locator("#messages .notice", { hasText: "private" }).waitFor();

    // Ana invites ben from the Options menu; ben's page offers to join.
    await owner.getByRole("button", { name: "Options" }).click();
    await owner.getByRole("button", { name: "Invite someone…" }).click();
    await owner.getByLabel(/Their name/).fill("ben");
    assert.deepEqual(await violations(owner), [], "with the invite dialog open");
    await owner.getByRole("button", { name: "Invite", exact: true }).click();
    await owner.locator("#invite-dialog").waitFor({ state: "hidden" });
    const invitation = guest.locator("#messages .notice", {
      hasText: "ana invited you to #backstage",
    });
    await invitation.getByRole("button", { name: "Join" }).click();
    await guest.locator("#room-title", { hasText: "backstage" }).waitFor();
    await send(guest, "hello backstage");
    await owner.locator("#messages .msg-body", { hasText: "hello backstage" }).waitFor();

    // The owner's member menu: mute ben (his next send is refused), make him moderator, kick.
    const menu = owner.getByRole("button", { name: "Moderate ben" });
    await menu.click();
    await owner.getByRole("button", { name: "Mute for 10 minutes" }).click();
    await guest.locator("#messages .notice", { hasText: "ana muted you" }).waitFor();
    await send(guest, "can I speak?");
    await guest.locator("#messages .failure", { hasText: "muted" }).waitFor();
    await menu.click();
    await owner.getByRole("button", { name: "Make moderator" }).click();
    await owner.locator("#messages .notice", { hasText: "ana made ben a moderator" }).waitFor();
    await menu.click();
    await owner.getByRole("button", { name: "Remove moderator" }).click();
    await owner.locator("#messages .notice", { hasText: "took moderator from ben" }).waitFor();
    await menu.click();
    await owner.getByRole("button", { name: "Kick" }).click();
    await owner.locator("#messages .notice", { hasText: "ana removed ben from the room" })
      .waitFor();
    // Ben's page: the room is gone from his list, and it says why.
    await guest.locator("#messages .notice", { hasText: "You were removed from #backstage" })
      .waitFor();
    assert.equal(
      await guest.locator("#joined-rooms button", { hasText: "backstage" }).count(),
      0,
    );
    assert.deepEqual(ana.errors, []);
    assert.deepEqual(ben.errors, []);
    await ana.context.close();
    await ben.context.close();
  }));
