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
  const text = JSON.stringify(event);
  // On the hot path (every acknowledgement) append `re` to the serialised object rather than
  // copying the event and serialising it again.
  if (re === undefined) return text;
  return text === "{}"
    ? JSON.stringify({ re })
    : `${text.slice(0, -1)},"re":${JSON.stringify(re)}}`;
}
