/** Every error the chat reports, as a closed set of machine-readable codes. */
export type ErrorCode =
  | "bad_json"
  | "unknown_command"
  | "missing_field"
  | "invalid_field"
  | "invalid_name"
  | "no_such_room"
  | "not_in_room"
  | "too_large"
  | "rate_limited"
  | "room_exists"
  | "too_many_rooms"
  | "room_forbidden"
  | "banned"
  | "muted"
  | "no_such_member"
  | "cannot_receive"
  | "key_reused"
  | "forbidden"
  | "store_failed"
  | "not_found"
  | "upgrade_required"
  | "unauthorized"
  | "token_expired"
  | "origin_forbidden"
  | "over_capacity"
  | "shutting_down"
  | "internal";

/**
 * An error as a value: a code from {@link ErrorCode}, a sentence for a person, and optional details
 * (for example the existing room's id on `room_exists`). The transport maps codes to HTTP statuses,
 * WebSocket error events and close codes; nothing compares messages.
 */
export class ChatError extends Error {
  /** Builds an error with a code, a human message and optional details. */
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ChatError";
  }
}

/** Wraps anything thrown into a {@link ChatError}, keeping ChatErrors as they are. */
export function toChatError(error: unknown): ChatError {
  if (error instanceof ChatError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ChatError("internal", `internal error: ${message}`);
}
