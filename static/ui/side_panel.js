// @ts-check
/// <reference lib="dom" />
/**
 * The side panel beside the conversation: a thread (a message and its replies, with a composer
 * that answers in it) or a room's search results; and bringing one message into view in the
 * conversation, with older pages loaded until it is there.
 *
 * @module
 */
import { button, el, timeOf } from "./dom.js";
import { snippet, withMentions } from "./messages_view.js";
import { current, state, ui } from "./page.js";
import { render } from "./render.js";

/** @typedef {import("./conversations.js").Message} Message */
/** @typedef {import("./conversations.js").Conversation} Conversation */

/** Replies read for a thread at once, and search results per page. */
const PAGE = 100;
/** Older pages loaded at most to bring a message into view. */
const MAX_PAGES_TO_FIND = 40;

/** What the panel calls back into; the page sets them at start. */
export const panelHooks = {
  /** The next page of older messages of a conversation. @type {(c: Conversation) => Promise<unknown>} */
  loadOlder: () => Promise.resolve(),
  /** Sends a reply in a thread. @type {(root: Message, text: string) => void} */
  reply: () => {},
};

/**
 * Opens the thread of a message: its replies, oldest first, then live ones as they come.
 * @param {Message} root
 */
export async function openThread(root) {
  const handle = state.handles.get(root.room);
  if (!handle) return;
  state.panel = { kind: "thread", room: root.room, root, messages: [] };
  showPanel(`Thread: ${root.member}`, "Loading replies…");
  try {
    const page = await handle.thread(root.id, { limit: PAGE });
    if (state.panel?.kind !== "thread" || state.panel.root.id !== root.id) return;
    state.panel.messages = /** @type {Message[]} */ (/** @type {unknown} */ (page.messages));
    ui.sideStatus.textContent = page.more ? "Showing the newest replies." : "";
  } catch (error) {
    ui.sideStatus.textContent = `Could not load the thread: ${
      /** @type {Error} */ (error).message
    }`;
  }
  renderPanel();
  ui.threadInput.focus();
}

/**
 * Searches the room in view and shows what matched, newest first; `more` reads on.
 * @param {string} q
 * @param {boolean} [more]
 */
export async function search(q, more = false) {
  const c = current();
  const handle = c && state.handles.get(c.id);
  if (!c || !handle || q.trim() === "") return;
  const before = more && state.panel?.kind === "search" ? state.panel.next : undefined;
  if (!more) {
    state.panel = { kind: "search", room: c.id, q, messages: [] };
    showPanel(`Search: ${q}`, "Searching…");
  }
  try {
    const page = await handle.search(q, { limit: PAGE, ...(before ? { before } : {}) });
    const panel = state.panel;
    if (panel?.kind !== "search" || panel.q !== q || panel.room !== c.id) return;
    const found = /** @type {Message[]} */ (/** @type {unknown} */ (page.messages)).reverse();
    panel.messages = [...panel.messages, ...found];
    panel.next = page.more ? page.next ?? found[found.length - 1]?.id : undefined;
    ui.sideStatus.textContent = panel.messages.length === 0
      ? (page.more ? "Nothing yet in the newest messages." : "Nothing matches.")
      : `${panel.messages.length}${page.more ? "+" : ""} found`;
  } catch (error) {
    ui.sideStatus.textContent = `Could not search: ${/** @type {Error} */ (error).message}`;
  }
  renderPanel();
}

/** Closes the panel. */
export function closePanel() {
  state.panel = undefined;
  ui.sidePanel.hidden = true;
  ui.threadForm.hidden = true;
}

/**
 * A live message of a room: a reply in the open thread joins it.
 * @param {Message} message
 */
export function panelHears(message) {
  const panel = state.panel;
  if (panel?.kind !== "thread" || message.thread !== panel.root.id) return;
  if (panel.messages.some((m) => m.id === message.id)) return;
  panel.messages.push(message);
  renderPanel();
}

/**
 * @param {string} title
 * @param {string} status
 */
function showPanel(title, status) {
  ui.sideTitle.textContent = title;
  ui.sideStatus.textContent = status;
  ui.sideList.replaceChildren();
  ui.sidePanel.hidden = false;
  ui.threadForm.hidden = state.panel?.kind !== "thread";
}

/** Draws the panel's messages. */
export function renderPanel() {
  const panel = state.panel;
  if (!panel) return;
  const c = state.rooms.get(panel.room);
  const names = c?.members ?? [];
  const items = [];
  if (panel.kind === "thread") {
    items.push(entry(panel.root, names, "thread-root"));
    for (const m of panel.messages) items.push(entry(m, names));
    if (panel.messages.length === 0) items.push(el("li", "hint", "No replies yet."));
  } else {
    for (const m of panel.messages) {
      const li = el("li");
      const found = button("", () => jumpTo(m.id), { className: "result" });
      found.append(
        el("strong", "", m.member ?? ""),
        el("time", "", timeOf(m.ts)),
        el("span", "", snippet(m.message ?? "")),
      );
      li.append(found);
      items.push(li);
    }
    if (panel.next) {
      const li = el("li");
      li.append(
        button("Search older messages", () => search(panel.q, true), { className: "link" }),
      );
      items.push(li);
    }
  }
  ui.sideList.replaceChildren(...items);
}

/**
 * One message of a thread.
 * @param {Message} m
 * @param {string[]} names
 * @param {string} [className]
 */
function entry(m, names, className = "") {
  const li = el("li", `side-message ${className}`.trim());
  li.dataset.id = m.id;
  const head = el("div", "msg-head");
  head.append(el("strong", "", m.deleted ? "(deleted)" : m.member), el("time", "", timeOf(m.ts)));
  li.append(head);
  li.append(
    m.deleted
      ? el("p", "msg-body", "This message was deleted.")
      : withMentions(el("p", "msg-body"), m.message ?? "[binary message]", names),
  );
  return li;
}

/**
 * Brings a message of the conversation in view into sight, loading older pages until it is
 * there (or the history ends), and marks it for a moment.
 * @param {string} id
 */
export async function jumpTo(id) {
  const c = current();
  if (!c) return;
  const has = () => c.lines.some((l) => l.kind === "message" && l.message.id === id);
  for (let pages = 0; !has() && c.more && pages < MAX_PAGES_TO_FIND; pages++) {
    // A page already on its way (a scroll asked for it): wait for it instead.
    if (c.loading) await new Promise((resolve) => setTimeout(resolve, 50));
    else await panelHooks.loadOlder(c);
  }
  if (!has()) {
    ui.sideStatus.textContent = "That message is no longer in the history.";
    return;
  }
  state.flash = id;
  render();
  const node = /** @type {HTMLElement | null} */ (
    ui.messages.querySelector(`li.message[data-id="${CSS.escape(id)}"]`)
  );
  node?.scrollIntoView({ block: "center" });
  node?.focus({ preventScroll: true });
  setTimeout(() => {
    if (state.flash !== id) return;
    state.flash = undefined;
    render();
  }, 2000);
}

/** Sends what the thread's composer holds as a reply in the open thread. */
export function replyInThread() {
  const panel = state.panel;
  const text = ui.threadInput.value;
  if (panel?.kind !== "thread" || text.trim() === "") return;
  ui.threadInput.value = "";
  panelHooks.reply(panel.root, text);
}
