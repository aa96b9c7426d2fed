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
 * The members of the room in view: each a button to write to them alone (not ourselves), and
 * "Show more" for the next page of a large room.
 * @param {{ list: HTMLElement, title: HTMLElement }} ui
 * @param {Conversation | undefined} c
 * @param {string} myName
 * @param {{ direct: (name: string) => void, more: (c: Conversation) => void }} actions
 */
export function renderMembers(ui, c, myName, actions) {
  const members = c?.kind === "room" ? c.members : [];
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
