import { sign, verify } from "hono/jwt";
import { ChatError } from "../core/errors.ts";
import { validateDisplayName } from "../core/names.ts";

/** What a valid token grants: a name, perhaps a list of rooms, until an expiry. */
export interface Grant {
  /** The member's display name (the token's subject). */
  readonly name: string;
  /** Room names or ids the member may join; every room when absent. */
  readonly rooms?: readonly string[];
  /** Expiry, in seconds since the epoch, when the token has one. */
  readonly exp?: number;
}

/** The token of a request: `?token=`, or `Authorization: Bearer <token>`. */
export function tokenOf(request: Request): string | undefined {
  const query = new URL(request.url).searchParams.get("token");
  if (query) return query;
  const header = request.headers.get("authorization");
  const match = header === null ? null : /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

/** Verifies an HS256 token; `unauthorized` when missing, malformed, badly signed or expired. */
export async function verifyGrant(token: string | undefined, secret: string): Promise<Grant> {
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
  const rooms = Array.isArray(payload.rooms)
    ? payload.rooms.filter((r): r is string => typeof r === "string")
    : undefined;
  const exp = typeof payload.exp === "number" ? payload.exp : undefined;
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
