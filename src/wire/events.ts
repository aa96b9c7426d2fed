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
  return JSON.stringify(re === undefined ? event : { ...event, re });
}
