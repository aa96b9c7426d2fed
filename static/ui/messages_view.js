// @ts-check
/// <reference lib="dom" />
/**
 * The conversation in view as a list: messages of one author grouped under one name and avatar,
 * a separator per day, a "New messages" line where unread ones start, actions in a toolbar that
 * shows on hover or focus (a tap on touch screens), our sends in flight and refused ones with
 * what can be done, and a hint when there is nothing yet.
 *
 * @module
 */
import { avatar, button, dayKey, dayLabel, el, timeOf } from "./dom.js";

/** @typedef {import("./conversations.js").Conversation} Conversation */
/** @typedef {import("./conversations.js").Message} Message */

/** Reactions offered in the palette (any emoji is accepted from other clients). */
export const EMOJIS = ["👍", "❤️", "😂", "🎉", "😮"];
/** Messages of one author closer than this are grouped under one name. */
const GROUP_MS = 5 * 60_000;

/**
 * What a message's controls do.
 * @typedef {{
 *   react: (m: Message, emoji: string) => void,
 *   edit: (m: Message) => void,
 *   remove: (m: Message) => void,
 *   retry: (key: string) => void,
 *   editFailed: (key: string) => void,
 *   discard: (key: string) => void,
 *   reply: (m: Message) => void,
 *   thread: (m: Message) => void,
 *   jump: (id: string) => void,
 * }} MessageActions
 */

/**
 * The items of a conversation's list.
 * @param {Conversation} c
 * @param {{ myId: string, offline: boolean, reacted: Map<string, Set<string>>, actions: MessageActions, actionsFor?: string, flash?: string }} context
 * @returns {HTMLElement[]}
 */
export function renderLines(c, context) {
  /** @type {HTMLElement[]} */
  const items = [];
  /** @type {Message | undefined} */
  let previous;
  let day = "";
  let newLineShown = false;
  for (const line of c.lines) {
    if (line.kind === "notice") {
      const notice = el("li", "notice", line.text);
      if (line.action) {
        notice.append(" ", button(line.action.label, line.action.run, { className: "link" }));
      }
      items.push(notice);
      previous = undefined;
      continue;
    }
    const m = line.message;
    if (dayKey(m.ts) !== day) {
      day = dayKey(m.ts);
      const separator = el("li", "day");
      separator.append(el("span", "", dayLabel(m.ts)));
      items.push(separator);
      previous = undefined;
    }
    const unread = c.newFrom !== undefined && m.id > c.newFrom && m.memberId !== context.myId;
    if (unread && !newLineShown && !line.pending) {
      newLineShown = true;
      items.push(el("li", "new-line", "New messages"));
      previous = undefined;
    }
    const grouped = previous !== undefined && previous.memberId === m.memberId &&
      m.ts - previous.ts < GROUP_MS;
    items.push(renderMessage(c, line, grouped, context));
    previous = m;
  }
  if (!c.lines.some((l) => l.kind === "message") && c.loaded) {
    const hint = c.kind === "direct"
      ? `No messages with ${c.name} yet. Say hello!`
      : `No messages in ${c.name} yet. Say hello!`;
    items.push(el("li", "empty", hint));
  }
  return items;
}

/**
 * One message.
 * @param {Conversation} c
 * @param {Extract<import("./conversations.js").Line, { kind: "message" }>} line
 * @param {boolean} grouped
 * @param {{ myId: string, offline: boolean, reacted: Map<string, Set<string>>, actions: MessageActions, actionsFor?: string, flash?: string }} context
 */
function renderMessage(c, line, grouped, context) {
  const m = line.message;
  const mine = m.memberId === context.myId;
  const li = el("li", "message");
  li.dataset.id = m.id;
  if (mine) li.classList.add("mine");
  if (grouped) li.classList.add("grouped");
  if (line.pending) li.classList.add("pending");
  if (line.failed) li.classList.add("failed");
  if (context.actionsFor === m.id) li.classList.add("show-actions");
  if (context.flash === m.id) {
    li.classList.add("flash");
    li.tabIndex = -1;
  }
  if (!grouped) {
    li.append(avatar(m.member, m.memberId));
    const head = el("div", "msg-head");
    head.append(el("strong", "", m.member));
    const time = el("time", "", timeOf(m.ts));
    time.setAttribute("datetime", new Date(m.ts).toISOString());
    head.append(time);
    li.append(head);
  }
  if (m.deleted) {
    li.classList.add("deleted");
    li.append(el("p", "msg-body", "This message was deleted."));
    return li;
  }
  if (m.replyTo !== undefined) li.append(renderQuote(c, m.replyTo, context.actions));
  if (m.mentions?.includes(context.myId)) li.classList.add("mentioned");
  // A binary message (seed 001's clients send bytes) has no text to show.
  li.append(
    m.message === undefined
      ? el("p", "msg-body", "[binary message]")
      : withMentions(el("p", "msg-body"), m.message, c.members),
  );
  if (m.editedAt) li.append(el("span", "edited", "(edited)"));
  if (line.pending) {
    li.append(
      el(
        "p",
        "sending",
        context.offline ? "You're offline — will send when reconnected" : "Sending…",
      ),
    );
    return li;
  }
  if (line.failed) {
    const failure = el("p", "failure", line.failed.text);
    const key = line.key;
    const { actions } = context;
    if (line.failed.retry) {
      failure.append(button("Retry", () => actions.retry(key), { className: "link" }));
    }
    failure.append(
      button("Edit", () => actions.editFailed(key), { className: "link" }),
      button("Discard", () => actions.discard(key), { className: "link" }),
    );
    li.append(failure);
    return li;
  }
  if (c.kind === "room") {
    if (m.replies) {
      const label = m.replies === 1 ? "1 reply" : `${m.replies} replies`;
      li.append(button(label, () => context.actions.thread(m), { className: "link replies" }));
    }
    li.append(renderReactions(m, context));
    li.append(renderToolbar(m, mine, context.actions));
  }
  return li;
}

/**
 * The message a reply answers, quoted above it: a button that brings it into view.
 * @param {Conversation} c
 * @param {string} id
 * @param {MessageActions} actions
 */
function renderQuote(c, id, actions) {
  const line = c.lines.find((l) => l.kind === "message" && l.message.id === id);
  const target = line?.kind === "message" ? line.message : undefined;
  const text = !target
    ? "Replying to an earlier message"
    : target.deleted
    ? "Replying to a deleted message"
    : `${target.member}: ${snippet(target.message ?? "[binary message]")}`;
  return button(`↪ ${text}`, () => actions.jump(id), { className: "quote" });
}

/**
 * A short first part of a text, for quotes.
 * @param {string} text
 */
export function snippet(text) {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 80 ? `${flat.slice(0, 79)}…` : flat;
}

/**
 * Fills `node` with `text`, each `@name` of a member in a highlight (as text, never HTML).
 * @param {HTMLElement} node
 * @param {string} text
 * @param {string[]} names
 */
export function withMentions(node, text, names) {
  if (!text.includes("@") || names.length === 0) {
    node.textContent = text;
    return node;
  }
  const escaped = [...names].sort((a, b) => b.length - a.length)
    .map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`@(?:${escaped.join("|")})(?![\\p{L}\\p{N}_-])`, "giu");
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    node.append(text.slice(at, match.index));
    node.append(el("span", "mention", match[0]));
    at = match.index + match[0].length;
  }
  node.append(text.slice(at));
  return node;
}

/**
 * Reaction counts as toggle buttons.
 * @param {Message} m
 * @param {{ reacted: Map<string, Set<string>>, actions: MessageActions }} context
 */
function renderReactions(m, context) {
  const bar = el("div", "reactions");
  const mine = context.reacted.get(m.id) ?? new Set();
  for (const [emoji, n] of Object.entries(m.reactions ?? {})) {
    const chip = button(`${emoji} ${n}`, () => context.actions.react(m, emoji), {
      className: "chip",
      label: `${emoji} ${n}, ${mine.has(emoji) ? "remove yours" : "add yours"}`,
    });
    chip.setAttribute("aria-pressed", String(mine.has(emoji)));
    bar.append(chip);
  }
  return bar;
}

/**
 * The actions of a message: react (a palette), and on our own, edit and delete.
 * @param {Message} m
 * @param {boolean} mine
 * @param {MessageActions} actions
 */
function renderToolbar(m, mine, actions) {
  const bar = el("div", "actions");
  bar.setAttribute("role", "toolbar");
  bar.setAttribute("aria-label", `Actions for the message from ${m.member}`);
  const palette = el("div", "palette");
  palette.hidden = true;
  for (const emoji of EMOJIS) {
    palette.append(button(emoji, () => {
      palette.hidden = true;
      actions.react(m, emoji);
    }, { className: "link", label: `React with ${emoji}` }));
  }
  const react = button("React", () => {
    palette.hidden = !palette.hidden;
    react.setAttribute("aria-expanded", String(!palette.hidden));
    if (!palette.hidden) /** @type {HTMLElement | null} */ (palette.firstElementChild)?.focus();
  }, { className: "link" });
  react.setAttribute("aria-expanded", "false");
  bar.append(react, button("Reply", () => actions.reply(m), { className: "link" }));
  if (mine) {
    bar.append(
      button("Edit", () => actions.edit(m), { className: "link" }),
      button("Delete", () => actions.remove(m), { className: "link" }),
    );
  }
  bar.append(palette);
  return bar;
}
