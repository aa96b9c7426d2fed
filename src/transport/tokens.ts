import type { Viewer } from "../core/moderation.ts";
import { memberIdOf } from "../core/member_identity.ts";
import { sign, verify } from "hono/jwt";
import type { Logger } from "../core/types.ts";
import { KeySet, PUBLIC_ALGORITHMS, type PublicAlgorithm } from "./jwks.ts";
import { ChatError } from "../core/errors.ts";
import { roomAccessKeys, roomAllowed, validateDisplayName } from "../core/names.ts";

/** What a valid token grants: an identity, a name, perhaps a list of rooms, until an expiry. */
export interface Grant {
  /** Who the member is (the token's `sub`): every connection of one subject is one member. */
  readonly subject: string;
  /** The member's display name (`preferred_username`, `nickname`, `name` or else `sub`). */
  readonly name: string;
  /** Room names or ids the member may join; every room when absent. */
  readonly rooms?: readonly string[];
  /** Expiry, in seconds since the epoch. */
  readonly exp: number;
  /** The token says `admin: true`: a moderator in every room. */
  readonly admin?: true;
}

const grants = new WeakMap<Request, Grant>();

/** Who a verified token makes the client, for room access: its member id, and admin or not. */
export function viewerOf(grant: Grant | undefined): Viewer | undefined {
  if (!grant) return undefined;
  return { memberId: memberIdOf(grant.subject), ...(grant.admin ? { admin: true } : {}) };
}

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

/** How tokens are checked: an HS256 secret, an identity provider's keys, or both. */
export interface TokenRules {
  /** HS256 tokens are verified with this secret; none: HS256 is refused. */
  readonly secret?: string;
  /** RS256, ES256 and EdDSA tokens are verified against these keys; none: refused. */
  readonly keys?: KeySet;
  /** When set, `iss` must be exactly this. */
  readonly issuer?: string;
  /** When set, `aud` must be this or a list that includes it. */
  readonly audience?: string;
  /** The longest a token may still be valid for, in seconds. */
  readonly maxTtlSeconds?: number;
  readonly clock?: () => number;
}

/** `nbf` and `iat` may lie this far in the future (the provider's clock may run ahead of ours). */
const SKEW_SECONDS = 5;

/** Refuses with `unauthorized` and a sentence. */
function refused(reason: string): never {
  throw new ChatError("unauthorized", `the token was refused: ${reason}`);
}

/** The bytes of a base64url text (without padding), as a JWT carries them. */
function decodeBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError("not base64url");
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** The token's header and claims, decoded without checking anything. */
function decodeParts(
  token: string,
): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const parts = token.split(".");
  if (parts.length !== 3) refused("not a JWT");
  try {
    const [header, claims] = [parts[0], parts[1]].map((part) => {
      const value: unknown = JSON.parse(new TextDecoder().decode(decodeBase64Url(part)));
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error();
      return value as Record<string, unknown>;
    });
    return { header, claims };
  } catch {
    return refused("its header or claims are not JSON objects");
  }
}

/**
 * The display name of a token: its `preferred_username`, `nickname`, `name` or `sub`, the first
 * that is a valid display name (identity providers' subjects are often opaque ids).
 */
function displayNameOf(claims: Record<string, unknown>): string {
  for (const claim of ["preferred_username", "nickname", "name", "sub"]) {
    const value = claims[claim];
    if (typeof value !== "string") continue;
    try {
      return validateDisplayName(value);
    } catch {
      // the next claim
    }
  }
  return refused("none of its preferred_username, nickname, name or sub is a valid display name");
}

/**
 * Checks tokens: `alg` picks the key (HS256 → the secret; RS256, ES256, EdDSA → the identity
 * provider's key named by `kid`), so an HS256 token signed with a public key, `alg: none` or any
 * other algorithm is refused; then issuer, audience and times, with the injected clock.
 */
export class TokenVerifier {
  readonly #clock: () => number;

  /** A verifier with these rules. */
  constructor(readonly rules: TokenRules) {
    this.#clock = rules.clock ?? Date.now;
  }

  /**
   * Verifies a token; `unauthorized` when missing, malformed, badly signed, of another issuer or
   * audience, not yet valid (`nbf`), expired, without an expiry or valid for longer than
   * `maxTtlSeconds` from now, or with a `rooms` claim that is not a list of names or ids (a claim
   * that cannot be read limits nothing, so it is refused).
   */
  async verify(token: string | undefined): Promise<Grant> {
    if (!token) throw new ChatError("unauthorized", "a token is required");
    const { header, claims } = decodeParts(token);
    const alg = header.alg;
    let key: CryptoKey | string;
    if (alg === "HS256") {
      if (!this.rules.secret) refused("HS256 tokens are not accepted here");
      key = this.rules.secret;
    } else if (typeof alg === "string" && PUBLIC_ALGORITHMS.has(alg)) {
      if (!this.rules.keys) refused(`${alg} tokens are not accepted here (no CHAT_JWKS_URL)`);
      const kid = header.kid;
      if (kid !== undefined && typeof kid !== "string") refused("its kid is not a string");
      const found = await this.rules.keys.keyFor(kid, alg as PublicAlgorithm);
      if (!found) {
        refused(
          `no key ${kid === undefined ? `for ${alg}` : `'${kid.slice(0, 64)}'`} in the key set`,
        );
      }
      key = found.key;
    } else {
      return refused(`algorithm ${JSON.stringify(alg)?.slice(0, 20)} is not accepted`);
    }
    try {
      // Times are checked below against the injected clock.
      await verify(token, key, { alg: alg as "HS256", exp: false, nbf: false, iat: false });
    } catch (error) {
      refused(error instanceof Error ? error.name : "invalid");
    }
    return this.#grant(claims);
  }

  #grant(claims: Record<string, unknown>): Grant {
    const now = this.#clock() / 1000;
    const { issuer, audience, maxTtlSeconds = Infinity } = this.rules;
    if (issuer && claims.iss !== issuer) refused(`it was not issued by ${issuer}`);
    if (audience) {
      const aud = claims.aud;
      const audiences = Array.isArray(aud) ? aud : [aud];
      if (!audiences.includes(audience)) refused(`it is not meant for ${audience}`);
    }
    const exp = claims.exp;
    if (typeof exp !== "number" || !Number.isFinite(exp)) refused("it has no expiry (exp)");
    if (exp <= now) throw new ChatError("token_expired", "the token has expired");
    if (exp - now > maxTtlSeconds) {
      refused(`it is valid for longer than the ${maxTtlSeconds} s this server allows`);
    }
    for (const claim of ["nbf", "iat"]) {
      const value = claims[claim];
      if (value === undefined) continue;
      if (typeof value !== "number" || !Number.isFinite(value)) {
        refused(`its ${claim} is not a number`);
      }
      if (value > now + SKEW_SECONDS) refused(`it is not valid yet (${claim})`);
    }
    const sub = claims.sub;
    if (typeof sub !== "string" || sub.length === 0 || sub.length > 255) {
      refused("it has no subject (sub) of 1-255 characters");
    }
    let rooms: string[] | undefined;
    if (claims.rooms !== undefined) {
      if (!Array.isArray(claims.rooms) || !claims.rooms.every((r) => typeof r === "string")) {
        refused("its rooms claim must be a list of room names");
      }
      rooms = claims.rooms;
    }
    const grant = { subject: sub, name: displayNameOf(claims), rooms, exp };
    return claims.admin === true ? { ...grant, admin: true } : grant;
  }
}

/**
 * The verifier for a server's settings, or `undefined` when tokens are off (no secret, no key
 * set). The key set is fetched once now; when that fails, one line says so and tokens are
 * refused until a later fetch succeeds.
 */
export async function tokenVerifier(
  settings: {
    readonly jwtSecret: string;
    readonly jwksUrl: string;
    readonly jwtIssuer: string;
    readonly jwtAudience: string;
    readonly jwksRefetchSeconds: number;
    readonly tokenMaxTtlSeconds: number;
  },
  options: { readonly log?: Logger; readonly clock?: () => number } = {},
): Promise<TokenVerifier | undefined> {
  if (!settings.jwtSecret && !settings.jwksUrl) return undefined;
  let keys: KeySet | undefined;
  if (settings.jwksUrl) {
    keys = new KeySet({
      url: settings.jwksUrl,
      refetchMs: settings.jwksRefetchSeconds * 1000,
      clock: options.clock,
      log: options.log,
    });
    await keys.load();
  }
  return new TokenVerifier({
    secret: settings.jwtSecret || undefined,
    keys,
    issuer: settings.jwtIssuer || undefined,
    audience: settings.jwtAudience || undefined,
    maxTtlSeconds: settings.tokenMaxTtlSeconds,
    clock: options.clock,
  });
}

/**
 * Signs a token for `name` (HS256), optionally limited to `rooms`, valid for `ttlSeconds`, with
 * an issuer and audience when the server checks them.
 */
export function issueToken(
  secret: string,
  name: string,
  options: {
    rooms?: string[];
    ttlSeconds?: number;
    now?: number;
    issuer?: string;
    audience?: string;
    admin?: boolean;
  } = {},
): Promise<string> {
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  return sign(
    {
      sub: name,
      iat,
      exp: iat + (options.ttlSeconds ?? 3600),
      ...(options.rooms ? { rooms: options.rooms } : {}),
      ...(options.admin ? { admin: true } : {}),
      ...(options.issuer ? { iss: options.issuer } : {}),
      ...(options.audience ? { aud: options.audience } : {}),
    },
    secret,
    "HS256",
  );
}
