import { ChatError } from "../core/errors.ts";

/** The refusal of a write the store could not commit (`store_failed`), with the reason. */
export function storeFailed(error: unknown): ChatError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ChatError("store_failed", `the message could not be stored: ${reason}`);
}

/** The refusal when the server holds as many rooms as it may. */
export function roomsFull(max: number): ChatError {
  return new ChatError("over_capacity", `the server holds its maximum of ${max} rooms`, {
    limit: max,
  });
}
