// @ts-check
/// <reference lib="dom" />
/**
 * The panels beside the conversation: your rooms and direct conversations with unread counts,
 * every room on the server (live: pushed by the server, not polled), and the members of the room
 * in view.
 *
 * @module
 */
import { button, el } from "./dom.js";

/** @typedef {import("./conversations.js").Conversation} Conversation */

/**
 * A conversation's entry in a list: its name, its unread count, current when in view.
 * @param {string} label
 * @param {Conversation} c
 * @param {boolean} active
 * @param {() => void} open
 */
function entry(label, c, active, open) {
  const node = button("", open);
  node.append(el("span", "", label));
  if (c.private) {
    const lock = el("span", "lock", "🔒");
    lock.setAttribute("role", "img");
    lock.setAttribute("aria-label", "private");
    node.append(lock);
  }
  if (c.unread > 0) {
    const badge = el("span", "badge", c.unread >= 50 ? "50+" : String(c.unread));
    badge.setAttribute("aria-label", `${c.unread} unread`);
    node.append(badge);
  }
  if (c.mentions > 0) {
    const badge = el("span", "badge mention", `@${c.mentions}`);
    badge.setAttribute("aria-label", `${c.mentions} mentioning you`);
    node.append(badge);
  }
  if (active) node.setAttribute("aria-current", "true");
  const li = el("li");
  li.append(node);
  return li;
}

/**
 * Your rooms, then your direct conversations.
 * @param {{ joined: HTMLElement, directs: HTMLElement, directHint: HTMLElement }} ui
 * @param {Conversation[]} rooms
 * @param {Conversation[]} directs
 * @param {string | undefined} active
 * @param {(id: string) => void} open
 */
export function renderConversations(ui, rooms, directs, active, open) {
  ui.joined.replaceChildren(
    ...rooms.map((c) => entry(c.name, c, c.id === active, () => open(c.id))),
  );
  ui.directHint.hidden = directs.length > 0;
  ui.directs.replaceChildren(
    ...directs.map((c) => entry(`@${c.name}`, c, c.id === active, () => open(c.id))),
  );
}

/** How long the member menu's Mute lasts. */
const MUTE_SECONDS = 600;

/**
 * The moderation menu of one member, for a room's owner and moderators: Kick, Ban, Mute (10
 * minutes), and for the owner Make moderator / Remove moderator.
 * @param {Conversation} c
 * @param {string} name
 * @param {{ moderate: (c: Conversation, action: string, name: string, options?: Record<string, unknown>) => void, menuFor: () => string | undefined, toggleMenu: (name: string) => void }} actions
 */
function moderationMenu(c, name, actions) {
  const wrap = el("div", "member-menu");
  const open = actions.menuFor() === name;
  const toggle = button("⋯", () => actions.toggleMenu(name), {
    className: "quiet",
    label: `Moderate ${name}`,
  });
  toggle.setAttribute("aria-expanded", String(open));
  wrap.append(toggle);
  if (!open) return wrap;
  const menu = el("div", "menu");
  const act =
    (/** @type {string} */ action, /** @type {Record<string, unknown>} */ options = {}) => () =>
      actions.moderate(c, action, name, options);
  menu.append(
    button("Kick", act("kick")),
    button("Ban", act("ban")),
    button("Mute for 10 minutes", act("mute", { seconds: MUTE_SECONDS })),
  );
  if (c.role === "owner") {
    menu.append(
      button("Make moderator", act("role", { role: "moderator" })),
      button("Remove moderator", act("role", { role: "member" })),
    );
  }
  wrap.append(menu);
  return wrap;
}

/**
 * Every room on the server, with how many are in it.
 * @param {HTMLElement} list
 * @param {{ id: string, name: string, members: number }[]} rooms
 * @param {(room: { id: string, name: string }) => void} open
 */
export function renderAllRooms(list, rooms, open) {
  if (rooms.length === 0) {
    list.replaceChildren(el("li", "hint", "No rooms yet: join one by name above."));
    return;
  }
  list.replaceChildren(...rooms.map((room) => {
    const node = button("", () => open(room));
    node.append(el("span", "", room.name), el("span", "count", `${room.members} online`));
    const li = el("li");
    li.append(node);
    return li;
  }));
}

/**
 * The members of the room in view: each a button to write to them alone (not ourselves), with a
 * moderation menu for the room's owner and moderators, and "Show more" for the next page of a
 * large room.
 * @param {{ list: HTMLElement, title: HTMLElement }} ui
 * @param {Conversation | undefined} c
 * @param {string} myName
 * @param {{ direct: (name: string) => void, more: (c: Conversation) => void, moderate: (c: Conversation, action: string, name: string, options?: Record<string, unknown>) => void, menuFor: () => string | undefined, toggleMenu: (name: string) => void }} actions
 */
export function renderMembers(ui, c, myName, actions) {
  const members = c?.kind === "room" ? c.members : [];
  const moderator = c?.kind === "room" && (c.role === "owner" || c.role === "moderator");
  ui.list.replaceChildren(...members.map((name) => {
    const li = el("li");
    if (name === myName) {
      li.append(el("span", "", `${name} (you)`));
      return li;
    }
    li.append(
      button(name, () => actions.direct(name), {
        className: "link member",
        label: `Message ${name} directly`,
      }),
    );
    if (moderator && c) li.append(moderationMenu(c, name, actions));
    return li;
  }));
  ui.title.textContent = c?.kind === "room"
    ? `Members (${Math.max(c.memberCount, members.length)})`
    : "Members";
  if (c?.kind === "room" && c.membersMore) {
    const li = el("li");
    li.append(button("Show more", () => actions.more(c), { className: "link" }));
    ui.list.append(li);
  }
}
