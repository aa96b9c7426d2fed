/**
 * Reading a room's history through a filter: a thread (the replies to one message) and a text
 * search. Both walk the retained history a page at a time through any {@link Store}, newest
 * first (oldest first with `after`), and stop at a page of matches or after a scan budget, so
 * that one request does bounded work; `more` and `next` say where to go on.
 *
 * A real full-text index (words to message ids, kept by the store in the commit that appends)
 * would answer in time proportional to the matches instead of the history; see the README.
 *
 * @module
 */
import { ChatError } from "./errors.ts";
import { inThread } from "./replies.ts";
import type { Store } from "./store.ts";
import type { MessagePage, StoredMessage } from "./types.ts";

/** Messages one request reads at most while looking for matches. */
export const SCAN_BUDGET = 5000;
/** Messages read from the store per step of a scan. */
const SCAN_STEP = 200;
/** The longest search text, in characters. */
export const MAX_QUERY_LENGTH = 200;

/** A page of matches, and where the scan stopped when the budget ran out first. */
export interface FilteredPage extends MessagePage {
  /**
   * With `more`: the cursor to go on from (`before`, or `after` when reading forward), which may
   * lie beyond the page's last match when the scan budget ran out first.
   */
  readonly next?: string;
}

/** Which part of the history to scan. */
export interface FilterQuery {
  readonly before?: string;
  readonly after?: string;
  readonly limit: number;
  /** Messages read at most (default {@link SCAN_BUDGET}). */
  readonly budget?: number;
  /** Nothing at or below this id can match: the scan stops there (a thread's first message). */
  readonly floor?: string;
}

/**
 * Text folded for comparison without regard to case or compatibility forms (`ß` and `SS`, `ﬁ` and
 * `fi`, `Σ` and `ς` match), the same way for the text and the query.
 */
export function foldText(text: string): string {
  return text.normalize("NFKC").toUpperCase().toLowerCase();
}

/** Validates a search text: 1–200 characters that are not all blank. */
export function validateQuery(q: string): string {
  if (q.trim().length === 0) {
    throw new ChatError("invalid_field", "q must not be empty", { field: "q" });
  }
  if ([...q].length > MAX_QUERY_LENGTH) {
    throw new ChatError("invalid_field", `q may be at most ${MAX_QUERY_LENGTH} characters`, {
      field: "q",
    });
  }
  return q;
}

/** The room's messages whose text contains `q` (folded); deleted and binary messages never match. */
export function searchMessages(
  store: Store,
  room: string,
  q: string,
  query: FilterQuery,
): Promise<FilteredPage> {
  const needle = foldText(validateQuery(q));
  return scan(
    store,
    room,
    query,
    (m) => m.message !== undefined && foldText(m.message).includes(needle),
  );
}

/** The replies in the thread of message `id` (or to it, when it is a reply itself). */
export function threadMessages(
  store: Store,
  room: string,
  id: string,
  query: FilterQuery,
): Promise<FilteredPage> {
  // Replies come after what they answer: nothing at or before `id` is one.
  return scan(store, room, { ...query, floor: id }, (m) => !("deleted" in m) && inThread(m, id));
}

/** Walks the history page by page and keeps what `matches`, within the budget. */
async function scan(
  store: Store,
  room: string,
  query: FilterQuery,
  matches: (message: StoredMessage) => boolean,
): Promise<FilteredPage> {
  const forward = query.after !== undefined;
  const floor = query.floor ?? "";
  let budget = query.budget ?? SCAN_BUDGET;
  let cursor = forward ? (query.after! > floor ? query.after! : floor) : query.before;
  const found: StoredMessage[] = [];
  for (;;) {
    const step = Math.min(SCAN_STEP, budget);
    const page = await store.readMessages(
      room,
      forward ? { after: cursor, limit: step } : { before: cursor, limit: step },
    );
    budget -= page.messages.length;
    // Newest first when reading backwards, so that the page's matches are the newest ones.
    const ordered = forward ? page.messages : [...page.messages].reverse();
    let passedFloor = false;
    for (const message of ordered) {
      if (!forward && message.id <= floor) {
        passedFloor = true;
        break;
      }
      cursor = message.id;
      if (!matches(message)) continue;
      found.push(message);
      if (found.length > query.limit) {
        const kept = found.slice(0, query.limit);
        return finish(kept, forward, true, kept[kept.length - 1].id);
      }
    }
    const exhausted = !page.more || passedFloor || page.messages.length === 0;
    if (exhausted) return finish(found, forward, false);
    if (budget <= 0) return finish(found, forward, true, cursor);
  }
}

function finish(
  found: StoredMessage[],
  forward: boolean,
  more: boolean,
  next?: string,
): FilteredPage {
  const messages = forward ? found : found.reverse();
  return more ? { messages, more, next } : { messages, more };
}
