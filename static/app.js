// @ts-check
/// <reference lib="dom" />
import { Connection } from "./connection.js";

/**
 * The web client: plain DOM, every user string rendered with textContent (never as HTML).
 * State is per room: messages by id (so that replays never show twice), the newest id seen (the
 * `since` cursor for resuming), the oldest loaded (the `before` cursor for scrolling up), the last
 * `seq` seen (a jump of more than 1 means something was missed: the room reloads its history),
 * members and unread counts.
 */

/**
 * @typedef {{
 *   id: string, seq: number, member: string, memberId: string, message: string, ts: number,
 *   room: string, editedAt?: number, deleted?: boolean, reactions?: Record<string, number>
 * }} Message
 */
/** @typedef {{ kind: "message", message: Message, pending?: boolean, failed?: string, key: string } | { kind: "notice", text: string, key: string }} Line */
/**
 * A room, or a direct conversation with one member (`kind: "direct"`, `id` = "@" + their name
 * in lower case, `name` = their name).
 * @typedef {{
 *   kind: "room" | "direct", id: string, name: string, lines: Line[], ids: Set<string>,
 *   newest?: string, oldest?: string, more: boolean, loading: boolean, members: string[],
 *   unread: number, seq?: number, typing: Map<string, number>, memberCount: number,
 *   membersMore: boolean, membersPaged: number
 * }} RoomState
 */

/** Reactions offered in the palette (any emoji is accepted from other clients). */
const EMOJIS = ["👍", "❤️", "😂", "🎉", "😮"];
/** How long "… is typing" shows after the last typing event, and how often we send ours. */
const TYPING_SHOW_MS = 3000;
const TYPING_SEND_MS = 2000;

const NAME_KEY = "chat.name";
const ROOMS_KEY = "chat.rooms";
const GROUP_MS = 5 * 60_000;
const LOST = "connection lost";

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const base = new URL(".", location.href);

const ui = {
  status: byId("status"),
  whoami: byId("whoami"),
  login: /** @type {HTMLFormElement} */ (byId("login")),
  loginName: /** @type {HTMLInputElement} */ (byId("login-name")),
  chat: byId("chat"),
  joinedRooms: byId("joined-rooms"),
  allRooms: byId("all-rooms"),
  joinForm: /** @type {HTMLFormElement} */ (byId("join-form")),
  joinName: /** @type {HTMLInputElement} */ (byId("join-name")),
  roomTitle: byId("room-title"),
  leave: /** @type {HTMLButtonElement} */ (byId("leave")),
  messages: byId("messages"),
  announcer: byId("announcer"),
  composer: /** @type {HTMLFormElement} */ (byId("composer")),
  input: /** @type {HTMLTextAreaElement} */ (byId("message")),
  members: byId("members"),
  membersTitle: byId("members-title"),
  directList: byId("direct-list"),
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
};

const state = {
  /** @type {Map<string, RoomState>} */
  rooms: new Map(),
  /** @type {string | undefined} */
  active: undefined,
  me: { name: "", id: "" },
  wantedName: "",
  seq: 0,
  /** @type {Map<string, { room: string, key: string }>} */
  pending: new Map(),
  /** @type {Map<string, string>} request id -> room to activate when joined */
  joining: new Map(),
  /** @type {Set<string>} every member id this page has had (one per connection) */
  formerIds: new Set(),
  /** @type {Map<string, RoomState>} direct conversations, by "@" + name in lower case */
  directs: new Map(),
  /** @type {Map<string, Set<string>>} the emojis this page's member reacted with, by message */
  reacted: new Map(),
  /** @type {{ room: string, id: string } | undefined} the message being edited */
  editing: undefined,
  lastTypingSent: 0,
};

/** The active conversation, room or direct. */
function current() {
  return state.active
    ? (state.rooms.get(state.active) ?? state.directs.get(state.active))
    : undefined;
}

/** Room names the user is in, remembered for the next visit. */
function savedRooms() {
  try {
    const rooms = JSON.parse(localStorage.getItem(ROOMS_KEY) ?? "[]");
    return Array.isArray(rooms) && rooms.length ? rooms.map(String) : ["lobby"];
  } catch {
    return ["lobby"];
  }
}

function saveRooms() {
  localStorage.setItem(ROOMS_KEY, JSON.stringify([...state.rooms.values()].map((r) => r.name)));
}

/** The socket URL of the next attempt: the first room, resumed from its newest id. */
function socketUrl() {
  const url = new URL("ws", base);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("name", state.me.name || state.wantedName);
  const first = [...state.rooms.values()][0];
  url.searchParams.set("room", first ? first.id : savedRooms()[0]);
  if (first?.newest) url.searchParams.set("since", first.newest);
  return url.href;
}

const connection = new Connection(socketUrl, {
  onState: (kind, detail) => {
    ui.status.dataset.state = kind === "online" ? "online" : "offline";
    ui.status.textContent = {
      connecting: "Connecting…",
      online: "Connected",
      waiting: "Offline",
      closed: "Disconnected",
    }[kind] + (detail ? ` (${detail})` : "");
  },
  onOpen: () => {
    // The first room comes with the URL; the others are resumed here, each from its cursor.
    const [, ...others] = [...state.rooms.values()];
    for (const room of others) {
      const command = { command: "join", room: room.id, id: nextId() };
      if (room.newest) Object.assign(command, { since: room.newest });
      connection.send(command);
    }
    if (state.rooms.size === 0) {
      for (const name of savedRooms().slice(1)) joinRoom(name, false);
    }
    for (const [id, { room, key }] of state.pending) {
      markFailed(room, key, LOST);
      state.pending.delete(id);
    }
  },
  onEvent: (event) => handle(event),
});

function nextId() {
  return `c${++state.seq}`;
}

/** @param {string} id @param {string} name */
function roomState(id, name) {
  let room = state.rooms.get(id);
  if (!room) {
    room = blankConversation("room", id, name);
    state.rooms.set(id, room);
  }
  return room;
}

/** @param {"room" | "direct"} kind @param {string} id @param {string} name @returns {RoomState} */
function blankConversation(kind, id, name) {
  return {
    kind,
    id,
    name,
    lines: [],
    ids: new Set(),
    more: true,
    loading: false,
    members: [],
    unread: 0,
    typing: new Map(),
    memberCount: 0,
    membersMore: false,
    membersPaged: 0,
  };
}

/** The direct conversation with a member, created (and its history asked for) on first use. @param {string} name */
function directState(name) {
  const id = `@${name.toLowerCase()}`;
  let conversation = state.directs.get(id);
  if (!conversation) {
    conversation = blankConversation("direct", id, name);
    state.directs.set(id, conversation);
    loadOlder(conversation);
  }
  return conversation;
}

/** @param {Record<string, unknown>} event */
function handle(event) {
  switch (event.event) {
    case "me":
      state.me = { name: String(event.member), id: String(event.id) };
      state.formerIds.add(state.me.id);
      localStorage.setItem(NAME_KEY, state.me.name);
      ui.whoami.textContent = `You are ${state.me.name}`;
      break;
    case "joined": {
      const room = roomState(String(event.room), String(event.name));
      room.members = /** @type {string[]} */ (event.members);
      // A large room sends a page of names and the count (more come with `list` and an offset).
      room.memberCount = typeof event.count === "number" ? event.count : room.members.length;
      room.membersMore = event.more === true;
      room.membersPaged = room.members.length;
      if (event.recovered === false) {
        reload(room, "Some messages expired while you were away; reloading history.");
      } else if (!room.newest) {
        loadOlder(room);
      }
      // A fresh join continues after the room's seq; a resume continues after our own.
      if (event.recovered === undefined || room.seq === undefined) room.seq = Number(event.seq);
      const wanted = typeof event.re === "string" && state.joining.get(event.re);
      if (wanted || !state.active) activate(room.id);
      if (typeof event.re === "string") state.joining.delete(event.re);
      saveRooms();
      render();
      break;
    }
    case "broadcast":
      receive(/** @type {Message} */ (/** @type {unknown} */ (event)), event.re);
      break;
    case "history":
      receiveHistory(event);
      break;
    case "edited":
    case "deleted":
    case "reaction":
      receiveChange(event);
      break;
    case "typing":
      receiveTyping(event);
      break;
    case "direct":
      receiveDirect(event);
      break;
    case "join":
    case "leave": {
      const room = state.rooms.get(String(event.room));
      if (!room) break;
      const name = String(event.member);
      room.members = event.event === "join"
        ? [...room.members.filter((m) => m !== name), name]
        : room.members.filter((m) => m !== name);
      room.memberCount = Math.max(0, room.memberCount + (event.event === "join" ? 1 : -1));
      addNotice(room, `${name} ${event.event === "join" ? "joined" : "left"}`);
      render();
      break;
    }
    case "presence_diff": {
      // A large room's joins and leaves over a few ms: applied to the list, without notices.
      const room = state.rooms.get(String(event.room));
      if (!room) break;
      const names = (/** @type {unknown} */ list) =>
        /** @type {{ member: string }[]} */ (list).map((w) => String(w.member));
      const left = new Set(names(event.leaves));
      const joined = names(event.joins).filter((n) => !room.members.includes(n));
      room.members = [...room.members.filter((m) => !left.has(m)), ...joined];
      room.memberCount = Number(event.count);
      render();
      break;
    }
    case "list": {
      // A further page of a large room's members (asked for by "Show more").
      const room = state.rooms.get(String(event.room));
      if (!room || typeof event.offset !== "number") break;
      const page = /** @type {string[]} */ (event.members);
      const more = page.filter((m) => !room.members.includes(m));
      room.members = [...room.members, ...more];
      room.membersPaged += page.length;
      room.memberCount = Number(event.count);
      room.membersMore = event.more === true;
      render();
      break;
    }
    case "renamed": {
      const room = state.rooms.get(String(event.room));
      if (!room) break;
      room.members = room.members.map((m) => (m === event.from ? String(event.to) : m));
      addNotice(room, `${event.from} is now ${event.to}`);
      render();
      break;
    }
    case "left":
      state.rooms.delete(String(event.room));
      if (state.active === event.room) state.active = [...state.rooms.keys()][0];
      saveRooms();
      render();
      break;
    case "notice": {
      // From the server itself (an embedder's chat.notify): shown in its room, or where you are.
      const room = state.rooms.get(String(event.room ?? state.active));
      if (!room) break;
      addNotice(room, `Server: ${event.message}`);
      ui.announcer.textContent = `Server: ${event.message}`;
      render();
      break;
    }
    case "error":
      onError(event);
      break;
  }
}

/** @param {Message} message @param {unknown} re */
function receive(message, re) {
  const room = state.rooms.get(message.room);
  if (!room) return;
  const pending = typeof re === "string" ? state.pending.get(re) : undefined;
  if (pending) {
    state.pending.delete(String(re));
    room.lines = room.lines.filter((l) => l.key !== pending.key);
  }
  if (room.ids.has(message.id)) return; // a replay of something already shown
  if (!advanceSeq(room, message.seq)) return;
  room.typing.delete(message.member);
  if (!pending) dropLostCopy(room, message);
  room.ids.add(message.id);
  room.lines.push({ kind: "message", message, key: message.id });
  if (!room.newest || message.id > room.newest) room.newest = message.id;
  if (!room.oldest) room.oldest = message.id;
  if (room.id !== state.active) room.unread++;
  else if (message.memberId !== state.me.id) {
    ui.announcer.textContent = `${message.member}: ${message.message ?? "[binary message]"}`;
  }
  render(room.id === state.active);
}

/**
 * Moves the room's `seq` to a stored event's; on a jump (something missed) reloads the history
 * and returns false.
 * @param {RoomState} room @param {number} seq
 */
function advanceSeq(room, seq) {
  if (room.seq !== undefined && seq > room.seq + 1) {
    room.seq = seq;
    reload(room, "Some messages did not arrive; reloading history.");
    render();
    return false;
  }
  if (room.seq === undefined || seq > room.seq) room.seq = seq;
  return true;
}

/** An edit, a delete or a reaction: applied to the message where it is shown. @param {Record<string, unknown>} event */
function receiveChange(event) {
  const room = state.rooms.get(String(event.room));
  if (!room || typeof event.seq !== "number") return;
  if (room.seq !== undefined && event.seq <= room.seq) return; // replayed: already applied
  if (!advanceSeq(room, event.seq)) return;
  const line = room.lines.find((l) => l.kind === "message" && l.message.id === event.id);
  if (!line || line.kind !== "message") return render(); // not loaded here: history has it
  const m = line.message;
  if (event.event === "edited") {
    m.message = String(event.message);
    m.editedAt = Number(event.editedAt);
    if (state.editing?.id === m.id) stopEditing();
  } else if (event.event === "deleted") {
    m.deleted = true;
    m.message = "";
    m.reactions = undefined;
  } else {
    const emoji = String(event.emoji);
    const counts = { ...m.reactions };
    counts[emoji] = (counts[emoji] ?? 0) + (event.on ? 1 : -1);
    if (counts[emoji] <= 0) delete counts[emoji];
    m.reactions = counts;
    if (event.member === state.me.name) {
      const mine = state.reacted.get(m.id) ?? new Set();
      if (event.on) mine.add(emoji);
      else mine.delete(emoji);
      state.reacted.set(m.id, mine);
    }
  }
  render();
}

/** @param {Record<string, unknown>} event */
function receiveTyping(event) {
  const room = state.rooms.get(String(event.room));
  if (!room || event.memberId === state.me.id) return;
  room.typing.set(String(event.member), Date.now() + TYPING_SHOW_MS);
  renderTyping();
  setTimeout(renderTyping, TYPING_SHOW_MS + 50);
}

/** A direct message, to us or (an answer, or an echo from another device) from us. @param {Record<string, unknown>} event */
function receiveDirect(event) {
  const ours = event.fromId === state.me.id || state.formerIds.has(String(event.fromId));
  const conversation = directState(String(ours ? event.to : event.from));
  const re = event.re;
  const pending = typeof re === "string" ? state.pending.get(re) : undefined;
  if (pending) {
    state.pending.delete(String(re));
    conversation.lines = conversation.lines.filter((l) => l.key !== pending.key);
  }
  const id = String(event.id);
  if (conversation.ids.has(id)) return;
  conversation.ids.add(id);
  /** @type {Message} */
  const message = {
    id,
    seq: 0,
    member: String(event.from),
    memberId: String(event.fromId),
    message: String(event.message),
    ts: Number(event.ts),
    room: conversation.id,
  };
  conversation.lines.push({ kind: "message", message, key: id });
  if (conversation.id !== state.active && !ours) conversation.unread++;
  else if (!ours) ui.announcer.textContent = `${message.member} (direct): ${message.message}`;
  render(conversation.id === state.active);
}

/**
 * A message sent just before a dropped connection was marked failed, but the server may have
 * stored it: when the replay brings our own message with the same text, the failed copy goes.
 * @param {RoomState} room @param {Message} message
 */
function dropLostCopy(room, message) {
  if (!state.formerIds.has(message.memberId)) return;
  const lost = room.lines.find((l) =>
    l.kind === "message" && l.failed === LOST && l.message.message === message.message
  );
  if (lost) room.lines = room.lines.filter((l) => l !== lost);
}

/**
 * Forgets the room's lines and loads its history again: the server's history is complete even
 * when the live stream was not.
 * @param {RoomState} room @param {string} notice
 */
function reload(room, notice) {
  room.lines = [];
  room.ids.clear();
  room.oldest = undefined;
  room.more = true;
  room.loading = false;
  addNotice(room, notice);
  loadOlder(room);
}

/** @param {Record<string, unknown>} event */
function receiveHistory(event) {
  if (typeof event.with === "string") return receiveDirectHistory(event);
  const room = state.rooms.get(String(event.room));
  if (!room) return;
  room.loading = false;
  room.more = Boolean(event.more);
  const older = /** @type {Message[]} */ (event.messages).filter((m) => !room.ids.has(m.id));
  for (const m of older) {
    room.ids.add(m.id);
    if (room.seq === undefined || m.seq > room.seq) room.seq = m.seq;
  }
  if (older.length) {
    room.oldest = older[0].id;
    if (!room.newest || older[older.length - 1].id > room.newest) {
      room.newest = older[older.length - 1].id;
    }
  }
  const list = ui.messages;
  const fromBottom = list.scrollHeight - list.scrollTop;
  room.lines = [
    ...older.map((m) => /** @type {Line} */ ({ kind: "message", message: m, key: m.id })),
    ...room.lines,
  ];
  render(false);
  // Keep the view where it was: older lines appear above without moving what was read.
  if (room.id === state.active) list.scrollTop = list.scrollHeight - fromBottom;
}

/** A page of direct messages, oldest first. @param {Record<string, unknown>} event */
function receiveDirectHistory(event) {
  const all = /** @type {Record<string, unknown>[]} */ (event.messages);
  const peer = [...state.directs.values()].find((c) => c.loading);
  if (!peer) return;
  peer.loading = false;
  peer.more = Boolean(event.more);
  /** @type {Line[]} */
  const older = [];
  for (const d of all) {
    const id = String(d.id);
    if (peer.ids.has(id)) continue;
    peer.ids.add(id);
    older.push({
      kind: "message",
      key: id,
      message: {
        id,
        seq: 0,
        member: String(d.from),
        memberId: String(d.fromId),
        message: String(d.message),
        ts: Number(d.ts),
        room: peer.id,
      },
    });
  }
  if (older.length && older[0].kind === "message") peer.oldest = older[0].message.id;
  peer.lines = [...older, ...peer.lines];
  // A conversation opened while this page was loading waited its turn.
  const waiting = [...state.directs.values()].find((c) =>
    c.more && c.oldest === undefined && c !== peer
  );
  if (waiting) loadOlder(waiting);
  render(true);
}

/** @param {Record<string, unknown>} event */
function onError(event) {
  const re = typeof event.re === "string" ? event.re : undefined;
  const pending = re ? state.pending.get(re) : undefined;
  if (re && pending) {
    state.pending.delete(re);
    markFailed(pending.room, pending.key, String(event.code));
    return;
  }
  if (re) state.joining.delete(re);
  const room = current();
  if (room) addNotice(room, `Error: ${event.code} — ${event.message}`);
  render();
}

/** @param {string} roomId @param {string} key @param {string} reason */
function markFailed(roomId, key, reason) {
  const room = state.rooms.get(roomId) ?? state.directs.get(roomId);
  const line = room?.lines.find((l) => l.key === key);
  if (line && line.kind === "message") {
    line.pending = false;
    line.failed = reason;
  }
  render();
}

/** @param {RoomState} room @param {string} text */
function addNotice(room, text) {
  room.lines.push({ kind: "notice", text, key: `n${++state.seq}` });
}

/** @param {RoomState} room */
function loadOlder(room) {
  if (room.loading || !room.more) return;
  // One direct page at a time: the answer names the member by id, the page knows names.
  if (room.kind === "direct" && [...state.directs.values()].some((c) => c.loading)) return;
  room.loading = true;
  const target = room.kind === "direct" ? { with: room.name } : { room: room.id };
  const command = { command: "history", ...target, limit: 50, id: nextId() };
  if (room.oldest) Object.assign(command, { before: room.oldest });
  if (!connection.send(command)) room.loading = false;
}

/** @param {string} name @param {boolean} focus */
function joinRoom(name, focus) {
  const id = nextId();
  if (focus) state.joining.set(id, name);
  connection.send({ command: "join", room: name, id });
}

/** @param {string} id */
function activate(id) {
  if (state.editing) stopEditing();
  state.active = id;
  const room = current();
  if (room) room.unread = 0;
  closeDrawers();
  render(true);
}

/** Opens (or creates) the direct conversation with a member. @param {string} name */
function openDirect(name) {
  activate(directState(name).id);
  ui.input.focus();
}

function send() {
  const text = ui.input.value;
  const room = current();
  if (!room || text.trim() === "") return;
  if (state.editing) {
    connection.send({
      command: "edit",
      room: state.editing.room,
      target: state.editing.id,
      message: text,
      id: nextId(),
    });
    stopEditing();
    return;
  }
  ui.input.value = "";
  state.lastTypingSent = 0; // the next words typed are news again
  const id = nextId();
  const key = `p${id}`;
  room.lines.push({
    kind: "message",
    key,
    pending: true,
    message: {
      id: key,
      seq: 0,
      member: state.me.name,
      memberId: state.me.id,
      message: text,
      ts: Date.now(),
      room: room.id,
    },
  });
  const command = room.kind === "direct"
    ? { command: "direct", to: room.name, message: text, id }
    : { command: "broadcast", room: room.id, message: text, id };
  if (connection.send(command)) {
    state.pending.set(id, { room: room.id, key });
  } else {
    markFailed(room.id, key, "offline");
  }
  render(true);
}

/** Puts a message of ours in the composer to edit. @param {Message} m */
function startEditing(m) {
  state.editing = { room: m.room, id: m.id };
  ui.input.value = m.message;
  ui.editing.hidden = false;
  ui.input.focus();
}

function stopEditing() {
  state.editing = undefined;
  ui.editing.hidden = true;
  ui.input.value = "";
}

/** Tells the room we are typing, at most every few seconds. */
function typed() {
  const room = current();
  if (!room || room.kind !== "room" || state.editing) return;
  const now = Date.now();
  if (now - state.lastTypingSent < TYPING_SEND_MS) return;
  state.lastTypingSent = now;
  connection.send({ command: "typing", room: room.id });
}

// ---- drawers (phone layout) --------------------------------------------------------------------

/** @type {HTMLButtonElement | undefined} the toggle that opened the drawer, for focus to return */
let drawerOpener;

/** @param {HTMLElement} panel @param {HTMLButtonElement} opener */
function openDrawer(panel, opener) {
  closeDrawers(false);
  panel.dataset.open = "true";
  opener.setAttribute("aria-expanded", "true");
  ui.backdrop.hidden = false;
  drawerOpener = opener;
  panel.querySelector("button")?.focus();
}

/** @param {boolean} [returnFocus] */
function closeDrawers(returnFocus = true) {
  const open = [ui.roomsPanel, ui.membersPanel].some((p) => p.dataset.open);
  for (const panel of [ui.roomsPanel, ui.membersPanel]) delete panel.dataset.open;
  ui.openRooms.setAttribute("aria-expanded", "false");
  ui.openMembers.setAttribute("aria-expanded", "false");
  ui.backdrop.hidden = true;
  if (open && returnFocus && drawerOpener) drawerOpener.focus();
  drawerOpener = undefined;
}

// ---- rendering --------------------------------------------------------------------------------

/** @param {string} tag @param {string} [className] @param {string} [text] */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/** @param {boolean} [scrollToEnd] stick to the bottom (only when already there, or asked) */
function render(scrollToEnd = false) {
  const list = ui.messages;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  renderRooms();
  renderDirects();
  const room = current();
  ui.roomTitle.textContent = room
    ? (room.kind === "direct" ? `@${room.name}` : room.name)
    : "No room";
  ui.leave.disabled = !room;
  ui.leave.textContent = room?.kind === "direct" ? "Close" : "Leave room";
  list.replaceChildren(...(room ? renderLines(room) : []));
  const members = room?.kind === "room" ? room.members : [];
  ui.members.replaceChildren(...members.map(renderMember));
  ui.membersTitle.textContent = room?.kind === "room"
    ? `Members (${Math.max(room.memberCount, members.length)})`
    : "Members";
  if (room?.kind === "room" && room.membersMore) {
    const more = el("button", "link", "Show more");
    more.setAttribute("type", "button");
    more.addEventListener("click", () =>
      connection.send({
        command: "list",
        room: room.id,
        offset: room.membersPaged,
        id: nextId(),
      }));
    const li = el("li");
    li.append(more);
    ui.members.append(li);
  }
  renderTyping();
  if (scrollToEnd && atBottom) list.scrollTop = list.scrollHeight;
}

/** A member of the room: a button to write to them alone (not for ourselves). @param {string} name */
function renderMember(name) {
  const li = el("li");
  if (name === state.me.name) {
    li.append(el("span", "", `${name} (you)`));
    return li;
  }
  const button = el("button", "link member");
  button.setAttribute("type", "button");
  button.textContent = name;
  button.setAttribute("aria-label", `Message ${name} directly`);
  button.addEventListener("click", () => openDirect(name));
  li.append(button);
  return li;
}

function renderTyping() {
  const room = current();
  const now = Date.now();
  const names = room ? [...room.typing].filter(([, until]) => until > now).map(([n]) => n) : [];
  ui.typing.textContent = names.length === 0
    ? ""
    : `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`;
}

function renderDirects() {
  ui.directHint.hidden = state.directs.size > 0;
  ui.directList.replaceChildren(...[...state.directs.values()].map((c) => {
    const button = el("button");
    button.setAttribute("type", "button");
    button.append(el("span", "", `@${c.name}`));
    if (c.unread > 0) {
      const badge = el("span", "badge", String(c.unread));
      badge.setAttribute("aria-label", `${c.unread} unread`);
      button.append(badge);
    }
    if (c.id === state.active) button.setAttribute("aria-current", "true");
    button.addEventListener("click", () => activate(c.id));
    const li = el("li");
    li.append(button);
    return li;
  }));
  const unread = [...state.rooms.values(), ...state.directs.values()]
    .filter((c) => c.id !== state.active)
    .reduce((sum, c) => sum + c.unread, 0);
  ui.roomsUnread.hidden = unread === 0;
  ui.roomsUnread.textContent = String(unread);
  ui.roomsUnread.setAttribute("aria-label", `${unread} unread`);
}

/** @param {RoomState} room */
function renderLines(room) {
  /** @type {HTMLElement[]} */
  const items = [];
  /** @type {Message | undefined} */
  let previous;
  for (const line of room.lines) {
    if (line.kind === "notice") {
      items.push(el("li", "notice", line.text));
      previous = undefined;
      continue;
    }
    const m = line.message;
    const li = el("li");
    li.dataset.id = m.id;
    if (m.memberId === state.me.id) li.classList.add("mine");
    if (line.pending) li.classList.add("pending");
    if (line.failed) li.classList.add("failed");
    const grouped = previous && previous.memberId === m.memberId && m.ts - previous.ts < GROUP_MS;
    if (!grouped) {
      const head = el("div", "msg-head");
      head.append(el("strong", "", m.member));
      const time = el("time", "", timeFormat.format(m.ts));
      time.setAttribute("datetime", new Date(m.ts).toISOString());
      head.append(time);
      li.append(head);
    }
    if (m.deleted) {
      li.classList.add("deleted");
      li.append(el("p", "msg-body", "This message was deleted."));
      items.push(li);
      previous = m;
      continue;
    }
    // A binary message (seed 001's clients send bytes) has no text to show.
    li.append(el("p", "msg-body", m.message ?? "[binary message]"));
    if (m.editedAt) li.append(el("span", "edited", "(edited)"));
    if (line.pending) li.append(el("span", "visually-hidden", "sending"));
    if (line.failed) li.append(el("p", "failure", `Not sent: ${line.failed}`));
    if (room.kind === "room" && !line.pending && !line.failed) li.append(renderReactions(m));
    items.push(li);
    previous = m;
  }
  return items;
}

/** Reaction counts (toggle buttons), the palette, and for our own messages edit and delete. @param {Message} m */
function renderReactions(m) {
  const bar = el("div", "reactions");
  const mine = state.reacted.get(m.id) ?? new Set();
  for (const [emoji, count] of Object.entries(m.reactions ?? {})) {
    const chip = el("button", "chip", `${emoji} ${count}`);
    chip.setAttribute("type", "button");
    chip.setAttribute("aria-pressed", String(mine.has(emoji)));
    chip.setAttribute(
      "aria-label",
      `${emoji} ${count}, ${mine.has(emoji) ? "remove yours" : "add yours"}`,
    );
    chip.addEventListener("click", () => react(m, emoji));
    bar.append(chip);
  }
  const palette = el("details", "palette");
  const summary = el("summary", "", "React");
  summary.setAttribute("aria-label", "Add a reaction");
  palette.append(summary);
  for (const emoji of EMOJIS) {
    const pick = el("button", "link", emoji);
    pick.setAttribute("type", "button");
    pick.setAttribute("aria-label", `React with ${emoji}`);
    pick.addEventListener("click", () => react(m, emoji));
    palette.append(pick);
  }
  bar.append(palette);
  if (m.memberId === state.me.id) {
    const edit = el("button", "link", "Edit");
    edit.setAttribute("type", "button");
    edit.addEventListener("click", () => startEditing(m));
    const remove = el("button", "link", "Delete");
    remove.setAttribute("type", "button");
    remove.addEventListener(
      "click",
      () => connection.send({ command: "delete", room: m.room, target: m.id, id: nextId() }),
    );
    bar.append(edit, remove);
  }
  return bar;
}

/** @param {Message} m @param {string} emoji */
function react(m, emoji) {
  connection.send({ command: "react", room: m.room, target: m.id, emoji, id: nextId() });
}

function renderRooms() {
  ui.joinedRooms.replaceChildren(...[...state.rooms.values()].map((room) => {
    const button = el("button");
    button.setAttribute("type", "button");
    button.append(el("span", "", room.name));
    if (room.unread > 0) {
      const badge = el("span", "badge", String(room.unread));
      badge.setAttribute("aria-label", `${room.unread} unread`);
      button.append(badge);
    }
    if (room.id === state.active) button.setAttribute("aria-current", "true");
    button.addEventListener("click", () => activate(room.id));
    const li = el("li");
    li.append(button);
    return li;
  }));
}

async function refreshRoomList() {
  try {
    const response = await fetch(new URL("rooms", base));
    if (!response.ok) return;
    /** @type {{ id: string, name: string, members: number }[]} */
    const rooms = await response.json();
    ui.allRooms.replaceChildren(...rooms.map((room) => {
      const button = el("button");
      button.setAttribute("type", "button");
      button.append(el("span", "", room.name), el("span", "count", `${room.members} online`));
      button.addEventListener("click", () => {
        if (state.rooms.has(room.id)) activate(room.id);
        else joinRoom(room.id, true);
      });
      const li = el("li");
      li.append(button);
      return li;
    }));
  } catch {
    // Offline: the list refreshes on the next tick.
  }
}

// ---- wiring -----------------------------------------------------------------------------------

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  send();
});
ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});
ui.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.joinName.value.trim();
  if (!name) return;
  ui.joinName.value = "";
  const known = [...state.rooms.values()].find((r) => r.name.toLowerCase() === name.toLowerCase());
  if (known) activate(known.id);
  else joinRoom(name, true);
});
ui.leave.addEventListener("click", () => {
  const room = current();
  if (room?.kind === "direct") {
    state.directs.delete(room.id);
    state.active = [...state.rooms.keys()][0];
    render();
  } else if (room) connection.send({ command: "leave", room: room.id, id: nextId() });
});
ui.input.addEventListener("input", typed);
ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && state.editing) stopEditing();
});
ui.cancelEdit.addEventListener("click", () => {
  stopEditing();
  ui.input.focus();
});
ui.openRooms.addEventListener("click", () => openDrawer(ui.roomsPanel, ui.openRooms));
ui.openMembers.addEventListener("click", () => openDrawer(ui.membersPanel, ui.openMembers));
ui.backdrop.addEventListener("click", () => closeDrawers());
for (const button of document.querySelectorAll("[data-close]")) {
  button.addEventListener("click", () => closeDrawers());
}
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") closeDrawers();
});
ui.messages.addEventListener("scroll", () => {
  const room = current();
  if (room && ui.messages.scrollTop < 40) loadOlder(room);
});
ui.login.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.loginName.value.trim();
  if (!name) return;
  start(name);
});

/** @param {string} name */
function start(name) {
  state.wantedName = name;
  localStorage.setItem(NAME_KEY, name);
  ui.login.hidden = true;
  ui.chat.hidden = false;
  connection.open();
  refreshRoomList();
  setInterval(refreshRoomList, 5000);
  ui.input.focus();
}

const remembered = localStorage.getItem(NAME_KEY);
if (remembered) start(remembered);
else {
  ui.login.hidden = false;
  ui.loginName.focus();
}
