// @ts-check
/// <reference lib="dom" />
/**
 * Sending from the composer: what was typed shows at once as pending, goes by its key (stored
 * once whatever reconnections happen), and a refusal keeps the text with a plain-words reason and
 * what can be done (Retry, Edit, Discard; over the rate it goes again by itself). Also editing,
 * the message actions, and "typing".
 *
 * @module
 */
import { addMessage, addNotice, addPending, directMessage, sendLine } from "./conversations.js";
import { count } from "./dom.js";
import { current, state, stopEditing, ui } from "./page.js";
import { render } from "./render.js";
import { snippet } from "./messages_view.js";
import { jumpTo, openThread } from "./side_panel.js";
import { saved } from "./saved.js";

/** @typedef {import("./conversations.js").Conversation} Conversation */
/** @typedef {import("./conversations.js").Message} Message */
/** @typedef {import("../client.js").Room} Room */
/** @typedef {import("../client.js").ChatClientError} ChatClientError */

/** How often we tell a room we are typing, at most. */
const TYPING_SEND_MS = 2000;

/** Sends what the composer holds (or saves the edit); what was typed is never lost. */
export function send() {
  const text = ui.input.value;
  if (text.trim() === "") return;
  const c = current();
  // Not in a room yet (the first join is on its way): it goes once there, from the composer.
  if (!c) return void state.joined.then(() => current() && send());
  const length = [...text].length;
  if (length > state.config.maxMessageLength) {
    ui.composerError.textContent = `Too long: ${count(length)} of ${
      count(state.config.maxMessageLength)
    } characters`;
    return;
  }
  ui.composerError.textContent = "";
  if (state.editing) {
    const { room, id } = state.editing;
    state.handles.get(room)?.edit(id, text).catch((error) => {
      addNotice(c, `Not edited: ${error.message}`);
      render();
    });
    stopEditing();
    return;
  }
  ui.input.value = "";
  saved.setDraft(c.id, "");
  state.lastTypingSent = 0; // the next words typed are news again
  const key = crypto.randomUUID();
  const replyTo = c.kind === "room" && state.replyTo?.room === c.id ? state.replyTo.id : undefined;
  stopReplying();
  addPending(c, key, text, state.me, replyTo);
  if (c.kind === "room") saved.keep({ room: c.id, text, key, replyTo });
  deliver(c, key, text, false, replyTo);
  render(true, true);
}

/**
 * Answers a message: the composer says so until sent or cancelled.
 * @param {Message} m
 */
export function startReplying(m) {
  if (state.editing) stopEditing();
  state.replyTo = m;
  ui.replyingText.textContent = `Replying to ${m.member}: ${snippet(m.message ?? "")}`;
  ui.replying.hidden = false;
  ui.input.focus();
}

/** The composer answers nothing any more. */
export function stopReplying() {
  state.replyTo = undefined;
  ui.replying.hidden = true;
}

/**
 * A reply typed in the thread panel: shown in the conversation like any send.
 * @param {Message} root
 * @param {string} text
 */
export function replyIn(root, text) {
  const c = state.rooms.get(root.room);
  if (!c) return;
  const key = crypto.randomUUID();
  addPending(c, key, text, state.me, root.id);
  saved.keep({ room: c.id, text, key, replyTo: root.id });
  deliver(c, key, text, false, root.id);
  render(true);
}

/**
 * Sends one message (a room's by its key: resent after reconnections, stored once) and follows
 * how it ends.
 * @param {Conversation} c
 * @param {string} key
 * @param {string} text
 * @param {boolean} [retried] a rate-limited send is retried once by itself
 * @param {string} [replyTo] the message it answers
 */
export function deliver(c, key, text, retried = false, replyTo = undefined) {
  const client = /** @type {import("../client.js").ChatClient} */ (state.client);
  const sending = c.kind === "room"
    ? /** @type {Room} */ (state.handles.get(c.id)).send(text, { key, replyTo })
    : client.direct(c.name, text);
  sending.then((event) => {
    saved.forget(key);
    if (c.kind === "direct") {
      addMessage(
        c,
        directMessage(c, /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (event))),
        key,
      );
    } else c.lines = c.lines.filter((l) => l.key !== key);
    render(true);
  }, (/** @type {ChatClientError} */ error) => {
    const line = sendLine(c, key);
    if (!line) return;
    line.pending = false;
    const code = error.code;
    if (code === "rate_limited" && !retried) {
      const seconds = Number(error.details?.retryAfterSeconds ?? 1);
      line.failed = { text: `Slow down — sending in ${seconds} s`, retry: false };
      setTimeout(() => {
        if (!sendLine(c, key)?.failed) return; // discarded or edited meanwhile
        line.failed = undefined;
        line.pending = true;
        deliver(c, key, text, true, replyTo);
        render();
      }, seconds * 1000);
    } else if (code === "too_large") {
      saved.forget(key);
      line.failed = {
        text: `Too long: ${count([...text].length)} of ${
          count(Number(error.details?.limit ?? state.config.maxMessageLength))
        } characters`,
        retry: false,
      };
    } else if (code === "rate_limited") {
      line.failed = { text: "Not sent: too many messages at once", retry: true };
    } else {
      line.failed = { text: `Not sent: ${error.message}`, retry: true };
    }
    render();
  });
}

/** What a message's controls do. @type {import("./messages_view.js").MessageActions} */
export const actions = {
  react: (m, emoji) => {
    state.handles.get(m.room)?.react(m.id, emoji).catch(() => {});
  },
  edit: (m) => {
    stopReplying();
    state.editing = { room: m.room, id: m.id };
    ui.input.value = m.message ?? "";
    ui.editing.hidden = false;
    ui.input.focus();
  },
  remove: (m) => {
    state.handles.get(m.room)?.delete(m.id).catch(() => {});
  },
  reply: (m) => startReplying(m),
  thread: (m) => {
    // The thread of a reply is its first message's.
    const c = state.rooms.get(m.room);
    const rootId = m.thread ?? m.id;
    const line = c?.lines.find((l) => l.kind === "message" && l.message.id === rootId);
    openThread(line?.kind === "message" ? line.message : m);
  },
  jump: (id) => jumpTo(id),
  retry: (key) => {
    const c = current();
    const line = c && sendLine(c, key);
    if (!c || !line) return;
    line.failed = undefined;
    line.pending = true;
    const { message: text = "", replyTo } = line.message;
    if (c.kind === "room") saved.keep({ room: c.id, text, key, replyTo });
    deliver(c, key, text, false, replyTo);
    render();
  },
  editFailed: (key) => {
    const c = current();
    const line = c && sendLine(c, key);
    if (!c || !line) return;
    c.lines = c.lines.filter((l) => l !== line);
    saved.forget(key);
    ui.input.value = line.message.message ?? "";
    ui.input.focus();
    render();
  },
  discard: (key) => {
    const c = current();
    if (!c) return;
    c.lines = c.lines.filter((l) => l.key !== key);
    saved.forget(key);
    render();
  },
};

/** Tells the room we are typing, at most every few seconds. */
export function typed() {
  const c = current();
  if (!c) return;
  saved.setDraft(c.id, ui.input.value);
  ui.composerError.textContent = "";
  if (c.kind !== "room" || state.editing) return;
  const now = Date.now();
  if (now - state.lastTypingSent < TYPING_SEND_MS) return;
  state.lastTypingSent = now;
  state.handles.get(c.id)?.typing();
}
