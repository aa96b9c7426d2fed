// @ts-check
/// <reference lib="dom" />
/**
 * Small DOM helpers of the web client: elements (text always as text, never as HTML), times and
 * days as people read them, and initials avatars.
 *
 * @module
 */

/**
 * An element with a class and a text.
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * A button (type="button") with a text and, when the text is not enough, a label that starts
 * with it (so that the accessible name contains what is seen).
 * @param {string} text
 * @param {() => void} onClick
 * @param {{ className?: string, label?: string }} [options]
 * @returns {HTMLButtonElement}
 */
export function button(text, onClick, options = {}) {
  const node = /** @type {HTMLButtonElement} */ (el("button", options.className, text));
  node.type = "button";
  if (options.label) node.setAttribute("aria-label", options.label);
  node.addEventListener("click", onClick);
  return node;
}

/**
 * The element with this id.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  return /** @type {HTMLElement} */ (document.getElementById(id));
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  month: "long",
  day: "numeric",
});

/**
 * The time of day of a moment.
 * @param {number} ms
 */
export function timeOf(ms) {
  return timeFormat.format(ms);
}

/**
 * The local day of a moment, as a key (`2026-12-01`).
 * @param {number} ms
 */
export function dayKey(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/**
 * A day as a separator says it: Today, Yesterday, or the date.
 * @param {number} ms
 * @param {number} [now]
 */
export function dayLabel(ms, now = Date.now()) {
  if (dayKey(ms) === dayKey(now)) return "Today";
  if (dayKey(ms) === dayKey(now - 86_400_000)) return "Yesterday";
  return dayFormat.format(ms);
}

/**
 * Up to two initials of a name (`Ann Lee` → `AL`, `zoe-2` → `Z`).
 * @param {string} name
 */
export function initials(name) {
  const words = name.trim().split(/[\s._-]+/).filter(Boolean);
  const letters = words.slice(0, 2).map((w) => [...w][0] ?? "").join("");
  return (letters || "?").toUpperCase();
}

/**
 * A hue for a member, the same on every page (from their id).
 * @param {string} id
 */
export function hueOf(id) {
  let hash = 0;
  for (const c of id) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return hash % 360;
}

/**
 * An initials avatar (hidden from screen readers: the name is next to it).
 * @param {string} name
 * @param {string} id
 */
export function avatar(name, id) {
  const node = el("span", "avatar", initials(name));
  node.setAttribute("aria-hidden", "true");
  node.style.setProperty("--hue", String(hueOf(id)));
  return node;
}

/**
 * A number with the reader's grouping (4,001).
 * @param {number} n
 */
export function count(n) {
  return n.toLocaleString("en-US");
}
