// @ts-check
/// <reference lib="dom" />
/**
 * The page's shared state: its elements, the conversations it holds, the one in view, and what
 * is remembered of them (`saved.js`). Every other part of the web client reads and changes this.
 *
 * @module
 */
import { byId } from "./dom.js";
import { saved } from "./saved.js";

/** @typedef {import("./conversations.js").Conversation} Conversation */
/** @typedef {import("./conversations.js").Message} Message */
/** @typedef {import("../client.js").Room} Room */

/** Where the page is served (the server's routes are relative to it). */
export const base = new URL(".", location.href);
const input = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ (byId(id));
/** The page's elements. */
export const ui = {
  status: byId("status"),
  whoami: byId("whoami"),
  login: byId("login"),
  loginForm: /** @type {HTMLFormElement} */ (byId("login-form")),
  loginTitle: byId("login-title"),
  loginNote: byId("login-note"),
  loginName: input("login-name"),
  loginNameField: byId("login-name-field"),
  loginToken: input("login-token"),
  loginTokenField: byId("login-token-field"),
  chat: byId("chat"),
  joined: byId("joined-rooms"),
  allRooms: byId("all-rooms"),
  joinForm: /** @type {HTMLFormElement} */ (byId("join-form")),
  joinName: input("join-name"),
  joinPrivate: input("join-private"),
  invite: /** @type {HTMLButtonElement} */ (byId("invite")),
  inviteDialog: /** @type {HTMLDialogElement} */ (byId("invite-dialog")),
  inviteForm: /** @type {HTMLFormElement} */ (byId("invite-form")),
  inviteName: input("invite-name"),
  inviteError: byId("invite-error"),
  inviteCancel: /** @type {HTMLButtonElement} */ (byId("invite-cancel")),
  roomTitle: byId("room-title"),
  roomMenuButton: /** @type {HTMLButtonElement} */ (byId("room-menu-button")),
  roomMenu: byId("room-menu"),
  leave: /** @type {HTMLButtonElement} */ (byId("leave")),
  messages: byId("messages"),
  jump: /** @type {HTMLButtonElement} */ (byId("jump")),
  announcer: byId("announcer"),
  composer: /** @type {HTMLFormElement} */ (byId("composer")),
  composerError: byId("composer-error"),
  input: /** @type {HTMLTextAreaElement} */ (byId("message")),
  members: byId("members"),
  membersTitle: byId("members-title"),
  directs: byId("direct-list"),
  directHint: byId("direct-hint"),
  typing: byId("typing"),
  editing: byId("editing"),
  cancelEdit: /** @type {HTMLButtonElement} */ (byId("cancel-edit")),
  openRooms: /** @type {HTMLButtonElement} */ (byId("open-rooms")),
  openMembers: /** @type {HTMLButtonElement} */ (byId("open-members")),
  roomsUnread: byId("rooms-unread"),
  roomsPanel: byId("rooms-panel"),
  membersPanel: byId("members-panel"),
  backdrop: byId("backdrop"),
  searchForm: /** @type {HTMLFormElement} */ (byId("search-form")),
  search: input("search"),
  replying: byId("replying"),
  replyingText: byId("replying-text"),
  cancelReply: /** @type {HTMLButtonElement} */ (byId("cancel-reply")),
  mentionList: byId("mention-list"),
  sidePanel: byId("side-panel"),
  sideTitle: byId("side-title"),
  sideStatus: byId("side-status"),
  sideList: byId("side-list"),
  sideClose: /** @type {HTMLButtonElement} */ (byId("side-close")),
  threadForm: /** @type {HTMLFormElement} */ (byId("thread-form")),
  threadInput: /** @type {HTMLTextAreaElement} */ (byId("thread-input")),
};
/** The drawers of the phone layout, with their toggles. */
export const drawers = {
  panels: [ui.roomsPanel, ui.membersPanel],
  toggles: [ui.openRooms, ui.openMembers],
  backdrop: ui.backdrop,
};

/** What the page holds: the client, the server's settings, every conversation, the one in view. */
export const state = {
  /** @type {import("../client.js").ChatClient | undefined} */
  client: undefined,
  config: { tokens: false, tokenUrl: /** @type {string | null} */ (null), maxMessageLength: 4000 },
  /** @type {Map<string, Conversation>} rooms by id */
  rooms: new Map(),
  /** @type {Map<string, Room>} the library's room handles by id */
  handles: new Map(),
  /** @type {Map<string, Conversation>} direct conversations by "@" + name in lower case */
  directs: new Map(),
  /** @type {string | undefined} */
  active: undefined,
  me: { name: "", id: "" },
  /** @type {Map<string, Set<string>>} the emojis this member reacted with, by message */
  reacted: new Map(),
  /** @type {{ room: string, id: string } | undefined} the message being edited */
  editing: undefined,
  /** @type {Message | undefined} the message the composer answers */
  replyTo: undefined,
  /** @type {string | undefined} a message brought into view, marked for a moment */
  flash: undefined,
  /** @type {string | undefined} the member whose moderation menu is open */
  memberMenu: undefined,
  /**
   * What the side panel shows: a thread (its first message and replies) or search results.
   * @type {{ kind: "thread", room: string, root: Message, messages: Message[] }
   *   | { kind: "search", room: string, q: string, messages: Message[], next?: string }
   *   | undefined}
   */
  panel: undefined,
  online: false,
  lastTypingSent: 0,
  /** Resolves once the first room is joined (a send before that waits for it). */
  joined: Promise.resolve(),
  /** @type {string | undefined} the message whose actions a tap showed (touch screens) */
  actionsFor: undefined,
  /** @type {{ id: string, name: string, members: number }[]} */
  allRooms: [],
};

/** The conversation in view, room or direct. */
export function current() {
  return state.active
    ? (state.rooms.get(state.active) ?? state.directs.get(state.active))
    : undefined;
}

/** @param {string} id */
export function conversation(id) {
  return state.rooms.get(id) ?? state.directs.get(id);
}

/** Remembers the rooms and direct conversations for the next visit. */
export function remember() {
  saved.setRooms([...state.rooms.values()].map((r) => r.name));
  saved.setDirects([...state.directs.values()].map((d) => d.name));
}

/**
 * Everything in this conversation so far has been seen: the server keeps the position for this
 * person on every device (it never moves back, and many calls in a row cost one write).
 * @param {Conversation} c
 */
export function markRead(c) {
  c.unread = 0;
  c.mentions = 0;
  if (c.kind !== "room") return;
  const newest = c.lines.findLast((l) => l.kind === "message" && !l.pending && !l.failed);
  const id = newest?.kind === "message" ? newest.message.id : undefined;
  if (id === undefined || (c.readUpToId !== undefined && c.readUpToId >= id)) return;
  c.readUpToId = id;
  tellRead(c);
}

/** Read positions are told at most this often per room (the newest one at the end). */
const READ_EVERY_MS = 1000;
/** When each room's position was last told, and the send waiting for its turn. */
const readTold = new Map();

/**
 * Tells the server where this person stopped reading in a room: now, or once a second has
 * passed since the last time (with the position as it is then).
 * @param {Conversation} c
 */
function tellRead(c) {
  /** @type {{ at: number, timer?: ReturnType<typeof setTimeout> }} */
  const slot = readTold.get(c.id) ?? { at: 0 };
  readTold.set(c.id, slot);
  const tell = () => {
    slot.timer = undefined;
    slot.at = Date.now();
    const id = c.readUpToId;
    if (id !== undefined) state.handles.get(c.id)?.read(id).catch(() => {});
  };
  const wait = slot.at + READ_EVERY_MS - Date.now();
  if (wait <= 0) tell();
  else slot.timer ??= setTimeout(tell, wait);
}

/** Leaves editing: the composer is emptied. */
export function stopEditing() {
  state.editing = undefined;
  ui.editing.hidden = true;
  ui.input.value = "";
}
