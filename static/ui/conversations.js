// @ts-check
/**
 * The web client's model: every conversation (a room, or direct messages with one member) with
 * its lines in order, members, unread count and sends in flight. It knows nothing of the DOM or
 * the socket: the page feeds it events and renders what it holds.
 *
 * @module
 */

/**
 * A stored message as the page shows it.
 * @typedef {{
 *   id: string, seq: number, member: string, memberId: string, message?: string, ts: number,
 *   room: string, editedAt?: number, deleted?: boolean, reactions?: Record<string, number>,
 *   replyTo?: string, thread?: string, replies?: number, mentions?: string[]
 * }} Message
 */

/**
 * Why a send did not go out, in plain words, and what can be done.
 * @typedef {{ text: string, retry: boolean }} Failure
 */

/**
 * A line of a conversation: a message (ours in flight has `pending`; one refused has `failed`),
 * or a notice (with a button when something can be done about it).
 * @typedef {{ kind: "message", message: Message, key: string, pending?: boolean, failed?: Failure }
 *   | { kind: "notice", text: string, key: string, action?: { label: string, run: () => void } }} Line
 */

/**
 * A room, or the direct conversation with one member (`kind: "direct"`, `id` = "@" + their name
 * in lower case).
 * @typedef {{
 *   kind: "room" | "direct", id: string, name: string, lines: Line[], ids: Set<string>,
 *   oldest?: string, more: boolean, loading: boolean, loaded: boolean, members: string[],
 *   memberCount: number, membersMore: boolean, membersPaged: number, unread: number,
 *   mentions: number, typing: Map<string, number>, readUpToId?: string, newFrom?: string,
 *   seq: number, role: string, private: boolean
 * }} Conversation
 * `readUpToId`: the last message this person read (on any device, kept by the server);
 * `newFrom`: where the "New messages" line goes (after this id); `mentions`: unread messages
 * naming this member; `role`: ours in the room (`owner`, `moderator`, `member`).
 */

let lineCounter = 0;

/**
 * A fresh conversation.
 * @param {"room" | "direct"} kind
 * @param {string} id
 * @param {string} name
 * @returns {Conversation}
 */
export function blank(kind, id, name) {
  return {
    kind,
    id,
    name,
    lines: [],
    ids: new Set(),
    more: true,
    loading: false,
    loaded: false,
    members: [],
    memberCount: 0,
    membersMore: false,
    membersPaged: 0,
    unread: 0,
    mentions: 0,
    typing: new Map(),
    seq: 0,
    role: "member",
    private: false,
  };
}

/**
 * The id of the direct conversation with a member.
 * @param {string} name
 */
export function directId(name) {
  return `@${name.toLowerCase()}`;
}

/**
 * Adds a notice line at the end (with a button when `action` is given).
 * @param {Conversation} c
 * @param {string} text
 * @param {{ label: string, run: () => void }} [action]
 */
export function addNotice(c, text, action) {
  c.lines.push({ kind: "notice", text, key: `n${++lineCounter}`, ...(action ? { action } : {}) });
}

/**
 * A stored message arrived live: appended once (a replay of one shown is ignored), replacing our
 * pending copy (same key). Returns whether it is new.
 * @param {Conversation} c
 * @param {Message} message
 * @param {string} [key] the key our own send carried
 */
export function addMessage(c, message, key) {
  if (key !== undefined) c.lines = c.lines.filter((l) => l.key !== key);
  if (c.ids.has(message.id)) return false;
  c.ids.add(message.id);
  if (message.seq > c.seq) c.seq = message.seq;
  c.typing.delete(message.member);
  // Before our own sends in flight (they are stored after it).
  const firstPending = c.lines.findIndex((l) => l.kind === "message" && (l.pending || l.failed));
  const line = /** @type {Line} */ ({ kind: "message", message, key: message.id });
  if (firstPending < 0) c.lines.push(line);
  else c.lines.splice(firstPending, 0, line);
  if (!c.oldest) c.oldest = message.id;
  return true;
}

/**
 * A page of older messages (oldest first) goes above what is shown.
 * @param {Conversation} c
 * @param {Message[]} page
 * @param {boolean} more
 */
export function addOlder(c, page, more) {
  c.loading = false;
  c.loaded = true;
  c.more = more;
  const older = page.filter((m) => !c.ids.has(m.id));
  for (const m of older) {
    c.ids.add(m.id);
    if (m.seq > c.seq) c.seq = m.seq;
  }
  if (older.length) c.oldest = older[0].id;
  c.lines = [
    ...older.map((m) => /** @type {Line} */ ({ kind: "message", message: m, key: m.id })),
    ...c.lines,
  ];
  return older;
}

/**
 * Forgets what is shown (the history is read again).
 * @param {Conversation} c
 */
export function forgetLines(c) {
  c.lines = c.lines.filter((l) => l.kind === "message" && (l.pending || l.failed));
  c.ids.clear();
  c.oldest = undefined;
  c.more = true;
  c.loading = false;
  c.loaded = false;
}

/**
 * Our own send, shown at once as pending (with the message it answers, if any).
 * @param {Conversation} c
 * @param {string} key
 * @param {string} text
 * @param {{ name: string, id: string }} me
 * @param {string} [replyTo]
 */
export function addPending(c, key, text, me, replyTo) {
  c.lines = c.lines.filter((l) => l.key !== key);
  c.lines.push({
    kind: "message",
    key,
    pending: true,
    message: {
      id: key,
      seq: 0,
      member: me.name,
      memberId: me.id,
      message: text,
      ts: Date.now(),
      room: c.id,
      ...(replyTo === undefined ? {} : { replyTo }),
    },
  });
}

/**
 * The line of a send.
 * @param {Conversation} c
 * @param {string} key
 */
export function sendLine(c, key) {
  const line = c.lines.find((l) => l.key === key);
  return line?.kind === "message" ? line : undefined;
}

/**
 * An edit, a delete or a reaction applied to the message where it is shown.
 * @param {Conversation} c
 * @param {Record<string, unknown>} event
 * @param {string} myName
 * @param {Map<string, Set<string>>} reacted the emojis we reacted with, by message
 */
export function applyChange(c, event, myName, reacted) {
  if (typeof event.seq === "number" && event.seq > c.seq) c.seq = event.seq;
  const line = c.lines.find((l) => l.kind === "message" && l.message.id === event.id);
  if (!line || line.kind !== "message") return;
  const m = line.message;
  if (event.event === "edited") {
    m.message = String(event.message);
    m.editedAt = Number(event.editedAt);
  } else if (event.event === "deleted") {
    m.deleted = true;
    m.message = "";
    m.reactions = undefined;
  } else if (event.event === "reaction") {
    const emoji = String(event.emoji);
    const counts = { ...m.reactions };
    counts[emoji] = (counts[emoji] ?? 0) + (event.on ? 1 : -1);
    if (counts[emoji] <= 0) delete counts[emoji];
    m.reactions = counts;
    if (event.member === myName) {
      const mine = reacted.get(m.id) ?? new Set();
      if (event.on) mine.add(emoji);
      else mine.delete(emoji);
      reacted.set(m.id, mine);
    }
  }
}

/**
 * A direct message as the page shows messages.
 * @param {Conversation} c
 * @param {Record<string, unknown>} event
 * @returns {Message}
 */
export function directMessage(c, event) {
  return {
    id: String(event.id),
    seq: 0,
    member: String(event.from),
    memberId: String(event.fromId),
    message: String(event.message),
    ts: Number(event.ts),
    room: c.id,
  };
}

/**
 * How many messages of others after the id `after` are shown, and how many of them name `myId`.
 * @param {Conversation} c
 * @param {string | undefined} after
 * @param {string} myId
 */
export function unreadAfter(c, after, myId) {
  let unread = 0;
  let mentions = 0;
  for (const line of c.lines) {
    if (line.kind !== "message" || line.pending || line.failed) continue;
    const m = line.message;
    if ((after !== undefined && m.id <= after) || m.memberId === myId || m.deleted) continue;
    unread++;
    if (m.mentions?.includes(myId)) mentions++;
  }
  return { unread, mentions };
}

/**
 * A reply arrived live: its thread's first message counts one more (the server counts it in
 * history; live events carry only the reply).
 * @param {Conversation} c
 * @param {Message} reply
 */
export function countReply(c, reply) {
  if (reply.thread === undefined) return;
  const line = c.lines.find((l) => l.kind === "message" && l.message.id === reply.thread);
  if (line?.kind === "message") line.message.replies = (line.message.replies ?? 0) + 1;
}
