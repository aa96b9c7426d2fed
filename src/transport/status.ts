import type { ChatError, ErrorCode } from "../core/errors.ts";

const STATUS: Record<ErrorCode, number> = {
  bad_json: 400,
  unknown_command: 400,
  missing_field: 400,
  invalid_field: 400,
  invalid_name: 400,
  no_such_room: 404,
  not_in_room: 409,
  too_large: 413,
  rate_limited: 429,
  room_exists: 409,
  too_many_rooms: 409,
  room_forbidden: 403,
  banned: 403,
  muted: 403,
  no_such_member: 404,
  cannot_receive: 409,
  key_reused: 422,
  forbidden: 403,
  store_failed: 503,
  not_found: 404,
  upgrade_required: 426,
  unauthorized: 401,
  token_expired: 401,
  origin_forbidden: 403,
  over_capacity: 503,
  shutting_down: 503,
  internal: 500,
};

/** The HTTP status for an error code. */
export function httpStatus(code: ErrorCode): number {
  return STATUS[code];
}

/** The JSON body of an HTTP error: `{"error": code, "message", ...details}`. */
export function errorBody(error: ChatError): Record<string, unknown> {
  return { ...error.details, error: error.code, message: error.message };
}

/** An HTTP error response. */
export function errorResponse(error: ChatError): Response {
  const retry = error.details.retryAfterSeconds;
  const headers = typeof retry === "number" ? { "retry-after": String(retry) } : undefined;
  return Response.json(errorBody(error), { status: httpStatus(error.code), headers });
}

/** What a client over its rate of writes without a socket (HTTP, Connect, gRPC) is told. */
export const WRITES_REFUSED = "too many requests; slow down";
