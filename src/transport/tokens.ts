import { sign, verify } from "hono/jwt";
import { ChatError } from "../core/errors.ts";
import { roomAccessKeys, roomAllowed, validateDisplayName } from "../core/names.ts";

/** What a valid token grants: a name, perhaps a list of rooms, until an expiry. */
export interface Grant {
  /** The member's display name (the token's subject). */
  readonly name: string;
  /** Room names or ids the member may join; every room when absent. */
  readonly rooms?: readonly string[];
  /** Expiry, in seconds since the epoch, when the token has one. */
  readonly exp?: number;
}

const grants = new WeakMap<Request, Grant>();

/** Remembers the grant verified for a request (by the write guard), for its handler. */
export function keepGrant(request: Request, grant: Grant): void {
  grants.set(request, grant);
}

/** The grant verified for a request, if tokens are on. */
export function grantOf(request: Request): Grant | undefined {
  return grants.get(request);
}

/** Refuses a write to a room the grant does not name (`room_forbidden`); any room without a claim. */
export function checkRoomAllowed(
  grant: Grant | undefined,
  room: { id: string; name: string },
): void {
  if (!grant?.rooms) return;
  if (roomAllowed(roomAccessKeys(grant.rooms), room)) return;
  throw new ChatError("room_forbidden", `your token does not allow room '${room.name}'`);
}

/** The token of a request: `?token=`, or `Authorization: Bearer <token>`. */
export function tokenOf(request: Request): string | undefined {
  const query = new URL(request.url).searchParams.get("token");
  if (query) return query;
  const header = request.headers.get("authorization");
  const match = header === null ? null : /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

/**
 * Verifies an HS256 token; `unauthorized` when missing, malformed, badly signed, expired, without
 * an expiry or valid for longer than `maxTtlSeconds` from now, or with a `rooms` claim that is not
 * a list of names or ids (a claim that cannot be read limits nothing, so it is refused).
 */
export async function verifyGrant(
  token: string | undefined,
  secret: string,
  maxTtlSeconds = Infinity,
  now = Date.now(),
): Promise<Grant> {
  if (!token) throw new ChatError("unauthorized", "a token is required");
  let payload: Record<string, unknown>;
  try {
    payload = await verify(token, secret, "HS256");
  } catch (error) {
    const reason = error instanceof Error ? error.name : "invalid";
    throw new ChatError("unauthorized", `the token was refused (${reason})`);
  }
  if (typeof payload.sub !== "string") {
    throw new ChatError("unauthorized", "the token has no subject (the member's name)");
  }
  let name: string;
  try {
    name = validateDisplayName(payload.sub);
  } catch {
    throw new ChatError("unauthorized", "the token's subject is not a valid display name");
  }
  let rooms: string[] | undefined;
  if (payload.rooms !== undefined) {
    if (!Array.isArray(payload.rooms) || !payload.rooms.every((r) => typeof r === "string")) {
      throw new ChatError("unauthorized", "the token's rooms claim must be a list of room names");
    }
    rooms = payload.rooms;
  }
  const exp = typeof payload.exp === "number" ? payload.exp : undefined;
  if (exp === undefined) throw new ChatError("unauthorized", "the token has no expiry (exp)");
  if (exp - now / 1000 > maxTtlSeconds) {
    throw new ChatError(
      "unauthorized",
      `the token is valid for longer than the ${maxTtlSeconds} s this server allows`,
    );
  }
  return { name, rooms, exp };
}

/** Signs a token for `name` (HS256), optionally limited to `rooms`, valid for `ttlSeconds`. */
export function issueToken(
  secret: string,
  name: string,
  options: { rooms?: string[]; ttlSeconds?: number; now?: number } = {},
): Promise<string> {
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  return sign(
    {
      sub: name,
      iat,
      exp: iat + (options.ttlSeconds ?? 3600),
      ...(options.rooms ? { rooms: options.rooms } : {}),
    },
    secret,
    "HS256",
  );
}
