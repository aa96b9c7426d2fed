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

/** @typedef {{ id: string, seq: number, member: string, memberId: string, message: string, ts: number, room: string }} Message */
/** @typedef {{ kind: "message", message: Message, pending?: boolean, failed?: string, key: string } | { kind: "notice", text: string, key: string }} Line */
/**
 * @typedef {{
 *   id: string, name: string, lines: Line[], ids: Set<string>, newest?: string, oldest?: string,
 *   more: boolean, loading: boolean, members: string[], unread: number, seq?: number
 * }} RoomState
 */

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
};

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
    room = {
      id,
      name,
      lines: [],
      ids: new Set(),
      more: true,
      loading: false,
      members: [],
      unread: 0,
    };
    state.rooms.set(id, room);
  }
  return room;
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
    case "join":
    case "leave": {
      const room = state.rooms.get(String(event.room));
      if (!room) break;
      const name = String(event.member);
      room.members = event.event === "join"
        ? [...room.members.filter((m) => m !== name), name]
        : room.members.filter((m) => m !== name);
      addNotice(room, `${name} ${event.event === "join" ? "joined" : "left"}`);
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
  if (room.seq !== undefined && message.seq > room.seq + 1) {
    room.seq = message.seq;
    reload(room, "Some messages did not arrive; reloading history.");
    render();
    return;
  }
  if (room.seq === undefined || message.seq > room.seq) room.seq = message.seq;
  if (!pending) dropLostCopy(room, message);
  room.ids.add(message.id);
  room.lines.push({ kind: "message", message, key: message.id });
  if (!room.newest || message.id > room.newest) room.newest = message.id;
  if (!room.oldest) room.oldest = message.id;
  if (room.id !== state.active) room.unread++;
  else if (message.memberId !== state.me.id) {
    ui.announcer.textContent = `${message.member}: ${message.message}`;
  }
  render(room.id === state.active);
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
  const room = state.active ? state.rooms.get(state.active) : undefined;
  if (room) addNotice(room, `Error: ${event.code} — ${event.message}`);
  render();
}

/** @param {string} roomId @param {string} key @param {string} reason */
function markFailed(roomId, key, reason) {
  const room = state.rooms.get(roomId);
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
  room.loading = true;
  const command = { command: "history", room: room.id, limit: 50, id: nextId() };
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
  state.active = id;
  const room = state.rooms.get(id);
  if (room) room.unread = 0;
  render(true);
}

function send() {
  const text = ui.input.value;
  const room = state.active ? state.rooms.get(state.active) : undefined;
  if (!room || text.trim() === "") return;
  ui.input.value = "";
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
  if (connection.send({ command: "broadcast", room: room.id, message: text, id })) {
    state.pending.set(id, { room: room.id, key });
  } else {
    markFailed(room.id, key, "offline");
  }
  render(true);
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
  const room = state.active ? state.rooms.get(state.active) : undefined;
  ui.roomTitle.textContent = room ? room.name : "No room";
  ui.leave.disabled = !room;
  list.replaceChildren(...(room ? renderLines(room) : []));
  ui.members.replaceChildren(...(room?.members ?? []).map((m) => el("li", "", m)));
  if (scrollToEnd && atBottom) list.scrollTop = list.scrollHeight;
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
    li.append(el("p", "msg-body", m.message));
    if (line.pending) li.append(el("span", "visually-hidden", "sending"));
    if (line.failed) li.append(el("p", "failure", `Not sent: ${line.failed}`));
    items.push(li);
    previous = m;
  }
  return items;
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
  if (state.active) connection.send({ command: "leave", room: state.active, id: nextId() });
});
ui.messages.addEventListener("scroll", () => {
  const room = state.active ? state.rooms.get(state.active) : undefined;
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
