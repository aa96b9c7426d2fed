// @ts-check
/// <reference lib="dom" />
/**
 * `@` in the composer: while the word before the cursor starts with `@`, the members of the room
 * whose names start with what follows are offered in a list (arrows move, Enter or Tab takes
 * one, Escape closes, a click takes one); taking one writes `@name ` in its place.
 *
 * @module
 */
import { el } from "./dom.js";
import { current, state, ui } from "./page.js";

/** Names offered at most. */
const MAX_OFFERED = 8;
/** What comes right before an `@` that starts a mention: nothing, or a character outside names. */
const MENTION_AT_END = /(?:^|[^\p{L}\p{N}_-])@([^@\n]{0,50})$/u;

/** The offer in view: the names, which one is chosen, where the `@` is. */
const picker = { names: /** @type {string[]} */ ([]), chosen: 0, at: -1 };

/** Looks at the text before the cursor and offers names, or closes the list. */
export function offerMentions() {
  const c = current();
  const input = ui.input;
  const before = input.value.slice(0, input.selectionStart ?? input.value.length);
  const match = c?.kind === "room" ? MENTION_AT_END.exec(before) : null;
  if (!c || !match) return closeMentions();
  const typed = match[1].toLowerCase();
  const names = c.members.filter((n) => n !== state.me.name && n.toLowerCase().startsWith(typed))
    .slice(0, MAX_OFFERED);
  // A full name followed by a space is done: nothing more to offer.
  if (names.length === 0 || (typed.endsWith(" ") && !names.some((n) => n.length >= typed.length))) {
    return closeMentions();
  }
  picker.names = names;
  picker.chosen = Math.min(picker.chosen, names.length - 1);
  picker.at = before.length - match[1].length - 1;
  draw();
}

/** Closes the list. */
export function closeMentions() {
  picker.names = [];
  picker.chosen = 0;
  ui.mentionList.hidden = true;
  ui.mentionList.replaceChildren();
  ui.input.removeAttribute("aria-activedescendant");
}

/**
 * A key pressed in the composer: handled here (true) while the list is open.
 * @param {KeyboardEvent} event
 */
export function mentionKey(event) {
  if (picker.names.length === 0) return false;
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    const step = event.key === "ArrowDown" ? 1 : -1;
    picker.chosen = (picker.chosen + step + picker.names.length) % picker.names.length;
    draw();
  } else if (event.key === "Enter" || event.key === "Tab") {
    take(picker.names[picker.chosen]);
  } else if (event.key === "Escape") {
    closeMentions();
  } else return false;
  event.preventDefault();
  return true;
}

/**
 * Writes `@name ` where the `@` was typed.
 * @param {string} name
 */
function take(name) {
  const input = ui.input;
  const end = input.selectionStart ?? input.value.length;
  const text = `@${name} `;
  input.value = input.value.slice(0, picker.at) + text + input.value.slice(end);
  const cursor = picker.at + text.length;
  input.setSelectionRange(cursor, cursor);
  closeMentions();
  input.focus();
}

function draw() {
  const items = picker.names.map((name, i) => {
    const li = el("li", "", `@${name}`);
    li.id = `mention-${i}`;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", String(i === picker.chosen));
    // Taken on mousedown: a click would first move the focus out of the composer.
    li.addEventListener("mousedown", (event) => {
      event.preventDefault();
      take(name);
    });
    return li;
  });
  ui.mentionList.replaceChildren(...items);
  ui.mentionList.hidden = false;
  ui.input.setAttribute("aria-activedescendant", `mention-${picker.chosen}`);
}
