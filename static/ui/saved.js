// @ts-check
/// <reference lib="dom" />
/**
 * What the web client keeps in `localStorage` so that a reload (or a second tab) is the same
 * person in the same place: the name, the session, the token, the rooms and direct conversations,
 * the one in view, drafts, and sends not yet acknowledged.
 *
 * @module
 */

const KEYS = {
  name: "chat.name",
  session: "chat.session",
  token: "chat.token",
  rooms: "chat.rooms",
  directs: "chat.directs",
  active: "chat.active",
  outbox: "chat.outbox",
  drafts: "chat.drafts",
};

/**
 * A stored JSON value, or `fallback` when absent or unreadable.
 * @template T
 * @param {string} key
 * @param {T} fallback
 * @returns {T}
 */
function read(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

/**
 * @param {string} key
 * @param {unknown} value
 */
function write(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or refused: the page works, it just forgets on reload.
  }
}

/**
 * A string setting (stored as plain text, as earlier versions did for the name).
 * @param {string} key
 */
function text(key) {
  return {
    /** @returns {string | undefined} */
    get: () => localStorage.getItem(key) ?? undefined,
    /** @param {string | undefined} value */
    set: (value) =>
      value === undefined ? localStorage.removeItem(key) : localStorage.setItem(key, value),
  };
}

/** A send not acknowledged yet: resent with its key after a reload (stored once). */
/** @typedef {{ room: string, text: string, key: string, replyTo?: string }} SavedSend */

/** The rooms this page's person was in when the page loaded (the list is rewritten as it joins). */
const roomsAtLoad = (() => {
  const rooms = read(KEYS.rooms, /** @type {unknown} */ ([]));
  return Array.isArray(rooms) ? rooms.map((r) => String(r).toLowerCase()) : [];
})();

export const saved = {
  name: text(KEYS.name),
  session: text(KEYS.session),
  token: text(KEYS.token),
  active: text(KEYS.active),
  /** @returns {string[]} room names, the one to open first first */
  rooms: () => {
    const rooms = read(KEYS.rooms, /** @type {unknown} */ ([]));
    return Array.isArray(rooms) && rooms.length ? rooms.map(String) : ["lobby"];
  },
  /** @param {string[]} names */
  setRooms: (names) => write(KEYS.rooms, names),
  /**
   * Whether this page was in a room of that name before (its unread ones are news; a room never
   * visited starts read).
   * @param {string} name
   */
  visited: (name) => {
    const rooms = read(KEYS.rooms, /** @type {unknown} */ ([]));
    const now = Array.isArray(rooms) ? rooms.map((r) => String(r).toLowerCase()) : [];
    return [...now, ...roomsAtLoad].includes(name.toLowerCase());
  },
  /** @returns {string[]} the names of the members of direct conversations */
  directs: () => read(KEYS.directs, /** @type {string[]} */ ([])).map(String),
  /** @param {string[]} names */
  setDirects: (names) => write(KEYS.directs, names),
  /** @returns {SavedSend[]} */
  outbox: () => read(KEYS.outbox, /** @type {SavedSend[]} */ ([])),
  /** @param {SavedSend} send */
  keep: (send) => write(KEYS.outbox, [...saved.outbox().filter((s) => s.key !== send.key), send]),
  /** @param {string} key */
  forget: (key) => write(KEYS.outbox, saved.outbox().filter((s) => s.key !== key)),
  /**
   * The draft of a conversation.
   * @param {string} conversation
   * @returns {string}
   */
  draft: (conversation) =>
    read(KEYS.drafts, /** @type {Record<string, string>} */ ({}))[conversation] ?? "",
  /**
   * @param {string} conversation
   * @param {string} value
   */
  setDraft: (conversation, value) => {
    const all = read(KEYS.drafts, /** @type {Record<string, string>} */ ({}));
    if (value) all[conversation] = value;
    else delete all[conversation];
    write(KEYS.drafts, all);
  },
};
