// @ts-check
/// <reference lib="dom" />
/**
 * The web client, on the client library (`client.js`): it keeps the session, reconnects,
 * resumes every room and resends what was not acknowledged (by key, so it is stored once). This
 * file signs in, connects and wires the page; the parts live in `ui/`: the model
 * (`conversations.js`), the shared state (`page.js`), rooms and direct conversations
 * (`rooms.js`), sending (`sending.js`), drawing (`render.js` and the `*_view.js` files), what
 * survives a reload (`saved.js`). Every user string is rendered as text, never as HTML.
 *
 * @module
 */
import { connect } from "./client.js";
import { addNotice, addPending, directId } from "./ui/conversations.js";
import { closeDrawers, menu, openDrawer } from "./ui/drawers.js";
import {
  base,
  conversation,
  current,
  drawers,
  markRead,
  state,
  stopEditing,
  ui,
} from "./ui/page.js";
import { hooks, render, showJump } from "./ui/render.js";
import {
  activate,
  joinRoom,
  leaveCurrent,
  listMore,
  loadOlder,
  openDirectConversation,
  openRoom,
  receiveDirect,
} from "./ui/rooms.js";
import { actions, deliver, replyIn, send, stopReplying, typed } from "./ui/sending.js";
import { closeMentions, mentionKey, offerMentions } from "./ui/mention_picker.js";
import { closePanel, panelHooks, replyInThread, search } from "./ui/side_panel.js";
import { saved } from "./ui/saved.js";
import { renderAllRooms } from "./ui/sidebar_view.js";

hooks.activate = activate;
hooks.openDirect = (name) => openDirectConversation(name, true);
hooks.listMore = listMore;
hooks.moderate = (c, action, name, options = {}) => {
  state.memberMenu = undefined;
  const handle = state.handles.get(c.id);
  handle?.moderate(/** @type {any} */ (action), name, options).catch((error) => {
    addNotice(c, `Not done: ${error.message}`);
    render();
  });
  render();
};
hooks.actions = actions;
panelHooks.loadOlder = loadOlder;
panelHooks.reply = replyIn;

// ---- connecting -------------------------------------------------------------------------------

/** A fresh token from the app's endpoint (`CHAT_WEB_TOKEN_URL`). */
async function fetchToken() {
  const response = await fetch(/** @type {string} */ (state.config.tokenUrl), {
    credentials: "include",
  });
  if (!response.ok) throw new Error(`the token endpoint answered ${response.status}`);
  const body = await response.text();
  try {
    return String(JSON.parse(body).token);
  } catch {
    return body.trim();
  }
}

/** Connects and opens the saved rooms and direct conversations. */
function start() {
  ui.login.hidden = true;
  ui.chat.hidden = false;
  const rooms = saved.rooms();
  const activeRoom = saved.active.get();
  // The room in view when the page was left (a room, not a direct conversation) comes first.
  const first = activeRoom && !activeRoom.startsWith("@") ? activeRoom : rooms[0];
  const token = state.config.tokens ? saved.token.get() : undefined;
  const client = connect({
    url: base.href,
    name: state.config.tokens ? undefined : saved.name.get(),
    session: state.config.tokens ? undefined : saved.session.get(),
    token,
    getToken: state.config.tokens && state.config.tokenUrl ? fetchToken : undefined,
    room: first,
  });
  state.client = client;
  client.on("status", (/** @type {string} */ status) => {
    state.online = status === "open";
    ui.status.dataset.state = state.online ? "online" : "offline";
    ui.status.textContent = status === "open"
      ? "Connected"
      : status === "closed"
      ? "Disconnected"
      : state.me.id
      ? "Offline — reconnecting…"
      : "Connecting…";
    render();
  });
  client.on("me", () => {
    state.me = { name: client.me?.name ?? "", id: client.me?.id ?? "" };
    if (client.session) saved.session.set(client.session);
    ui.whoami.textContent = `You are ${state.me.name}`;
  });
  client.on("disconnected", (/** @type {{ code: number, reason: string }} */ close) => {
    if (close.code === 4001 && client.status === "closed") {
      saved.token.set(undefined);
      showLogin("Your sign-in expired. Paste a new token to go on.");
    } else if (client.status === "closed") {
      ui.status.textContent = `Disconnected (${close.reason || close.code})`;
    }
  });
  client.on("direct", (/** @type {Record<string, unknown>} */ event) => receiveDirect(event));
  client.on("notice", (/** @type {Record<string, unknown>} */ event) => {
    const c = conversation(String(event.room ?? state.active ?? ""));
    if (!c) return;
    addNotice(c, `Server: ${event.message}`);
    ui.announcer.textContent = `Server: ${event.message}`;
    render();
  });
  client.on("error", (/** @type {Error & { code?: string }} */ error) => {
    const c = current();
    if (c && error.code !== "token_failed") addNotice(c, `Error: ${error.message}`);
    render();
  });
  client.on("invited", (/** @type {Record<string, unknown>} */ event) => {
    const text = `${event.byName} invited you to #${event.name}`;
    ui.announcer.textContent = text;
    const c = current();
    if (c) {
      addNotice(c, text, { label: "Join", run: () => joinRoom(String(event.room), true) });
    }
    render();
  });
  client.on("rooms", (/** @type {typeof state.allRooms} */ list) => {
    state.allRooms = list;
    renderAllRooms(ui.allRooms, list, (room) => openRoom(room.id, room.name));
  });
  const ordered = [first, ...rooms.filter((r) => r !== first)];
  let firstJoined = () => {};
  state.joined = new Promise((resolve) => firstJoined = resolve);
  (async () => {
    for (const name of ordered) {
      await joinRoom(name, name === first || activeRoom === name);
      firstJoined();
    }
    for (const name of saved.directs()) openDirectConversation(name, activeRoom === directId(name));
    resendSaved();
    await client.watchRooms().catch(() => {});
  })();
  ui.input.focus();
}

/** Sends again, with their keys, what a previous page had not seen acknowledged. */
function resendSaved() {
  for (const send of saved.outbox()) {
    const c = state.rooms.get(send.room);
    if (!c) {
      saved.forget(send.key);
      continue;
    }
    addPending(c, send.key, send.text, state.me, send.replyTo);
    deliver(c, send.key, send.text, false, send.replyTo);
  }
  render(true);
}

// ---- signing in -------------------------------------------------------------------------------

/**
 * Shows the sign-in form: a name, or a token when the server needs one.
 * @param {string} [note]
 */
function showLogin(note = "") {
  const tokens = state.config.tokens;
  ui.loginTitle.textContent = tokens ? "Sign in" : "Pick a name";
  ui.loginNote.textContent = note;
  ui.loginNameField.hidden = tokens;
  ui.loginTokenField.hidden = !tokens;
  ui.chat.hidden = true;
  ui.login.hidden = false;
  (tokens ? ui.loginToken : ui.loginName).focus();
}

ui.loginForm.addEventListener("submit", (event) => {
  event.preventDefault();
  if (state.config.tokens) {
    const token = ui.loginToken.value.trim();
    if (!token) return;
    saved.token.set(token);
    location.reload(); // a fresh page: one client, one identity
    return;
  }
  const name = ui.loginName.value.trim();
  if (!name) return;
  saved.name.set(name);
  start();
});

/** Reads the server's settings, then signs in (or asks how). */
async function boot() {
  try {
    const response = await fetch(new URL("config", base));
    if (response.ok) Object.assign(state.config, await response.json());
  } catch {
    // An older server or offline: names, and the default limit.
  }
  // A token handed over in the address (`#token=...`) is kept and taken out of sight.
  const handed = new URLSearchParams(location.hash.slice(1)).get("token");
  if (handed) {
    saved.token.set(handed);
    history.replaceState(null, "", location.pathname + location.search);
  }
  const ready = state.config.tokens
    ? Boolean(saved.token.get() || state.config.tokenUrl)
    : Boolean(saved.name.get());
  if (ready) start();
  else showLogin();
}

// ---- wiring -----------------------------------------------------------------------------------

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  send();
});
ui.input.addEventListener("keydown", (event) => {
  if (mentionKey(event)) return;
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    closeMentions();
    send();
  } else if (event.key === "Escape" && state.editing) stopEditing();
  else if (event.key === "Escape" && state.replyTo) stopReplying();
});
ui.input.addEventListener("input", () => {
  typed();
  offerMentions();
});
ui.input.addEventListener("blur", closeMentions);
ui.cancelReply.addEventListener("click", () => {
  stopReplying();
  ui.input.focus();
});
ui.searchForm.addEventListener("submit", (event) => {
  event.preventDefault();
  search(ui.search.value);
});
ui.sideClose.addEventListener("click", closePanel);
ui.threadForm.addEventListener("submit", (event) => {
  event.preventDefault();
  replyInThread();
});
ui.threadInput.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    replyInThread();
  }
});
ui.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.joinName.value.trim();
  if (!name) return;
  ui.joinName.value = "";
  const secret = ui.joinPrivate.checked;
  ui.joinPrivate.checked = false;
  const known = [...state.rooms.values()].find((r) => r.name.toLowerCase() === name.toLowerCase());
  if (known) activate(known.id);
  else joinRoom(name, true, secret);
});
ui.leave.addEventListener("click", () => leaveCurrent());
ui.invite.addEventListener("click", () => {
  ui.inviteError.textContent = "";
  ui.inviteName.value = "";
  ui.inviteDialog.showModal();
});
ui.inviteCancel.addEventListener("click", () => ui.inviteDialog.close());
ui.inviteForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const c = current();
  const handle = c && state.handles.get(c.id);
  const to = ui.inviteName.value.trim();
  if (!handle || !to) return;
  try {
    await handle.moderate("invite", to);
    ui.inviteDialog.close();
  } catch (error) {
    ui.inviteError.textContent = `Not invited: ${/** @type {Error} */ (error).message}`;
  }
});
menu(ui.roomMenuButton, ui.roomMenu);
ui.cancelEdit.addEventListener("click", () => {
  stopEditing();
  ui.input.focus();
});
ui.jump.addEventListener("click", () => {
  ui.messages.scrollTop = ui.messages.scrollHeight;
  showJump();
});
ui.openRooms.addEventListener("click", () => openDrawer(ui.roomsPanel, ui.openRooms, drawers));
ui.openMembers.addEventListener(
  "click",
  () => openDrawer(ui.membersPanel, ui.openMembers, drawers),
);
ui.backdrop.addEventListener("click", () => closeDrawers(drawers));
for (const node of document.querySelectorAll("[data-close]")) {
  node.addEventListener("click", () => closeDrawers(drawers));
}
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") closeDrawers(drawers);
});
ui.messages.addEventListener("scroll", () => {
  const c = current();
  if (c && ui.messages.scrollTop < 40) loadOlder(c);
  showJump();
});
// On touch screens, a tap on a message shows its actions (there is no hover).
ui.messages.addEventListener("click", (event) => {
  const target = /** @type {HTMLElement} */ (event.target);
  if (target.closest("button") || !matchMedia("(hover: none)").matches) return;
  const id = /** @type {HTMLElement | null} */ (target.closest("li.message"))?.dataset.id;
  if (id === undefined) return;
  state.actionsFor = state.actionsFor === id ? undefined : id;
  render();
});
document.addEventListener("visibilitychange", () => {
  const c = current();
  if (c && document.visibilityState === "visible") markRead(c);
});

boot();
