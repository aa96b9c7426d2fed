// @ts-check
/// <reference lib="dom" />
/**
 * Rooms and direct conversations as the page follows them: joining (with the first page of
 * history and the unread count it implies), each room's events from the client library, older
 * pages, bringing one into view, leaving, and direct messages.
 *
 * @module
 */
import {
  addMessage,
  addNotice,
  addOlder,
  applyChange,
  blank,
  countReply,
  directId,
  directMessage,
  forgetLines,
  unreadAfter,
} from "./conversations.js";
import { closeDrawers } from "./drawers.js";
import { current, drawers, markRead, remember, state, stopEditing, ui } from "./page.js";
import { render, renderTyping } from "./render.js";
import { closePanel, panelHears } from "./side_panel.js";
import { saved } from "./saved.js";

/** @typedef {import("./conversations.js").Conversation} Conversation */
/** @typedef {import("./conversations.js").Message} Message */
/** @typedef {import("../client.js").Room} Room */

/** How long "… is typing" shows after the last typing event. */
const TYPING_SHOW_MS = 3000;

/**
 * Joins a room by name or id and follows its events; `focus` brings it into view; a new name
 * makes a private room with `secret`.
 * @param {string} ref
 * @param {boolean} focus
 * @param {boolean} [secret]
 */
export async function joinRoom(ref, focus, secret = false) {
  const client = /** @type {import("../client.js").ChatClient} */ (state.client);
  let handle;
  try {
    handle = await client.join(ref, { private: secret });
  } catch (error) {
    const c = current();
    if (c) addNotice(c, `Could not join ${ref}: ${/** @type {Error} */ (error).message}`);
    render();
    return;
  }
  if (!state.handles.has(handle.id)) follow(handle);
  if (focus || !state.active) activate(handle.id);
  remember();
  render();
}

/**
 * A new room handle: its conversation, members, first page of history, and its events.
 * @param {Room} handle
 */
export function follow(handle) {
  const c = blank("room", handle.id, handle.name);
  state.rooms.set(c.id, c);
  state.handles.set(c.id, handle);
  const members = (/** @type {Record<string, unknown>} */ joined) => {
    c.members = /** @type {string[]} */ (joined.members ?? []);
    // A large room sends a page of names and the count (more come with `list` and an offset).
    c.memberCount = typeof joined.count === "number" ? joined.count : c.members.length;
    c.membersMore = joined.more === true;
    c.membersPaged = c.members.length;
    // Our own arrival may have come before this handle existed (a large room's diff).
    if (state.me.name && !c.members.includes(state.me.name)) c.members.push(state.me.name);
  };
  members(handle.joined);
  c.seq = handle.seq;
  c.role = handle.role;
  c.private = handle.private;
  // Where this person stopped reading, on any device (the server keeps it). A room never read
  // before starts read: what was said before one came is not news.
  const firstVisit = handle.readUpTo === undefined && !saved.visited(handle.name);
  c.readUpToId = handle.readUpTo;
  if (!firstVisit && c.id !== state.active) c.unread = handle.unread;
  handle.on("joined", (/** @type {Record<string, unknown>} */ joined) => {
    members(joined);
    render();
  });
  // Read on another device or tab: what it read is not unread here either.
  handle.on("read", (/** @type {Record<string, unknown>} */ event) => {
    const id = String(event.id);
    if (c.readUpToId !== undefined && c.readUpToId >= id) return;
    c.readUpToId = id;
    if (c.id !== state.active) Object.assign(c, unreadAfter(c, id, state.me.id));
    render();
  });
  handle.on("message", (/** @type {any} */ raw) => {
    const event = /** @type {Message & { key?: string }} */ (raw);
    if (event.key !== undefined) saved.forget(event.key);
    if (!addMessage(c, event, event.key)) return render();
    countReply(c, event);
    panelHears(event);
    const mine = event.memberId === state.me.id;
    if (c.id === state.active && document.visibilityState === "visible") markRead(c);
    else if (!mine) {
      c.unread++;
      if (event.mentions?.includes(state.me.id)) c.mentions++;
    }
    if (c.id === state.active && !mine) {
      ui.announcer.textContent = `${event.member}: ${event.message ?? "[binary message]"}`;
    }
    render(c.id === state.active, mine);
  });
  for (const name of ["edited", "deleted", "reaction"]) {
    handle.on(name, (/** @type {Record<string, unknown>} */ event) => {
      applyChange(c, event, state.me.name, state.reacted);
      if (event.event === "edited" && state.editing?.id === event.id) stopEditing();
      render();
    });
  }
  handle.on("typing", (/** @type {Record<string, unknown>} */ event) => {
    if (event.memberId === state.me.id) return;
    c.typing.set(String(event.member), Date.now() + TYPING_SHOW_MS);
    renderTyping();
    setTimeout(renderTyping, TYPING_SHOW_MS + 50);
  });
  for (const kind of ["join", "leave"]) {
    handle.on(kind, (/** @type {Record<string, unknown>} */ event) => {
      const name = String(event.member);
      c.members = kind === "join"
        ? [...c.members.filter((m) => m !== name), name]
        : c.members.filter((m) => m !== name);
      c.memberCount = Math.max(0, c.memberCount + (kind === "join" ? 1 : -1));
      addNotice(c, `${name} ${kind === "join" ? "joined" : "left"}`);
      render();
    });
  }
  handle.on("presence_diff", (/** @type {Record<string, unknown>} */ event) => {
    // A large room's joins and leaves over a few ms: applied to the list, without notices.
    const names = (/** @type {unknown} */ list) =>
      /** @type {{ member: string }[]} */ (list).map((w) => String(w.member));
    const left = new Set(names(event.leaves));
    const joined = names(event.joins).filter((n) => !c.members.includes(n));
    c.members = [...c.members.filter((m) => !left.has(m)), ...joined];
    c.memberCount = Number(event.count);
    render();
  });
  handle.on("renamed", (/** @type {Record<string, unknown>} */ event) => {
    c.members = c.members.map((m) => (m === event.from ? String(event.to) : m));
    addNotice(c, `${event.from} is now ${event.to}`);
    render();
  });
  followModeration(c, handle);
  handle.on("gap", () => reload(c, "Some messages did not arrive; reloading history."));
  handle.on(
    "reload",
    () => reload(c, "Some messages expired while you were away; reloading history."),
  );
  // With the first page: where "New messages" starts, and the mentions among the unread.
  loadOlder(c).then((page) => {
    if (!page) return;
    if (firstVisit) markRead(c);
    else if (c.id === state.active) {
      if (unreadAfter(c, c.readUpToId, state.me.id).unread > 0) c.newFrom = c.readUpToId ?? "";
      markRead(c);
    } else c.mentions = unreadAfter(c, c.readUpToId, state.me.id).mentions;
    render(true, c.id === state.active);
  });
}

/**
 * What moderation does to a room as shown: who did what, as notices; our own role; and when we
 * are taken out, the room goes (with a notice where we are).
 * @param {Conversation} c
 * @param {Room} handle
 */
function followModeration(c, handle) {
  const who = (/** @type {Record<string, unknown>} */ e) =>
    e.memberId === state.me.id ? "you" : String(e.member);
  const minutes = (/** @type {unknown} */ until) =>
    typeof until === "number"
      ? ` for ${Math.max(1, Math.round((until - Date.now()) / 60_000))} min`
      : "";
  /** @type {Record<string, (e: Record<string, unknown>) => string>} */
  const says = {
    role: (e) =>
      `${e.byName} ${e.role === "moderator" ? "made" : "took moderator from"} ${who(e)}${
        e.role === "moderator" ? " a moderator" : ""
      }`,
    muted: (e) => `${e.byName} muted ${who(e)}${minutes(e.until)}`,
    kicked: (e) => `${e.byName} removed ${who(e)} from the room`,
    banned: (e) => `${e.byName} banned ${who(e)}${minutes(e.until)}`,
    unbanned: (e) => `${e.byName} lifted the ban on ${who(e)}`,
    invited: (e) => `${e.byName} invited ${who(e)}`,
  };
  for (const [name, text] of Object.entries(says)) {
    handle.on(name, (/** @type {Record<string, unknown>} */ event) => {
      if (name === "role" && event.memberId === state.me.id) c.role = String(event.role);
      addNotice(c, text(event));
      render(c.id === state.active);
    });
  }
  handle.on("removed", (/** @type {Record<string, unknown>} */ event) => {
    state.rooms.delete(c.id);
    state.handles.delete(c.id);
    remember();
    const verb = event.event === "banned" ? "banned from" : "removed from";
    const text = `You were ${verb} #${c.name} by ${event.byName}.`;
    ui.announcer.textContent = text;
    const next = [...state.rooms.keys()][0];
    if (state.active === c.id) {
      state.active = undefined;
      if (next) activate(next);
    }
    const here = current();
    if (here) addNotice(here, text);
    render();
  });
}

/**
 * Forgets the room's lines and loads its history again: the server's history is complete even
 * when the live stream was not.
 * @param {Conversation} c
 * @param {string} notice
 */
export function reload(c, notice) {
  forgetLines(c);
  addNotice(c, notice);
  loadOlder(c);
  render();
}

/**
 * The next page of older messages of a conversation (its first page when nothing is loaded);
 * resolves with the page.
 * @param {Conversation} c
 * @returns {Promise<Message[] | undefined>}
 */
export async function loadOlder(c) {
  if (c.loading || !c.more || !state.client) return undefined;
  c.loading = true;
  const first = !c.loaded;
  try {
    /** @type {Message[]} */
    let page;
    let more;
    if (c.kind === "room") {
      const handle = /** @type {Room} */ (state.handles.get(c.id));
      const answer = await handle.history({ before: c.oldest, limit: 50 });
      page = /** @type {Message[]} */ (answer.messages);
      more = Boolean(answer.more);
    } else {
      const answer = await state.client.request({
        command: "history",
        with: c.name,
        limit: 50,
        ...(c.oldest ? { before: c.oldest } : {}),
      });
      page = /** @type {Record<string, unknown>[]} */ (answer.messages).map((d) =>
        directMessage(c, d)
      );
      more = Boolean(answer.more);
    }
    const list = ui.messages;
    const fromBottom = list.scrollHeight - list.scrollTop;
    addOlder(c, page, more);
    render(first);
    // Keep the view where it was: older lines appear above without moving what was read.
    if (!first && c.id === state.active) list.scrollTop = list.scrollHeight - fromBottom;
    return page;
  } catch {
    c.loading = false;
    return undefined;
  }
}

/**
 * Opens a room from the list of all rooms (joining it if need be).
 * @param {string} id
 * @param {string} name
 */
export function openRoom(id, name) {
  if (state.rooms.has(id)) activate(id);
  else joinRoom(name, true);
}

/**
 * Brings a conversation into view: its unread ones start after a "New messages" line.
 * @param {string} id
 */
export function activate(id) {
  if (state.editing) stopEditing();
  const previous = current();
  if (previous) saved.setDraft(previous.id, ui.input.value);
  if (state.panel && state.panel.room !== id) closePanel();
  if (state.replyTo && state.replyTo.room !== id) {
    state.replyTo = undefined;
    ui.replying.hidden = true;
  }
  state.active = id;
  saved.active.set(id);
  const c = current();
  if (c) {
    c.newFrom = c.unread > 0 ? (c.readUpToId ?? "") : undefined;
    markRead(c);
    ui.input.value = saved.draft(c.id);
  }
  ui.composerError.textContent = "";
  closeDrawers(drawers);
  render(true, true);
}

/** Leaves the room in view, or closes the direct conversation. */
export async function leaveCurrent() {
  const c = current();
  if (!c) return;
  if (c.kind === "direct") state.directs.delete(c.id);
  else {
    await state.handles.get(c.id)?.leave().catch(() => {});
    state.rooms.delete(c.id);
    state.handles.delete(c.id);
  }
  remember();
  const next = [...state.rooms.keys()][0];
  if (next) activate(next);
  else {
    state.active = undefined;
    render();
  }
}

/**
 * The direct conversation with a member, made (and its history read) on first use.
 * @param {string} name
 * @param {boolean} focus
 */
export function openDirectConversation(name, focus) {
  const id = directId(name);
  let c = state.directs.get(id);
  if (!c) {
    c = blank("direct", id, name);
    state.directs.set(id, c);
    remember();
    loadOlder(c);
  }
  if (focus) activate(id);
  else render();
  return c;
}

/**
 * A direct message, to us or from us (an echo from another device, or our answer).
 * @param {Record<string, unknown>} event
 */
export function receiveDirect(event) {
  const ours = event.fromId === state.me.id;
  const c = openDirectConversation(String(ours ? event.to : event.from), false);
  if (!addMessage(c, directMessage(c, event))) return;
  if (c.id !== state.active && !ours) c.unread++;
  else if (!ours) ui.announcer.textContent = `${event.from} (direct): ${event.message}`;
  render(c.id === state.active);
}

/**
 * The next page of a large room's members.
 * @param {Conversation} c
 */
export async function listMore(c) {
  const answer = await state.client?.request({
    command: "list",
    room: c.id,
    offset: c.membersPaged,
  })
    .catch(() => undefined);
  if (!answer) return;
  const page = /** @type {string[]} */ (answer.members);
  c.members = [...c.members, ...page.filter((m) => !c.members.includes(m))];
  c.membersPaged += page.length;
  c.memberCount = Number(answer.count);
  c.membersMore = answer.more === true;
  render();
}
