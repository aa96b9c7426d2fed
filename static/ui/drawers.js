// @ts-check
/// <reference lib="dom" />
/**
 * The phone layout's drawers (rooms, members) and the room's menu: opened by their toggles,
 * closed by Escape, the backdrop or a choice, focus moving in and back.
 *
 * @module
 */

/** @type {HTMLButtonElement | undefined} the toggle that opened the drawer, for focus to return */
let opener;

/**
 * Opens a drawer; focus moves into it.
 * @param {HTMLElement} panel
 * @param {HTMLButtonElement} toggle
 * @param {{ panels: HTMLElement[], toggles: HTMLButtonElement[], backdrop: HTMLElement }} all
 */
export function openDrawer(panel, toggle, all) {
  closeDrawers(all, false);
  panel.dataset.open = "true";
  toggle.setAttribute("aria-expanded", "true");
  all.backdrop.hidden = false;
  opener = toggle;
  panel.querySelector("button")?.focus();
}

/**
 * Closes every drawer; focus returns to the toggle that opened one.
 * @param {{ panels: HTMLElement[], toggles: HTMLButtonElement[], backdrop: HTMLElement }} all
 * @param {boolean} [returnFocus]
 */
export function closeDrawers(all, returnFocus = true) {
  const open = all.panels.some((p) => p.dataset.open);
  for (const panel of all.panels) delete panel.dataset.open;
  for (const toggle of all.toggles) toggle.setAttribute("aria-expanded", "false");
  all.backdrop.hidden = true;
  if (open && returnFocus && opener) opener.focus();
  opener = undefined;
}

/**
 * A menu button: toggles its menu; Escape, a choice or a click elsewhere closes it.
 * @param {HTMLButtonElement} toggle
 * @param {HTMLElement} menu
 */
export function menu(toggle, menu) {
  const close = (focus = false) => {
    menu.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    if (focus) toggle.focus();
  };
  toggle.addEventListener("click", () => {
    const opening = menu.hidden;
    menu.hidden = !opening;
    toggle.setAttribute("aria-expanded", String(opening));
    if (opening) /** @type {HTMLElement | null} */ (menu.querySelector("button"))?.focus();
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      close(true);
    }
  });
  menu.addEventListener("click", () => close());
  document.addEventListener("click", (event) => {
    const target = /** @type {Node} */ (event.target);
    if (!menu.hidden && !menu.contains(target) && !toggle.contains(target)) close();
  });
}
