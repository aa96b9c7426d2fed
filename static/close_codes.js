// @ts-check
/**
 * WebSocket close codes of the chat protocol, shared by the server (`src/wire/close_codes.ts`)
 * and the web client, so that both read the same numbers.
 *
 * @module
 */

/** A normal close: the client or the server is done. */
export const NORMAL = 1000;
/** The server is shutting down: reconnect (with backoff) and resume with `since`. */
export const GOING_AWAY = 1001;
/** Policy: origin refused, bad token, repeated abuse. Do not reconnect. */
export const POLICY = 1008;
/** A frame was over the size limit. Do not reconnect. */
export const TOO_LARGE = 1009;
/** An internal error: reconnect. */
export const INTERNAL_ERROR = 1011;
/** Overloaded, or too slow to keep up: reconnect. */
export const TRY_AGAIN_LATER = 1013;

/** The connection's token expired: reconnect with a fresh token (not with the same one). */
export const TOKEN_EXPIRED = 4001;

/** Close codes after which a client does not reconnect. */
export const FINAL_CLOSE_CODES = new Set([NORMAL, POLICY, TOO_LARGE]);
