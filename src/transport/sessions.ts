import { createHmac, timingSafeEqual } from "node:crypto";
import type { Store } from "../core/store.ts";

/** What a session says: who (a random id), under which name, until when (seconds since epoch). */
export interface SessionClaims {
  readonly id: string;
  readonly name: string;
  readonly exp: number;
}

const VERSION = "s1";
const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

function fromBase64url(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.fromBase64(text, { alphabet: "base64url" });
  } catch {
    return undefined;
  }
}

/**
 * Sessions: a person is not a socket. A session is `s1.<claims>.<mac>`: its claims (a random id,
 * the name, the expiry) signed with HMAC-SHA-256 under a secret kept in the store, so that every
 * node and every restart agrees and nothing secret is in the code. It cannot be forged or
 * extended by a client; it expires (`CHAT_SESSION_TTL_S`, renewed each time it is used: every
 * `me` carries a fresh one); a new secret revokes every session at once.
 */
export class SessionKeys {
  private constructor(private readonly secret: Uint8Array) {}

  /** The keys of the store's `sessions` secret (made on first use). */
  static async open(store: Pick<Store, "secret">): Promise<SessionKeys> {
    return new SessionKeys(await store.secret("sessions"));
  }

  /** A new session id: 128 random bits. */
  static newId(): string {
    return base64url(crypto.getRandomValues(new Uint8Array(16)));
  }

  /** The MAC of a session's signed part (synchronous: a `me` never waits for it, nor reorders). */
  #mac(signed: string): Uint8Array {
    return createHmac("sha256", this.secret).update(signed).digest();
  }

  /** The session string for these claims. */
  issue(claims: SessionClaims): string {
    const body = base64url(
      encoder.encode(JSON.stringify({ i: claims.id, n: claims.name, e: claims.exp })),
    );
    return `${VERSION}.${body}.${base64url(this.#mac(`${VERSION}.${body}`))}`;
  }

  /** The claims of a session this server issued that has not expired; `undefined` otherwise. */
  verify(session: string | undefined, nowMs: number): SessionClaims | undefined {
    if (!session || session.length > 1024) return undefined;
    const [version, body, mac] = session.split(".");
    if (version !== VERSION || !body || !mac) return undefined;
    const signature = fromBase64url(mac);
    const expected = this.#mac(`${version}.${body}`);
    if (!signature || signature.length !== expected.length) return undefined;
    if (!timingSafeEqual(signature, expected)) return undefined;
    try {
      const json = JSON.parse(new TextDecoder().decode(fromBase64url(body)));
      const { i, n, e } = json as { i: unknown; n: unknown; e: unknown };
      if (typeof i !== "string" || typeof n !== "string" || typeof e !== "number") return undefined;
      if (e * 1000 <= nowMs) return undefined;
      return { id: i, name: n, exp: e };
    } catch {
      return undefined;
    }
  }
}
