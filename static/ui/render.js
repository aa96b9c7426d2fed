// @ts-check
/// <reference lib="dom" />
/**
 * Draws the page from its state: the conversation in view, the lists beside it, who is typing.
 * What the drawing calls back into (opening a conversation, a message's actions) is set by the
 * page at start (`hooks`), so that this module depends on nothing that depends on it.
 *
 * @module
 */
import { renderLines } from "./messages_view.js";
import { renderConversations, renderMembers } from "./sidebar_view.js";
import { current, state, ui } from "./page.js";

/** @typedef {import("./conversations.js").Conversation} Conversation */
/** @typedef {import("./conversations.js").Message} Message */
/** @typedef {import("../client.js").Room} Room */

/** What the drawing calls back into; the page sets them at start. */
export const hooks = {
  /** Brings a conversation into view. @type {(id: string) => void} */
  activate: () => {},
  /** Opens the direct conversation with a member. @type {(name: string) => void} */
  openDirect: () => {},
  /** The next page of a large room's members. @type {(c: Conversation) => void} */
  listMore: () => {},
  /**
   * A moderation command from the member menu.
   * @type {(c: Conversation, action: string, name: string, options?: Record<string, unknown>) => void}
   */
  moderate: () => {},
  /** @type {import("./messages_view.js").MessageActions | undefined} */
  actions: undefined,
};

/**
 * Draws the page from the model.
 * @param {boolean} [stick] stay at the bottom if already there
 * @param {boolean} [force] go to the bottom (our own send, a conversation opened)
 */
export function render(stick = false, force = false) {
  const list = ui.messages;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const c = current();
  const rooms = [...state.rooms.values()];
  const directs = [...state.directs.values()];
  renderConversations(ui, rooms, directs, state.active, hooks.activate);
  const unread = [...rooms, ...directs].filter((x) => x.id !== state.active)
    .reduce((sum, x) => sum + x.unread, 0);
  ui.roomsUnread.hidden = unread === 0;
  ui.roomsUnread.textContent = String(unread);
  ui.roomsUnread.setAttribute("aria-label", `${unread} unread`);
  ui.roomTitle.textContent = c ? (c.kind === "direct" ? `@${c.name}` : c.name) : "No room";
  ui.roomMenuButton.disabled = !c;
  // Owners and moderators invite (into a private room, the only way in).
  ui.invite.hidden = !(c?.kind === "room" && (c.role === "owner" || c.role === "moderator"));
  ui.leave.textContent = c?.kind === "direct" ? "Close conversation" : "Leave room";
  list.replaceChildren(
    ...(c
      ? renderLines(c, {
        myId: state.me.id,
        offline: !state.online,
        reacted: state.reacted,
        actionsFor: state.actionsFor,
        flash: state.flash,
        actions: /** @type {import("./messages_view.js").MessageActions} */ (hooks.actions),
      })
      : []),
  );
  renderMembers({ list: ui.members, title: ui.membersTitle }, c, state.me.name, {
    direct: (name) => {
      hooks.openDirect(name);
      ui.input.focus();
    },
    more: (room) => hooks.listMore(room),
    moderate: (room, action, name, options) => hooks.moderate(room, action, name, options),
    menuFor: () => state.memberMenu,
    toggleMenu: (name) => {
      state.memberMenu = state.memberMenu === name ? undefined : name;
      render();
    },
  });
  renderTyping();
  if (force) {
    const line = list.querySelector(".new-line");
    if (line) line.scrollIntoView({ block: "center" });
    else list.scrollTop = list.scrollHeight;
  } else if (stick && atBottom) list.scrollTop = list.scrollHeight;
  showJump();
}

/** The "Jump to latest" button shows when the newest messages are out of view. */
export function showJump() {
  const list = ui.messages;
  ui.jump.hidden = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
}

/** Says who is typing in the conversation in view. */
export function renderTyping() {
  const c = current();
  const now = Date.now();
  const names = c ? [...c.typing].filter(([, until]) => until > now).map(([n]) => n) : [];
  ui.typing.textContent = names.length === 0
    ? ""
    : `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`;
}
