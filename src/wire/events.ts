import type { ChatError } from "../core/errors.ts";

/** The `error` event for a refused command, echoing `re` when the command carried an `id`. */
export function errorEvent(error: ChatError, re?: string): string {
  return JSON.stringify({
    ...error.details,
    event: "error",
    code: error.code,
    message: error.message,
    ...(re === undefined ? {} : { re }),
  });
}

/** Serialises a direct answer, echoing `re` when the command carried an `id`. */
export function answer(event: object, re?: string): string {
  return withRe(JSON.stringify(event), re);
}

/**
 * Adds `re` to an event already serialised as a JSON object. On the hot path (every
 * acknowledgement) this appends to the fan-out's text instead of serialising the event again.
 */
export function withRe(text: string, re?: string): string {
  if (re === undefined) return text;
  return text === "{}"
    ? JSON.stringify({ re })
    : `${text.slice(0, -1)},"re":${JSON.stringify(re)}}`;
}
